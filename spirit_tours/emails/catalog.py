"""Translatable strings: the ``[[ msgid ]]`` markers in the MJML templates and their catalogs.

The ``.po`` files are the only source: they are compiled into memory on first use, so no
build step (and no committed ``.mo``) is needed.
"""

from __future__ import annotations

import re
from functools import cache
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LOCALES: tuple[str, ...] = ("es", "en", "pt")
DOMAIN = "messages"
LOCALE_DIR = Path(__file__).resolve().parent.parent / "locales"
TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"

#: ``[[ Hello {name}, ]]`` marks a translatable string; surrounding blanks are not part of it.
MSGID_RE = re.compile(r"\[\[\s*(.+?)\s*\]\]", re.DOTALL)


def check_locale(locale: str) -> str:
    """The locale itself, or ValueError naming the supported ones."""
    if locale not in LOCALES:
        raise ValueError(f"Unsupported e-mail locale {locale!r}; expected one of {LOCALES}.")
    return locale


def po_path(locale: str) -> Path:
    return LOCALE_DIR / check_locale(locale) / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def translations(locale: str) -> Translations:
    """The locale's catalog, compiled from its ``.po`` in memory (cached per process)."""
    with po_path(locale).open("rb") as po_file:
        catalog = read_po(po_file, locale=locale, domain=DOMAIN)
    buffer = BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(fp=buffer, domain=DOMAIN)


def translate(locale: str, msgid: str) -> str:
    return translations(locale).gettext(msgid)


def template_msgids(source: str) -> list[str]:
    """Every msgid a template uses, in order of appearance (duplicates removed)."""
    return list(dict.fromkeys(MSGID_RE.findall(source)))


def all_template_msgids() -> set[str]:
    """The msgids of all templates: what every catalog must translate."""
    return {
        msgid
        for path in TEMPLATE_DIR.glob("*.mjml")
        for msgid in template_msgids(path.read_text(encoding="utf-8"))
    }
