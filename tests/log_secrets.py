"""The suite's watch over its own logs: no password, token, key or card number of the tests
may appear in any rendered log line — this process's (every record, at DEBUG, rendered by the
production formatter) or a subprocess server's (its stderr, where the tests read it)."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

from spirit_tours.logs.setup import formatter

# Secret-shaped text wherever it comes from: a JWT, a bearer credential, a test card number.
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.")
_BEARER = re.compile(r"(?i)bearer\s+(?!\[redacted\])[A-Za-z0-9._~+/=-]{8,}")
_DIGITS = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")
# The networks' test cards (Stripe, MercadoPago, PayU, PayPal sandboxes).
TEST_CARDS = ("4242424242424242", "4000056655665556", "5555555555554444", "5031755734530604",
              "4509953566233704", "378282246310005", "6011111111111117")  # fmt: skip
# Stored by a library that is not ours, in the test process only: aiosmtpd (the tests' SMTP
# server) logs each message it receives, reset links included.
NOT_OURS = frozenset({"mail.log"})


def leaks(text: str, secrets: Iterable[str]) -> list[str]:
    """What in ``text`` is a secret: the known values by name, and secret-shaped text."""
    found = [f"known secret {secret[:3]}…" for secret in secrets if secret and secret in text]
    found += [f"JWT {match[:12]}…" for match in _JWT.findall(text)]
    found += [f"bearer credential {match[:12]}…" for match in _BEARER.findall(text)]
    for match in _DIGITS.findall(text):
        digits = re.sub(r"\D", "", match)
        if digits in TEST_CARDS:
            found.append(f"test card {digits[:4]}…")
    return found


class SecretWatch(logging.Handler):
    """Renders every record as production writes it and keeps each one that leaks."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__(logging.DEBUG)
        self.secrets = tuple(secret for secret in secrets if len(secret) >= 6)
        self.setFormatter(formatter("json"))
        self.found: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name in NOT_OURS:
            return
        try:
            line = self.format(record)
        except Exception as error:  # a record that cannot be rendered is a finding too
            self.found.append(f"{record.name}: unrenderable record ({error!r})")
            return
        for leak in leaks(line, self.secrets):
            self.found.append(f"{record.name}: {leak} in {line[:300]}")
