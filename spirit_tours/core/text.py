"""The character rule for all text a client sends: no C0 control character other than tab,
newline and carriage return (PostgreSQL refuses NUL), no lone UTF-16 surrogate (not encodable
as UTF-8). Applied to GraphQL variables and literals (``schema.input_text``), to the transport
(``graphql_app``, ``graphql_ws``) and to HTTP Basic sign-in (``http_auth``)."""

from __future__ import annotations

import re

_FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")


def forbidden_character(text: str) -> str | None:
    """What is wrong with ``text`` (``the control character U+0000``, ``the lone surrogate
    U+D800``), or None."""
    found = _FORBIDDEN.search(text)
    if found is None:
        return None
    code = ord(found.group())
    kind = "lone surrogate" if code >= 0xD800 else "control character"
    return f"the {kind} U+{code:04X}"


def printable(text: str) -> str:
    """``text`` safe to echo in a message or a field path: lone surrogates escaped."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")
