"""The PDF booking voucher: one page, translated labels, dates in the recipient locale, and no
price (the hotel sees it at check-in; docs/privacy.md §2.6)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from io import BytesIO

import pytest
from babel.dates import format_date
from babel.numbers import format_currency
from fpdf import FPDF
from fpdf.enums import XPos, YPos
from pypdf import PdfReader

from spirit_tours.emails.voucher import _paragraph, booking_voucher

LOCALES = ("es", "en", "pt")
TITLES = {"es": "Comprobante de reserva", "en": "Booking voucher", "pt": "Comprovante de reserva"}
CONTEXT: dict[str, object] = {
    "name": "Ana Pérez",
    "reference": "ST-1001",
    "destination": "Cusco",
    "start_date": date(2026, 3, 1),
    "end_date": date(2026, 3, 8),
    "total": (Decimal("1234.50"), "USD"),
    "booking_url": "https://spirit.test/b/1",
    "travellers": 2,
}


def pdf_text(content: bytes) -> tuple[int, str]:
    reader = PdfReader(BytesIO(content))
    text = "\n".join(page.extract_text() for page in reader.pages)
    return len(reader.pages), " ".join(text.split())  # \xa0 and line breaks as plain spaces


def spaced(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("locale", LOCALES)
def test_voucher_is_a_one_page_pdf_in_the_recipient_locale(locale: str) -> None:
    voucher = booking_voucher(CONTEXT, locale)
    assert voucher.filename == "voucher-ST-1001.pdf"
    assert voucher.mimetype == "application/pdf"
    assert voucher.content.startswith(b"%PDF-")

    pages, text = pdf_text(voucher.content)
    assert pages == 1
    assert "ST-1001" in text
    assert "Ana Pérez" in text
    assert TITLES[locale] in text
    for day in (date(2026, 3, 1), date(2026, 3, 8)):
        assert spaced(format_date(day, format="long", locale=locale)) in text


def test_labels_and_dates_follow_the_locale_and_no_price_is_shown() -> None:
    texts = {locale: pdf_text(booking_voucher(CONTEXT, locale).content)[1] for locale in LOCALES}
    for locale, text in texts.items():
        assert spaced(format_currency(Decimal("1234.50"), "USD", locale=locale)) not in text
        for figure in ("1234", "1.234", "1,234", "USD", "US$", "$"):
            assert figure not in text, (locale, figure)
    assert "1 de marzo de 2026" in texts["es"]
    assert "March 1, 2026" in texts["en"]
    assert "Reservado por Ana Pérez" in texts["es"]
    assert "Booked by Ana Pérez" in texts["en"]
    assert "Present this voucher at check-in." in texts["en"]
    assert "Presenta este comprobante" in texts["es"]
    assert "Apresente este comprovante" in texts["pt"]


def test_travellers_are_optional() -> None:
    context = {key: value for key, value in CONTEXT.items() if key != "travellers"}
    _, text = pdf_text(booking_voucher(context, "en").content)
    assert "Travellers" not in text
    _, text = pdf_text(booking_voucher(CONTEXT, "en").content)
    assert "Travellers 2" in text


@pytest.mark.parametrize(
    ("name", "shown"), [("<b>Ana</b>", "<b>Ana</b>"), ("Zoë 李", "Zoë ?"), ("Ω — ok", "? — ok")]
)
def test_markup_and_characters_helvetica_lacks_do_not_crash(name: str, shown: str) -> None:
    pages, text = pdf_text(booking_voucher(CONTEXT | {"name": name}, "pt").content)
    assert pages == 1
    assert shown in text


def test_missing_keys_bad_locale_and_bad_url_are_value_errors() -> None:
    with pytest.raises(ValueError, match="reference"):
        booking_voucher({"name": "Ana"}, "en")
    with pytest.raises(ValueError, match="locale"):
        booking_voucher(CONTEXT, "fr")
    with pytest.raises(ValueError, match="http"):
        booking_voucher(CONTEXT | {"booking_url": "javascript:alert(1)"}, "en")


def test_filename_keeps_only_safe_characters() -> None:
    voucher = booking_voucher(CONTEXT | {"reference": '../ST 7/"x"'}, "en")
    assert voucher.filename == "voucher-..-ST-7-x-.pdf"


@pytest.mark.parametrize(
    "text",
    ["ST-1001", "Ana Pérez", "https://spirit.test/b/1", "Cusco and the Sacred Valley " * 6, "a\nb"],
)
def test_a_paragraph_draws_what_multi_cell_draws(text: str) -> None:
    """Lines that fit are written with ``cell`` (fpdf2's line breaker was two thirds of the
    voucher's time): the page is byte for byte what ``multi_cell`` makes, wrapped or not."""
    made = []
    for fast in (True, False):
        pdf = FPDF(format="A4")
        pdf.set_creation_date(datetime(2026, 1, 1, tzinfo=UTC))
        pdf.add_page()
        pdf.set_font("Helvetica", "", 11)
        pdf.cell(45, 8, "Label")
        if fast:
            _paragraph(pdf, 8, text, new_x=XPos.LMARGIN, link="https://spirit.test/b/1")
        else:
            pdf.multi_cell(0, 8, text, align="L", link="https://spirit.test/b/1",
                           new_x=XPos.LMARGIN, new_y=YPos.NEXT)  # fmt: skip
        pdf.cell(0, 8, "next", new_x=XPos.RIGHT, new_y=YPos.NEXT)
        made.append(bytes(pdf.output()))
    assert made[0] == made[1]
