"""E-mail content: every template in every locale, catalogs, escaping, money and MIME shape."""

from __future__ import annotations

import email.policy
import html
import re
from datetime import date
from decimal import Decimal
from email.message import EmailMessage
from functools import cache
from pathlib import Path

import pytest
from babel.dates import format_date
from babel.messages.pofile import read_po
from babel.numbers import format_currency

from spirit_tours.emails import TEMPLATES, Attachment, render
from spirit_tours.emails.voucher import VOUCHER_MSGIDS
from spirit_tours.endpoints.mail import PAGE_MSGIDS
from spirit_tours.schema.common import money

ROOT = Path(__file__).resolve().parent.parent / "spirit_tours"
TEMPLATE_DIR = ROOT / "emails" / "templates"
LOCALE_DIR = ROOT / "locales"
LOCALES = ("es", "en", "pt")
MARKETING = {"newsletter", "survey", "birthday"}
EXPECTED_TEMPLATES = {
    "quotation_created",
    "quotation_approved",
    "booking_confirmed",
    "payment_received",
    "hotel_invitation",
    "guide_assigned",
    "reminder_payment",
    "deadline_warning",
    "cancellation_notice",
    "refund_processed",
    "password_reset",
    "welcome",
    "newsletter",
    "survey",
    "birthday",
}
# Independent of the package's own regexes, on purpose.
MSGID = re.compile(r"\[\[\s*(.+?)\s*\]\]", re.DOTALL)
HEADING = re.compile(r'css-class="heading">\s*\[\[\s*(.+?)\s*\]\]')
HTML_TAG = re.compile(r"<\s*/?\s*[a-zA-Z!][^>]*>")
SCRIPT = "<script>alert(1)</script>"
TOTAL = (Decimal("1234.56"), "USD")

SAMPLE: dict[str, object] = {
    "name": "Ana Pérez",
    "hotel_name": "Hotel Sol",
    "reference": "BK-2026-0042",
    "destination": "Cusco",
    "start_date": date(2026, 3, 1),
    "end_date": date(2026, 3, 8),
    "deadline": date(2026, 2, 20),
    "due_date": date(2026, 2, 25),
    "paid_on": date(2026, 2, 10),
    "travellers": 4,
    "minutes": 30,
    "total": TOTAL,
    "amount": money(Decimal("500.00"), "EUR"),
    "headline": "Machu Picchu in spring",
    "body": "Five new itineraries through the Sacred Valley.",
    "quotation_url": "https://spirit.test/q/1",
    "booking_url": "https://spirit.test/b/1",
    "offer_url": "https://spirit.test/offer/1",
    "payment_url": "https://spirit.test/pay/1",
    "reset_url": "https://spirit.test/reset?token=abc&x=1",
    "login_url": "https://spirit.test/login",
    "article_url": "https://spirit.test/news/1",
    "survey_url": "https://spirit.test/survey/1",
    "offers_url": "https://spirit.test/offers",
    "unsubscribe_url": "https://spirit.test/unsubscribe/tok123",
}
CASES = [(name, locale) for name in sorted(EXPECTED_TEMPLATES) for locale in LOCALES]


@cache
def po_messages(locale: str) -> dict[str, str]:
    with (LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        catalog = read_po(fh, locale=locale)
    return {str(m.id): str(m.string) for m in catalog if m.id}


def template_text(name: str) -> str:
    return (TEMPLATE_DIR / f"{name}.mjml").read_text(encoding="utf-8")


def make(template: str, locale: str, /, **extra: object) -> EmailMessage:
    context = {key: SAMPLE[key] for key in TEMPLATES[template].required} | extra
    return render(
        template,
        locale,
        context,
        to="ana@example.test",
        sender="Spirit Tours <no-reply@spirit.test>",
        message_id_domain="mail.spirit.test",
    )


def parts(message: EmailMessage) -> tuple[str, str]:
    plain, markup = message.get_body(("plain",)), message.get_body(("html",))
    assert plain is not None
    assert markup is not None
    assert isinstance(plain, EmailMessage)
    assert isinstance(markup, EmailMessage)
    return str(plain.get_content()), str(markup.get_content())


def missing_translations(messages: dict[str, str], msgids: set[str]) -> set[str]:
    """Msgids without a non-empty translation whose placeholders match the original."""
    placeholders = re.compile(r"\{\w+\}")
    return {
        msgid
        for msgid in msgids
        if not messages.get(msgid)
        or sorted(placeholders.findall(messages[msgid])) != sorted(placeholders.findall(msgid))
    }


def all_msgids() -> set[str]:
    """What every catalog must translate: the templates' markers, the PDF voucher's labels
    and the preferences page."""
    templates = {m for name in EXPECTED_TEMPLATES for m in MSGID.findall(template_text(name))}
    return templates | set(VOUCHER_MSGIDS) | set(PAGE_MSGIDS)


def test_registry_lists_the_fifteen_templates_with_their_flags() -> None:
    assert set(TEMPLATES) == EXPECTED_TEMPLATES
    assert {n for n, info in TEMPLATES.items() if info.marketing} == MARKETING
    priorities = {name: info.priority for name, info in TEMPLATES.items()}
    assert priorities.pop("password_reset") == "HIGH"
    assert priorities.pop("payment_received") == "HIGH"
    assert priorities.pop("newsletter") == "BULK"
    assert priorities.pop("survey") == "LOW"
    assert priorities.pop("birthday") == "LOW"
    assert set(priorities.values()) == {"NORMAL"}


@pytest.mark.parametrize("name", sorted(EXPECTED_TEMPLATES))
def test_required_keys_match_the_template_placeholders(name: str) -> None:
    source = template_text(name)
    keys = set(re.findall(r"\{\{\s*(\w+)\s*\}\}", source)) - {"locale"}
    for msgid in MSGID.findall(source):
        keys |= set(re.findall(r"\{(\w+)\}", msgid))
    assert keys == TEMPLATES[name].required


@pytest.mark.parametrize(("name", "locale"), CASES)
def test_every_template_renders_in_every_locale(name: str, locale: str) -> None:
    message = make(name, locale)
    plain, markup = parts(message)

    heading = HEADING.search(template_text(name))
    assert heading is not None, f"{name} has no heading marker"
    translated = po_messages(locale)[heading.group(1)]
    assert translated
    assert html.escape(translated) in markup
    assert translated in plain
    assert f'lang="{locale}"' in markup
    assert "[[" not in markup
    assert "{{" not in markup
    assert 'style="' in markup  # MJML inlined the styles

    assert plain.strip()
    assert not HTML_TAG.search(plain), plain
    assert str(message["Message-ID"]).endswith("@mail.spirit.test>")
    assert message["Date"]
    assert message["To"] == "ana@example.test"
    assert message["From"] == "Spirit Tours <no-reply@spirit.test>"
    assert message["Subject"]
    assert "\n" not in str(message["Subject"])
    assert message.get_content_type() == "multipart/alternative"

    button_url = next(v for k, v in SAMPLE.items() if k.endswith("_url") and k in source_keys(name))
    assert str(button_url) in plain  # link targets survive in the text part

    if name in MARKETING:
        assert message["List-Unsubscribe"] == "<https://spirit.test/unsubscribe/tok123>"
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert html.escape(po_messages(locale)["Unsubscribe"]) in markup
    else:
        assert message["List-Unsubscribe"] is None
        assert message["List-Unsubscribe-Post"] is None


def source_keys(name: str) -> set[str]:
    return set(re.findall(r"\{\{\s*(\w+)\s*\}\}", template_text(name)))


def test_subject_is_translated_and_filled() -> None:
    subjects = {locale: str(make("booking_confirmed", locale)["Subject"]) for locale in LOCALES}
    assert subjects["en"] == "Booking BK-2026-0042 confirmed"
    assert subjects["es"] == "Reserva BK-2026-0042 confirmada"
    assert subjects["pt"] == "Reserva BK-2026-0042 confirmada"


def test_money_and_dates_are_formatted_for_the_recipient_locale() -> None:
    expected = {loc: format_currency(TOTAL[0], TOTAL[1], locale=loc) for loc in LOCALES}
    assert len(set(expected.values())) == 3
    assert expected["en"] == "$1,234.56"
    for locale in LOCALES:
        plain, markup = parts(make("booking_confirmed", locale))
        assert html.escape(expected[locale]) in markup
        assert expected[locale] in plain
        others = {v for k, v in expected.items() if k != locale}
        assert not any(other in markup for other in others)
        assert html.escape(format_date(date(2026, 3, 1), format="long", locale=locale)) in markup


def test_schema_money_objects_are_formatted_too() -> None:
    plain, _ = parts(make("payment_received", "en"))
    assert format_currency(Decimal("500.00"), "EUR", locale="en") in plain


def test_float_money_is_refused() -> None:
    with pytest.raises(TypeError, match="Decimal"):
        make("booking_confirmed", "en", total=(1234.56, "USD"))


@pytest.mark.parametrize(("name", "locale"), CASES)
def test_user_supplied_text_is_escaped(name: str, locale: str) -> None:
    hostile = dict.fromkeys(("name", "hotel_name", "destination", "headline", "body"), SCRIPT)
    context = {k: v for k, v in hostile.items() if k in TEMPLATES[name].required}
    plain, markup = parts(make(name, locale, **context))
    assert "<script" not in markup.lower()
    assert html.escape(SCRIPT) in markup
    assert SCRIPT in plain  # plain text shows it literally, harmlessly


def test_urls_must_be_http() -> None:
    with pytest.raises(ValueError, match="http"):
        make("welcome", "en", login_url="javascript:alert(1)")


def test_hotel_invitation_never_shows_owner_or_prices() -> None:
    assert not {"name", "total", "amount"} & TEMPLATES["hotel_invitation"].required
    for locale in LOCALES:
        message = make(
            "hotel_invitation",
            locale,
            name="Owner Agency SA",
            email="owner@agency.test",
            total=(Decimal("9876.54"), "USD"),
        )
        plain, markup = parts(message)
        for secret in ("Owner Agency", "owner@agency.test", "9876", "9.876", "9,876"):
            assert secret not in markup
            assert secret not in plain
            assert secret not in str(message["Subject"])


def test_catalogs_translate_every_template_msgid() -> None:
    msgids = all_msgids()
    assert len(msgids) > 40
    for locale in LOCALES:
        assert missing_translations(po_messages(locale), msgids) == set(), locale
    # Spanish and Portuguese are real translations, not copies of the English text.
    for locale in ("es", "pt"):
        same = {m for m in msgids if po_messages(locale)[m] == m}
        assert len(same) < 3, (locale, same)


def test_catalog_check_detects_a_missing_or_broken_msgid() -> None:
    msgids = all_msgids()
    messages = dict(po_messages("es"))
    dropped = sorted(msgids)[0]
    del messages[dropped]
    messages["Hello {name},"] = "Hola:"
    messages["Read more"] = ""
    assert missing_translations(messages, msgids) == {dropped, "Hello {name},", "Read more"}


def test_booking_confirmed_carries_the_voucher_attachment() -> None:
    voucher = Attachment("voucher-BK-2026-0042.pdf", b"%PDF-1.7 voucher", "application/pdf")
    context = {key: SAMPLE[key] for key in TEMPLATES["booking_confirmed"].required}
    message = render(
        "booking_confirmed",
        "es",
        context,
        to="ana@example.test",
        sender="no-reply@spirit.test",
        message_id_domain="mail.spirit.test",
        attachments=[voucher],
    )
    assert message.get_content_type() == "multipart/mixed"
    attached = list(message.iter_attachments())
    assert len(attached) == 1
    assert isinstance(attached[0], EmailMessage)
    assert attached[0].get_filename() == "voucher-BK-2026-0042.pdf"
    assert attached[0].get_content_type() == "application/pdf"
    assert attached[0].get_content() == b"%PDF-1.7 voucher"
    plain, markup = parts(message)
    assert plain
    assert markup


def test_message_ids_are_unique() -> None:
    ids = {str(make("welcome", "en")["Message-ID"]) for _ in range(20)}
    assert len(ids) == 20


def test_marketing_override() -> None:
    message = render(
        "newsletter",
        "en",
        {k: SAMPLE[k] for k in TEMPLATES["newsletter"].required},
        to="a@example.test",
        sender="s@spirit.test",
        message_id_domain="spirit.test",
        marketing=False,
    )
    assert message["List-Unsubscribe"] is None
    with pytest.raises(ValueError, match="unsubscribe_url"):
        render(
            "welcome",
            "en",
            {k: SAMPLE[k] for k in TEMPLATES["welcome"].required},
            to="a@example.test",
            sender="s@spirit.test",
            message_id_domain="spirit.test",
            marketing=True,
        )


@pytest.mark.parametrize(
    ("name", "locale", "match"),
    [("no_such_template", "en", "Unknown e-mail template"), ("welcome", "fr", "locale")],
)
def test_unknown_template_or_locale_is_a_value_error(name: str, locale: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        render(
            name,
            locale,
            SAMPLE,
            to="a@example.test",
            sender="s@spirit.test",
            message_id_domain="spirit.test",
        )


def test_missing_context_key_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="reference"):
        render(
            "booking_confirmed",
            "en",
            {"name": "Ana"},
            to="a@example.test",
            sender="s@spirit.test",
            message_id_domain="spirit.test",
        )


def test_list_unsubscribe_keeps_its_uri_literal_on_the_wire() -> None:
    """RFC 8058: mailbox providers read ``<https://…>`` in the raw header. A URI longer than a
    line stays whole (no RFC 2047 encoded word); several URIs fold at whitespace only, even
    when the message is flattened with the SMTP policy aiosmtplib uses."""
    long_url = "https://spirit.test/e/u/" + "x" * 90
    message = make("newsletter", "en", unsubscribe_url=long_url)
    message.replace_header("List-Unsubscribe", f"<mailto:unsubscribe@spirit.test>, <{long_url}>")
    raw = message.as_bytes(policy=email.policy.SMTP)
    assert b"=?" not in raw.split(b"\r\n\r\n", 1)[0]
    assert (
        b"List-Unsubscribe: <mailto:unsubscribe@spirit.test>,\r\n <" + long_url.encode() + b">\r\n"
    ) in raw
    assert b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n" in raw
