"""A typed wrapper around the untyped ``mjml`` package (mjml-python, a binding of Rust's mrml)."""

from __future__ import annotations

import re
from functools import lru_cache

from mjml import mjml2html

# Printable ASCII but the backslash: mrml writes these unchanged inside an attribute.
_PLAIN_IN_ATTRIBUTE = re.compile(r"[ -\[\]-~]*")
_PROBE = (
    '<mjml><mj-body><mj-section><mj-column><mj-button href="@{}@">x</mj-button>'
    "</mj-column></mj-section></mj-body></mjml>"
)
_PROBED = re.compile(r'href="@(.*?)@"', re.DOTALL)


def compile_mjml(source: str) -> str:
    """Responsive HTML with styles inlined on each element by MJML."""
    result = mjml2html(source, disable_comments=False)
    if not isinstance(result, str):
        raise TypeError(f"mjml2html returned {type(result).__name__}, expected str.")
    return result


def attribute_escape(value: str) -> str:
    """``value`` as mrml writes it inside an HTML attribute.

    mrml copies text nodes unchanged but writes attribute values with Rust's debug escaping: a
    backslash doubled, a tab as ``\\t``, a no-break space or a combining accent as ``\\u{a0}``…
    A template compiled once with stand-ins (``stencil``) must give each value the same
    treatment to equal the compile of the filled source, so the rule is learnt from mrml itself,
    one character at a time (cached), rather than copied from Rust's Unicode tables.
    """
    if _PLAIN_IN_ATTRIBUTE.fullmatch(value):
        return value
    return "".join(map(_attribute_char, value))


@lru_cache(maxsize=4096)  # bounded: each new character a hostile value brings is one compile
def _attribute_char(char: str) -> str:
    if _PLAIN_IN_ATTRIBUTE.fullmatch(char):
        return char
    probed = _PROBED.search(compile_mjml(_PROBE.format(char)))
    if probed is None:
        raise ValueError(f"mrml dropped {char!r} from an attribute.")
    return probed.group(1)
