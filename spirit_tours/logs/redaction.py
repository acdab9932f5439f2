"""Scrubbing secrets and personal data from a log event before it is written.

A log line is read by more people, and kept in more places, than the database it describes: a
password, a token, a card number or an e-mail address must never reach it. Values are scrubbed
by their key (``password``, ``token``, ``card``…, at any depth of nested dicts and lists) and
by their look (JWTs, bearer tokens, card numbers passing Luhn, ``password=…`` pairs, e-mail
addresses, signed e-mail links and secret query parameters of URLs) wherever they appear,
messages and tracebacks included: a call that forgets which of its arguments is secret is
still covered.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from structlog.typing import EventDict

REDACTED = "[redacted]"

# Keys whose value is a secret, matched on the key lowercased without separators.
_SECRET_PARTS = (
    "password", "passwd", "secret", "token", "authorization", "cookie", "apikey", "privatekey",
    "signature", "csrf", "cvc", "cvv", "iban", "cardnumber", "clientsecret",
)  # fmt: skip
_SECRET_KEYS = frozenset({"pan", "card", "pin", "auth", "otp"})
_EMAIL_PARTS = ("email", "recipient")
# Query parameters that carry a secret besides those named like one above: the signature of
# the e-mail click links (endpoints/mail.py) and GraphQL's variables and document (its inline
# literals: ``login(input: {password: "…"})``), where a password travels percent-encoded.
_SECRET_QUERY_KEYS = frozenset({"s", "sig", "code", "key", "variables", "query"})

_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+")
_PROVIDER_KEY = re.compile(r"\b(?:sk|rk|whsec)_(?:live_|test_)?[A-Za-z0-9]{8,}")
# A card number: 13 to 19 digits (spaces or dashes between groups) starting as the card
# networks do (2-6), so that epoch milliseconds and other ids are left alone; Luhn decides.
_CARD = re.compile(r"(?<![\d.])[2-6](?:[ -]?\d){12,18}(?![\d])")
# key=value and "key": "value" pairs in free text (form bodies, JSON bodies, GraphQL literals).
_PAIR = re.compile(
    r"""(?ix)
    (?P<key>["']?[a-z_]*(?:password|passwd|secret|token|authorization|cvc|cvv|card_?number|iban)
    [a-z_]*["']?)
    (?P<sep>\s*[:=]\s*)
    (?P<value>"(?:[^"\\]|\\.)*"|'[^']*'|[^\s&,;)}\]]+)"""
)
_QUERY = re.compile(r"(?P<lead>[?&])(?P<key>[^=&\s\"'#]+)=(?P<value>[^&\s\"'#]*)")
# The signature segment of the open-pixel and unsubscribe links (/e/o/<id>/<sig>, /e/u/…).
_SIGNED_PATH = re.compile(r"(?P<lead>/e/[ou]/[^/\s?\"']+/)[^/\s?\"'#]+")
# PostgreSQL's DETAIL of a refused write quotes the values: ``Key (lower(email::text))=(…)
# already exists``, ``Failing row contains (…)`` (the whole row). The columns stay.
_PG_DETAIL = re.compile(
    r"(?P<lead>DETAIL:\s+(?:Key \((?:[^()\n]|\([^()\n]*\))*\)=|Failing row contains ))[^\n]*"
)
_EMAIL = re.compile(
    r"\b([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@(?P<domain>[A-Za-z0-9.-]+\.[A-Za-z]{2,})\b"
)


def _normal(key: str) -> str:
    return re.sub(r"[^a-z0-9]", "", key.lower())


def secret_key(key: str) -> bool:
    """A key whose value is a secret (``password``, ``accessToken``, ``X-Api-Key``, ``cvc``)."""
    normal = _normal(key)
    return normal in _SECRET_KEYS or any(part in normal for part in _SECRET_PARTS)


def _email_key(key: str) -> bool:
    normal = _normal(key)
    return any(part in normal for part in _EMAIL_PARTS)


def luhn(digits: str) -> bool:
    """The card networks' check digit is right."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = int(char)
        if position % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def mask_email(address: str) -> str:
    """``j***@example.com``: the domain stays (which provider refused), the person goes."""
    return _EMAIL.sub(lambda m: f"{m.group(1)}***@{m.group('domain')}", address)


def _card(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    return "[card]" if 13 <= len(digits) <= 19 and luhn(digits) else match.group(0)


def _query(match: re.Match[str]) -> str:
    key = match.group("key")
    if secret_key(key) or _normal(key) in _SECRET_QUERY_KEYS:
        return f"{match.group('lead')}{key}={REDACTED}"
    if _email_key(key):
        return f"{match.group('lead')}{key}={mask_email(match.group('value'))}"
    return match.group(0)


def scrub_text(text: str) -> str:
    """``text`` with every secret-looking part replaced."""
    text = _PG_DETAIL.sub(lambda m: f"{m.group('lead')}{REDACTED}", text)
    text = _JWT.sub("[jwt]", text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    text = _PROVIDER_KEY.sub(REDACTED, text)
    text = _PAIR.sub(lambda m: f"{m.group('key')}{m.group('sep')}{REDACTED}", text)
    text = _SIGNED_PATH.sub(lambda m: f"{m.group('lead')}{REDACTED}", text)
    text = _QUERY.sub(_query, text)
    text = _CARD.sub(_card, text)
    return mask_email(text) if "@" in text else text


def scrub(value: Any, key: str | None = None) -> Any:
    """``value`` (of ``key``) scrubbed: nested mappings and sequences at any depth."""
    if key is not None and secret_key(key) and value not in (None, "", b""):
        return REDACTED
    if isinstance(value, str):
        if key is not None and _email_key(key):
            return mask_email(value) if "@" in value else value
        return scrub_text(value)
    if isinstance(value, Mapping):
        return {k: scrub(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [scrub(item) for item in value]
    if isinstance(value, bytes):
        return scrub_text(value.decode("utf-8", "replace"))
    if isinstance(value, int) and not isinstance(value, bool) and value > 10**12:
        return scrub_text(str(value)) if _CARD.fullmatch(str(value)) else value
    return value


def redact(logger: Any, method: str, event: EventDict) -> EventDict:
    """structlog processor: the event with its secrets and personal data scrubbed."""
    return {key: scrub(value, key) for key, value in event.items()}
