"""Opaque keyset cursors over (timestamp, id), newest first."""

from __future__ import annotations

import base64
import uuid
from datetime import datetime

from sqlalchemy import ColumnElement, literal, tuple_
from sqlalchemy.orm import InstrumentedAttribute

from spirit_tours.errors import bad_input

MAX_PAGE_SIZE = 100


def encode_cursor(at: datetime, row_id: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(f"{at.isoformat()}|{row_id}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        at, _, row_id = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        return datetime.fromisoformat(at), uuid.UUID(row_id)
    except (ValueError, UnicodeDecodeError) as error:
        raise bad_input("after", "The cursor is not one this API gave out.") from error


def page_size(first: int) -> int:
    if not 1 <= first <= MAX_PAGE_SIZE:
        raise bad_input("first", f"Ask for 1 to {MAX_PAGE_SIZE} items.")
    return first


def after_cursor(
    at_column: InstrumentedAttribute[datetime],
    id_column: InstrumentedAttribute[uuid.UUID],
    cursor: str,
) -> ColumnElement[bool]:
    """Rows older than the cursor's, in the (timestamp, id) newest-first order."""
    at, row_id = decode_cursor(cursor)
    return tuple_(at_column, id_column) < tuple_(literal(at), literal(row_id))
