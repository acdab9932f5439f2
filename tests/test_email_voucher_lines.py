"""The voucher's ``cell`` shortcut: a line that fits is drawn with ``cell``, which must be byte
for byte what ``multi_cell`` draws. ``multi_cell`` hides soft hyphens, drops
carriage returns and turns no-break spaces into spaces; ``cell`` writes them as they are. All
three survive ``voucher._text`` (cp1252 has them) and reach the voucher from a booking's name,
destination or reference."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from fpdf import FPDF, XPos, YPos
from pypdf import PdfReader

from spirit_tours.emails.voucher import _paragraph, booking_voucher
from tests.permission_cases import clean_state  # noqa: F401 - replaces the suite's fixture
from tests.test_email_voucher import CONTEXT


def _page(text: str, *, fast: bool) -> bytes:
    pdf = FPDF(format="A4")
    pdf.set_creation_date(datetime(2026, 1, 1, tzinfo=UTC))
    pdf.add_page()
    pdf.set_font("Helvetica", "", 11)
    pdf.cell(45, 8, "Label")
    if fast:
        _paragraph(pdf, 8, text, new_x=XPos.LMARGIN)
    else:
        pdf.multi_cell(0, 8, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.cell(0, 8, "next", new_x=XPos.RIGHT, new_y=YPos.NEXT)
    return bytes(pdf.output())


@pytest.mark.parametrize(
    "text", ["Machu\xadPicchu", "Ana\rPérez", "Hotel\xa0Sol", "  two  blanks  ", "tab\there"]
)
def test_a_short_line_draws_what_multi_cell_draws(text: str) -> None:
    """Including a soft hyphen, a carriage return and a no-break space, which ``cell`` would
    draw as they are."""
    assert _page(text, fast=True) == _page(text, fast=False)


def test_a_soft_hyphen_in_the_destination_is_not_printed() -> None:
    """A soft hyphen is hidden as ``multi_cell`` hides it, never a visible "-"."""
    voucher = booking_voucher(CONTEXT | {"destination": "Machu\xadPicchu"}, "en")
    text = PdfReader(io.BytesIO(voucher.content)).pages[0].extract_text()
    assert "\xad" not in text
