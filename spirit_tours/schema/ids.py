"""Parsing client-supplied IDs."""

from __future__ import annotations

import uuid

from spirit_tours.core.errors import bad_input


def parse_id(value: str, field: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError as error:
        raise bad_input(field, f"{value!r} is not a valid ID.") from error
