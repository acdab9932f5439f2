"""The one rule for text and lists in input: no control characters, no lone surrogates, no
list longer than the configured maximum.

PostgreSQL refuses NUL in text (an internal error before this check), and the other C0 control
characters have no place in names, notes or e-mail addresses; tab, newline and carriage return
are allowed. A lone UTF-16 surrogate (U+D800 to U+DFFF; JSON can spell one as ``"\\ud800"``) is
not text at all: it cannot be encoded as UTF-8, so hashing, the database and even the error
message about it would fail. A list longer than the maximum costs the database one query
argument per item (asyncpg takes at most 32767) and no client sends one.

Variables are checked here, document literals by a validation rule (``document_limits``), both
before any resolver runs, over HTTP and WebSocket alike; the character rule itself is
``core.text``, which the transport (``graphql_app``) and the HTTP Basic sign-in (``http_auth``)
use too.
"""

from __future__ import annotations

from typing import Any

from spirit_tours.core.text import forbidden_character, printable


def find_bad_input(value: Any, path: str, max_list_items: int) -> tuple[str, str] | None:
    """The path (printable) and the problem of the first bad part of a JSON-like value (object
    keys included), or None. Iterative: deeply nested values cannot exhaust the stack."""
    stack: list[tuple[Any, str]] = [(value, path)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, str):
            found = forbidden_character(item)
            if found is not None:
                return printable(where), f"text must not contain {found}"
        elif isinstance(item, dict):
            for key, inner in item.items():
                inner_path = f"{where}.{key}" if where else str(key)
                if isinstance(key, str) and (found := forbidden_character(key)) is not None:
                    return printable(inner_path), f"a name must not contain {found}"
                stack.append((inner, inner_path))
        elif isinstance(item, list):
            if len(item) > max_list_items:
                return printable(where), list_too_long(len(item), max_list_items)
            stack.extend((inner, f"{where}.{n}") for n, inner in enumerate(item))
    return None


def list_too_long(items: int, max_list_items: int) -> str:
    return f"a list of {items} items is too long; at most {max_list_items} are allowed"
