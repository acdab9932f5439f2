"""The destination a report may be narrowed to, checked like any text a client sends."""

from __future__ import annotations

from spirit_tours.core.errors import bad_input
from spirit_tours.core.text import forbidden_character

MAX_DESTINATION = 200
"""As long as a quotation's destination may be."""


def destination_filter(value: str | None) -> str | None:
    """The destination to keep (matched case and surrounding spaces aside), None for every
    destination; BAD_USER_INPUT (``destination``) when blank, too long or not plain text."""
    if value is None:
        return None
    if not value.strip():
        raise bad_input("destination", "Name a destination, or leave it out for all of them.")
    if len(value) > MAX_DESTINATION:
        raise bad_input("destination", f"A destination is at most {MAX_DESTINATION} characters.")
    problem = forbidden_character(value)
    if problem is not None:
        raise bad_input("destination", f"The destination contains {problem}.")
    return value.strip()
