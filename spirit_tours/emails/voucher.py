"""The PDF booking voucher attached to the ``booking_confirmed`` e-mail.

Travellers print it or show it at check-in, often offline, so it repeats the booking's facts in
the recipient's language: labels come from the same Babel catalogs as the templates, money and
dates from the same ``format_value``. fpdf2 is pure Python (no system libraries); its core font
Helvetica only knows Windows-1252, so other characters are replaced by ``?`` instead of failing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from spirit_tours.emails.catalog import check_locale, translate
from spirit_tours.emails.formatting import format_value
from spirit_tours.emails.render import Attachment
from spirit_tours.permissions.mail import voucher_facts

#: Every label the voucher translates; the catalog checks require them in each locale.
VOUCHER_MSGIDS: tuple[str, ...] = (
    "Booking voucher",
    "Reference",
    "Booked by",
    "Destination",
    "Dates",
    "Travellers",
    "Present this voucher at check-in.",
)
# No price: the traveller shows the voucher at the hotel, which must never learn the selling
# price (docs/privacy.md §2.6, ``voucher_facts``); the amount stays in the mail to the owner.
_REQUIRED = ("name", "reference", "destination", "start_date", "end_date", "booking_url")
_ENCODING = "cp1252"  # core fonts are WinAnsiEncoding: latin-1 plus euro sign, dashes, quotes
_UNSAFE_IN_FILENAME = re.compile(r"[^A-Za-z0-9._-]+")
_MULTI_CELL_SPECIAL = re.compile("[\n\r\xa0\xad]")
_SPACES = str.maketrans({"\u202f": "\xa0", "\u2009": " ", "\u2007": " "})  # CLDR's thin spaces


def _text(value: str) -> str:
    """``value`` limited to what Helvetica can show: anything else becomes ``?``."""
    return value.translate(_SPACES).encode(_ENCODING, "replace").decode(_ENCODING)


def _paragraph(pdf: FPDF, height: float, text: str, *, new_x: XPos, link: str = "") -> None:
    """Left-aligned text to the right margin, wrapped when it does not fit. A line that fits is
    written with ``cell``, which draws exactly what ``multi_cell`` draws for one line without
    its line breaker (measured: two thirds of the voucher's time, quadratic in the length).
    Not for text with characters ``multi_cell`` treats specially (a soft hyphen hidden, a lone
    carriage return dropped, a no-break space drawn as a space): those take ``multi_cell``."""
    room = pdf.w - pdf.r_margin - pdf.x - 2 * pdf.c_margin
    if not _MULTI_CELL_SPECIAL.search(text) and pdf.get_string_width(text) <= room:
        pdf.cell(0, height, text, align="L", link=link, new_x=new_x, new_y=YPos.NEXT)
    else:
        pdf.multi_cell(0, height, text, align="L", link=link, new_x=new_x, new_y=YPos.NEXT)


def booking_voucher(context: Mapping[str, object], locale: str) -> Attachment:
    """A one-page A4 voucher for ``context`` (the booking_confirmed keys, plus ``travellers``)."""
    check_locale(locale)
    context = voucher_facts(context)
    missing = [key for key in _REQUIRED if key not in context]
    if missing:
        raise ValueError(f"The booking voucher needs context keys {missing}.")

    def value(key: str) -> str:
        return _text(format_value(context[key], locale))

    def label(msgid: str) -> str:
        return _text(translate(locale, msgid))

    url = value("booking_url")
    if not url.startswith(("https://", "http://")):
        raise ValueError("booking_url must be an http(s) URL.")
    reference = format_value(context["reference"], locale)
    rows = [
        ("Reference", value("reference")),
        ("Booked by", value("name")),
        ("Destination", value("destination")),
        ("Dates", f"{value('start_date')} - {value('end_date')}"),
    ]
    if context.get("travellers") is not None:
        rows.append(("Travellers", value("travellers")))

    pdf = FPDF(format="A4")
    pdf.core_fonts_encoding = _ENCODING
    pdf.set_margins(20, 20, 20)
    pdf.set_auto_page_break(auto=False)
    pdf.set_title(f"{translate(locale, 'Booking voucher')} {reference}")
    pdf.set_author("Spirit Tours")
    pdf.set_lang(locale)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 20)
    pdf.cell(0, 12, label("Booking voucher"), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("Helvetica", "", 11)
    pdf.cell(0, 8, "Spirit Tours", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(6)
    for msgid, text in rows:
        pdf.set_font("Helvetica", "B", 11)
        pdf.cell(45, 8, label(msgid))
        pdf.set_font("Helvetica", "", 11)
        _paragraph(pdf, 8, text, new_x=XPos.LMARGIN)
    pdf.ln(6)
    pdf.set_text_color(0, 0, 160)
    _paragraph(pdf, 6, url, link=url, new_x=XPos.LMARGIN)
    pdf.set_text_color(0, 0, 0)
    pdf.ln(6)
    pdf.set_font("Helvetica", "I", 11)
    _paragraph(pdf, 6, label("Present this voucher at check-in."), new_x=XPos.RIGHT)
    filename = f"voucher-{_UNSAFE_IN_FILENAME.sub('-', reference)}.pdf"
    return Attachment(filename, bytes(pdf.output()), "application/pdf")
