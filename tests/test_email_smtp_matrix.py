"""Every template in every locale through the whole pipeline — stored row, saq worker,
tracking, real SMTP server — checked on the MIME that arrives: both parts, headers, the
voucher, the recipient's language, money and dates."""

from __future__ import annotations

import html
from decimal import Decimal

import pytest
from babel.dates import format_date
from babel.numbers import format_currency

from spirit_tours.config import Settings
from spirit_tours.core.enums import EmailStatus
from spirit_tours.emails.render import TEMPLATES
from spirit_tours.permissions.mail import refused_keys
from spirit_tours.persistence.database import SessionFactory
from tests.email_flows import Inbox, message_row, parts, queue_now, running_jobs, smtp, until
from tests.test_email_templates import HEADING, LOCALES, SAMPLE, po_messages, template_text

pytestmark = pytest.mark.slow  # every template in every locale over SMTP

__all__ = ["smtp"]


def _expected_money(name: str, locale: str) -> list[str]:
    keys = TEMPLATES[name].required
    found = []
    if "total" in keys:
        found.append(format_currency(Decimal("1234.56"), "USD", locale=locale))
    if "amount" in keys:
        found.append(format_currency(Decimal("500.00"), "EUR", locale=locale))
    return found


async def test_every_template_in_every_locale_arrives_complete_over_smtp(
    smtp: tuple[Inbox, int], settings: Settings, sessions: SessionFactory
) -> None:
    inbox, port = smtp
    context = {k: v for k, v in SAMPLE.items() if k != "unsubscribe_url"}
    queued = {}
    async with running_jobs(settings, port) as runner:
        for name in sorted(TEMPLATES):
            for locale in LOCALES:
                to = f"{name}.{locale}@example.com"
                # every sample value but those the recipient must never get (the queue refuses them)
                allowed = {k: v for k, v in context.items() if not refused_keys(name, [k])}
                queued[(name, locale)] = await queue_now(sessions, runner, name, to, locale,
                                                         allowed)  # fmt: skip
        await until(lambda: len(inbox.received) >= 45, 120, "45 messages")
    assert len(inbox.received) == 45
    for (name, locale), message_queued in queued.items():
        row = await message_row(sessions, message_queued.id)
        assert row.status == EmailStatus.SENT, (name, locale, row.last_error)
        (message,) = inbox.to(f"{name}.{locale}@example.com")
        where = f"{name}/{locale}"
        # Headers
        assert message["From"] == "Spirit Tours <no-reply@spirit-tours.example>", where
        assert message["Message-ID"].strip() == row.message_id, where
        assert message["Date"], where
        assert message["Content-Language"] == locale, where
        assert message["Subject"], where
        assert "\n" not in message["Subject"], where
        if TEMPLATES[name].marketing:
            unsubscribe = message["List-Unsubscribe"].strip()
            assert unsubscribe.startswith(f"<http://127.0.0.1:8000/e/u/{row.id}/"), where
            # RFC 8058 one-click as mailbox providers read it: the URI literally in angle
            # brackets on the wire, never an RFC 2047 encoded word, folded only at whitespace.
            (raw,) = [h for h in inbox.raw_headers(message)
                      if h.lower().startswith(b"list-unsubscribe:")]  # fmt: skip
            assert raw == b"List-Unsubscribe: " + unsubscribe.encode("ascii"), (where, raw)
            assert all(len(line) <= 998 for line in raw.split(b"\r\n")), where
            assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click", where
        else:
            assert message["List-Unsubscribe"] is None, where
        # Both parts, in the recipient's language
        text = parts(message)
        assert set(text) == {"text/plain", "text/html"}, where
        heading = HEADING.search(template_text(name))
        assert heading is not None
        translated = po_messages(locale)[heading.group(1)]
        assert translated in text["text/plain"], where
        assert html.escape(translated) in text["text/html"], where
        assert f'lang="{locale}"' in text["text/html"], where
        pixel = f"/e/o/{row.id}/" in text["text/html"]
        assert pixel == (name != "password_reset"), where  # reset links are never tracked
        # Money and dates for the locale
        for money in _expected_money(name, locale):
            assert money in text["text/plain"], (where, money)
        if "start_date" in TEMPLATES[name].required:
            start = format_date(SAMPLE["start_date"], format="long", locale=locale)  # type: ignore[arg-type]
            assert start in text["text/plain"], (where, start)
        # The voucher belongs to booking_confirmed only
        pdfs = [p for p in message.walk() if p.get_content_type() == "application/pdf"]
        if name == "booking_confirmed":
            (voucher,) = pdfs
            assert voucher.get_filename() == "voucher-BK-2026-0042.pdf", where
            payload = voucher.get_payload(decode=True)
            assert isinstance(payload, bytes), where
            assert payload.startswith(b"%PDF"), where
        else:
            assert pdfs == [], where
