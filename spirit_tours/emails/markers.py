"""The template language and how context values fill it.

Templates use two markers, filled in a single pass so inserted values are never re-expanded:
``[[ msgid with {key} ]]`` is translated, then its ``{key}`` placeholders filled; ``{{ key }}``
inserts a value directly. Every value is HTML-escaped. A template only shows what its own
placeholders name, so extra context keys (e.g. an owner's identity passed by mistake to a
hotel's invitation) never reach the recipient (docs/privacy.md §2.6).
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping

from spirit_tours.emails.catalog import MSGID_RE, translate
from spirit_tours.emails.formatting import format_value

MARKER = re.compile(r"\[\[\s*(?P<msgid>.+?)\s*\]\]|\{\{\s*(?P<key>\w+)\s*\}\}", re.DOTALL)
PLACEHOLDER = re.compile(r"\{(\w+)\}")
_TITLE = re.compile(r"<mj-title>(.*?)</mj-title>", re.DOTALL)
_URL_SCHEMES = ("https://", "http://")


class Filler:
    """Formats context values for one locale, escaped for HTML or as plain text."""

    def __init__(self, locale: str, context: Mapping[str, object], *, escape: bool) -> None:
        self.locale, self.context, self.escape = locale, context, escape

    def text(self, key: str) -> str:
        """The value as the reader sees it (checked, formatted, not yet escaped)."""
        if key not in self.context:
            raise ValueError(f"E-mail context is missing {key!r}.")
        text = format_value(self.context[key], self.locale)
        if key.endswith("_url") and not text.startswith(_URL_SCHEMES):
            raise ValueError(f"{key} must be an http(s) URL.")
        return text

    def value(self, key: str) -> str:
        if key == "locale":
            return self.locale
        text = self.text(key)
        if self.escape:
            return html.escape(text, quote=True)
        return header_text(text)

    def message(self, msgid: str) -> str:
        translated = translate(self.locale, msgid)
        if self.escape:
            translated = html.escape(translated, quote=True)
        return PLACEHOLDER.sub(lambda m: self.value(m.group(1)), translated)

    def marker(self, match: re.Match[str]) -> str:
        msgid = match.group("msgid")
        return self.message(msgid) if msgid is not None else self.value(match.group("key"))


def header_text(text: str) -> str:
    """``text`` on one line: no line breaks can reach a header."""
    return " ".join(text.split())


def fill_source(source: str, filler: Filler) -> str:
    """The template's MJML with every marker replaced."""
    return MARKER.sub(filler.marker, source)


def subject_msgid(source: str) -> str:
    """The msgid of the template's ``<mj-title>``, which is also the mail's subject."""
    title = _TITLE.search(source)
    if title is None:
        raise ValueError("The template has no <mj-title> to use as subject.")
    msgid = MSGID_RE.fullmatch(title.group(1).strip())
    if msgid is None:
        raise ValueError("The template's <mj-title> must be a single [[ msgid ]].")
    return msgid.group(1)
