"""Each template compiled once per locale, then filled per message.

MJML runs once per template and locale, on the source filled with a stand-in word for every
value; a message then joins the compiled HTML's literal pieces with its own values, HTML-escaped
as ``markers.Filler`` escapes them. That equals compiling the filled source because mrml copies
text through unchanged and escapes attribute values its own way: each stand-in carries a
backslash, which mrml doubles inside an attribute, so the compiled form tells where each value
landed and the value gets ``attribute_escape`` there. The plain-text part is derived once from
the stand-ins too, and the links and the open pixel have known places, so a message needs no
HTML search at all. Values the shortcut cannot carry exactly (line breaks or runs of blanks in
the plain text, characters mrml refuses) take the long way: the filled source is compiled.
tests/test_email_stencil.py proves the equality for every template in every locale.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass

from spirit_tours.emails.markers import Filler, fill_source
from spirit_tours.emails.mjml_compiler import attribute_escape, compile_mjml
from spirit_tours.emails.text import html_to_text, text_links
from spirit_tours.emails.tracking import Tracker, body_end

_STAND_IN = "zqv{}\\vqz"  # a word to MJML; the backslash is doubled inside attributes
_STAND_IN_PARTS = ("zqv", "vqz")
_COMPILED_STAND_IN = re.compile(r"zqv([A-Za-z0-9_]+)(\\\\?)vqz")
_HREF_VALUE = re.compile(r'href="([^"]*)"', re.IGNORECASE)
# An "&" that does not open a complete entity: html_to_text's unescaping could join it to a value.
_BARE_AMPERSAND = re.compile(r"&(?!#[0-9]+;|#[xX][0-9a-fA-F]+;|[A-Za-z][A-Za-z0-9]*;)")
# What html_to_text splits lines at or collapses: a value with none of them but single inner
# spaces (and not empty) lands in the plain text exactly where its stand-in was.
_BREAKS = "\t\n\r\f\v\x1c\x1d\x1e\x85\u2028\u2029 "
_PLAIN_TEXT_VALUE = re.compile(f"[^{_BREAKS}]+(?: [^{_BREAKS}]+)*")
# Characters mrml refuses to parse: such a value fails in compile_mjml, as it always did.
REFUSED_BY_MJML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@dataclass(frozen=True, slots=True)
class Slot:
    """Where a value goes; ``attribute``: inside an attribute value, escaped the mrml way."""

    key: str
    attribute: bool


@dataclass(frozen=True, slots=True)
class Href:
    """An href's value, tracked as a whole once filled."""

    pieces: tuple[str | Slot, ...]


class _Pixel:
    """Where the open pixel goes: before the last ``</body>``."""


PIXEL = _Pixel()
HtmlPiece = str | Slot | Href | _Pixel


@dataclass(frozen=True, slots=True)
class Stencil:
    """One template in one locale: literal pieces and the places of values, links and pixel."""

    html: tuple[HtmlPiece, ...]
    text: tuple[str | Slot, ...] | None  # None: derive the text from each filled HTML
    text_keys: frozenset[str]
    keys: tuple[str, ...]  # every value it shows, in order of appearance

    def fill(self, values: Mapping[str, str], tracker: Tracker | None) -> tuple[str, str]:
        """The HTML (tracked when ``tracker`` is given) and the plain text for ``values``
        (formatted, not yet escaped; every key the template uses)."""
        escaped = {key: html.escape(text, quote=True) for key, text in values.items()}
        markup = self._html(escaped, tracker)
        text_pieces = self.text
        if text_pieces is None or not all(
            _PLAIN_TEXT_VALUE.fullmatch(values[key]) for key in self.text_keys
        ):
            untracked = markup if tracker is None else self._html(escaped, None)
            return markup, html_to_text(untracked)
        parts = [
            piece if type(piece) is str else _text_value(piece, values, escaped)  # type: ignore[arg-type]
            for piece in text_pieces
        ]
        return markup, "".join(parts)

    def _html(self, escaped: Mapping[str, str], tracker: Tracker | None) -> str:
        parts: list[str] = []
        for piece in self.html:
            if type(piece) is str:
                parts.append(piece)
            elif type(piece) is Slot:
                parts.append(_html_value(piece, escaped))
            elif type(piece) is Href:
                url = "".join(
                    part if type(part) is str else _html_value(part, escaped)  # type: ignore[arg-type]
                    for part in piece.pieces
                )
                parts.append(url if tracker is None else tracker.href(url))
            elif tracker is not None:
                parts.append(tracker.pixel())
        return "".join(parts)


def _html_value(slot: Slot, escaped: Mapping[str, str]) -> str:
    value = escaped[slot.key]
    return attribute_escape(value) if slot.attribute else value


def _text_value(slot: Slot, values: Mapping[str, str], escaped: Mapping[str, str]) -> str:
    if not slot.attribute:
        return values[slot.key]
    return html.unescape(attribute_escape(escaped[slot.key]))


class _StandIns(Filler):
    def value(self, key: str) -> str:
        return self.locale if key == "locale" else _STAND_IN.format(key)


def build(source: str, locale: str) -> Stencil:
    """Compile ``source`` once for ``locale`` with stand-ins and note where everything goes."""
    if any(part in source for part in _STAND_IN_PARTS):
        raise ValueError(f"Templates must not contain {_STAND_IN_PARTS}: they mark stand-ins.")
    compiled = compile_mjml(fill_source(source, _StandIns(locale, {}, escape=True)))
    closing = body_end(compiled)
    if closing < 0:
        pieces = [*_html_pieces(compiled), PIXEL]
    else:
        pieces = [*_html_pieces(compiled[:closing]), PIXEL, *_html_pieces(compiled[closing:])]
    text = _text_pieces(compiled)
    slots = [
        slot
        for piece in pieces
        for slot in (piece.pieces if isinstance(piece, Href) else (piece,))
        if isinstance(slot, Slot)
    ]
    return Stencil(
        html=tuple(pieces),
        text=text,
        text_keys=frozenset(p.key for p in text or () if isinstance(p, Slot)),
        keys=tuple(dict.fromkeys(slot.key for slot in slots)),
    )


def _slots(markup: str) -> list[str | Slot]:
    split = _COMPILED_STAND_IN.split(markup)
    pieces: list[str | Slot] = [split[0]] if split[0] else []
    for index in range(1, len(split), 3):
        key, backslashes, literal = split[index : index + 3]
        pieces.append(Slot(key, attribute=len(backslashes) == 2))
        if literal:
            pieces.append(literal)
    return pieces


def _html_pieces(markup: str) -> list[HtmlPiece]:
    pieces: list[HtmlPiece] = []
    last = 0
    for match in _HREF_VALUE.finditer(markup):
        pieces.extend(_slots(markup[last : match.start(1)]))
        pieces.append(Href(tuple(_slots(match.group(1)))))
        last = match.end(1)
    pieces.extend(_slots(markup[last:]))
    return pieces


def _text_pieces(compiled: str) -> tuple[str | Slot, ...] | None:
    """The plain text with slots, or None where a value could change more than its own place:
    an "&" that unescaping could join to a value, or a link whose ``label (url)`` form depends
    on a value (a value in its label, or a URL not made of one whole ``*_url`` value)."""
    if _BARE_AMPERSAND.search(compiled):
        return None
    for url, label in text_links(compiled):
        if _COMPILED_STAND_IN.search(label):
            return None
        whole = _COMPILED_STAND_IN.fullmatch(url)
        if _COMPILED_STAND_IN.search(url) and not (
            whole and whole.group(1).endswith("_url") and "http" not in label
        ):
            return None  # an http(s) value (checked by Filler.text) is in no label without "http"
    return tuple(_slots(html_to_text(compiled)))
