"""The automatic plain-text part, derived from the rendered HTML."""

from __future__ import annotations

import html
import re

_DROP = re.compile(
    # comments (incl. Outlook conditionals), head/style/script, and MJML's hidden preview div
    r"<!--.*?-->|<(head|style|script)\b.*?</\1\s*>|<div style=\"display:none;[^\"]*\">.*?</div>",
    re.DOTALL | re.IGNORECASE,
)
_LINK = re.compile(r"<a\b[^>]*?\bhref=\"([^\"]*)\"[^>]*>(.*?)</a\s*>", re.DOTALL | re.IGNORECASE)
_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)
_BLOCK_END = re.compile(r"</(p|div|h[1-6]|li|tr|table)\s*>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]+>")
_SPACES = re.compile(r"[ \t\r\f\v]+")  # keeps no-break spaces (e.g. "1.234,56 US$")


def _link(match: re.Match[str]) -> str:
    url, label = match.group(1), match.group(2)
    return f"{label} ({url})" if url and url not in label else label


def html_to_text(markup: str) -> str:
    """Readable text: tags stripped, blocks on their own lines, link targets kept."""
    text = _DROP.sub("", markup)
    text = _LINK.sub(_link, text)
    text = _BREAK.sub("\n", text)
    text = _BLOCK_END.sub("\n", text)
    text = html.unescape(_TAG.sub("", text))
    lines = (" ".join(_SPACES.split(line)).strip(" ") for line in text.splitlines())
    paragraphs: list[str] = [line for line in lines if line]
    return "\n\n".join(paragraphs) + "\n"


def text_links(markup: str) -> list[tuple[str, str]]:
    """Each link ``html_to_text`` writes out, as ``(href, label)`` read from ``markup``: whether
    it shows ``label (url)`` or just ``label`` depends on both."""
    return [(url, label) for url, label in _LINK.findall(_DROP.sub("", markup))]
