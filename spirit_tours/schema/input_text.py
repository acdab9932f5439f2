"""The one rule for text in GraphQL input: no control characters.

PostgreSQL refuses NUL in text (an internal error before this check), and the other C0 control
characters have no place in names, notes or e-mail addresses; tab, newline and carriage return
are allowed. Variables are checked here, document literals by a validation rule
(``document_limits``), both before any resolver runs, over HTTP and WebSocket alike.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def control_character(text: str) -> str | None:
    """The first forbidden character of ``text`` as ``U+00XX``, or None."""
    found = _CONTROL.search(text)
    return None if found is None else f"U+{ord(found.group()):04X}"


def find_control_character(value: Any, path: str) -> tuple[str, str] | None:
    """The path and character of the first forbidden character in a JSON-like value
    (object keys included), or None. Iterative: deeply nested values cannot exhaust the
    stack."""
    for where, text in _strings(value, path):
        found = control_character(text)
        if found is not None:
            return where, found
    return None


def _strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    stack: list[tuple[Any, str]] = [(value, path)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, str):
            yield where, item
        elif isinstance(item, dict):
            for key, inner in item.items():
                inner_path = f"{where}.{key}" if where else str(key)
                if isinstance(key, str):
                    yield inner_path, key
                stack.append((inner, inner_path))
        elif isinstance(item, list):
            stack.extend((inner, f"{where}.{n}") for n, inner in enumerate(item))
