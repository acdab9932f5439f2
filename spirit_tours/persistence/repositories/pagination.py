"""Opaque keyset cursors: over (timestamp, id), newest first, for most lists; over any sort
key (``encode_key``) for lists in another order (guides by name, the fleet by size)."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, func, literal, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from spirit_tours.core.errors import bad_input
from spirit_tours.persistence.base import Base
from spirit_tours.persistence.repositories.batching import plain_rows, plain_select

MAX_PAGE_SIZE = 100
UNSET_PAGE_SIZE = 50
"""The page a connection serves when asked for neither ``first`` nor ``last`` (a chat thread's
latest messages)."""
T = TypeVar("T")
M = TypeVar("M", bound=Base)


def encode_cursor(at: datetime, row_id: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(f"{at.isoformat()}|{row_id}".encode()).decode()


def decode_cursor(cursor: str, argument: str = "after") -> tuple[datetime, uuid.UUID]:
    """The (timestamp, id) ``encode_cursor`` wrote. Its timestamps are always aware: a naive
    one, or one whose UTC instant falls outside ``datetime``'s range (year 1 ahead of UTC,
    year 9999 behind it, which the database driver could not send), is BAD_USER_INPUT too."""
    refused = bad_input(argument, "The cursor is not one this API gave out.")
    try:
        text, _, row_id = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        at = datetime.fromisoformat(text)
        if at.tzinfo is None:
            raise refused
        return at.astimezone(UTC), uuid.UUID(row_id)
    except (ValueError, OverflowError, UnicodeDecodeError) as error:
        raise refused from error


def encode_key(values: Sequence[str | int | uuid.UUID]) -> str:
    """A cursor for a row of a list sorted by ``values`` (its sort key, id last)."""
    plain = [value if isinstance(value, int) else str(value) for value in values]
    return base64.urlsafe_b64encode(json.dumps(plain).encode()).decode()


def decode_key(cursor: str, kinds: Sequence[type], argument: str = "after") -> list[Any]:
    """The sort key ``encode_key`` wrote, each value checked against ``kinds`` (``int``,
    ``str`` or ``uuid.UUID``): anything else is BAD_USER_INPUT, never a SQL error."""
    refused = bad_input(argument, "The cursor is not one this API gave out.")
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, binascii.Error, UnicodeDecodeError) as error:
        raise refused from error
    if not isinstance(values, list) or len(values) != len(kinds):
        raise refused
    decoded: list[Any] = []
    for kind, value in zip(kinds, values, strict=True):
        if kind is uuid.UUID and isinstance(value, str):
            try:
                decoded.append(uuid.UUID(value))
            except ValueError as error:
                raise refused from error
        elif (kind is int and type(value) is int and abs(value) < 2**31) or (
            kind is str and isinstance(value, str) and "\x00" not in value and len(value) < 1000
        ):
            decoded.append(value)
        else:
            raise refused
    return decoded


def page_size(first: int, argument: str = "first") -> int:
    if not 1 <= first <= MAX_PAGE_SIZE:
        raise bad_input(argument, f"Ask for 1 to {MAX_PAGE_SIZE} items.")
    return first


def after_cursor(
    at_column: InstrumentedAttribute[datetime],
    id_column: InstrumentedAttribute[uuid.UUID],
    cursor: str,
) -> ColumnElement[bool]:
    """Rows older than the cursor's, in the (timestamp, id) newest-first order."""
    at, row_id = decode_cursor(cursor)
    return tuple_(at_column, id_column) < tuple_(literal(at), literal(row_id))


def before_cursor(
    at_column: InstrumentedAttribute[datetime],
    id_column: InstrumentedAttribute[uuid.UUID],
    cursor: str,
) -> ColumnElement[bool]:
    """Rows newer than the cursor's: those before it in the newest-first order."""
    at, row_id = decode_cursor(cursor, "before")
    return tuple_(at_column, id_column) > tuple_(literal(at), literal(row_id))


@dataclass(frozen=True)
class Window:
    """Which page of a list: ``size`` items after ``after`` (forwards, ``first``), or the
    ``size`` items just before ``before`` (backwards, ``last``; no cursor: the list's end)."""

    size: int
    after: str | None = None
    before: str | None = None
    backwards: bool = False


def window(first: int, after: str | None, last: int | None, before: str | None) -> Window:
    """The page a connection's arguments ask for: forwards with ``first``/``after``, or
    backwards as soon as ``last`` or ``before`` is given (``last`` defaulting to ``first``)."""
    if last is None and before is None:
        return Window(page_size(first), after=after)
    if after is not None:
        raise bad_input("after", "Page forwards (first, after) or backwards (last, before).")
    size = page_size(last if last is not None else first, "last")
    return Window(size, before=before, backwards=True)


@dataclass(frozen=True)
class Page(Generic[T]):
    rows: list[T]
    has_next: bool
    total: int
    has_previous: bool = False


async def newest_first_page(
    session: AsyncSession,
    model: type[M],
    conditions: Sequence[ColumnElement[bool]],
    *,
    first: int,
    after: str | None,
    plain: bool = False,
    backwards: Window | None = None,
) -> Page[M]:
    """One keyset page of ``model`` rows matching ``conditions``, newest first by
    (created_at, id), with the total count of matching rows: the ``first`` after ``after``,
    or the ``backwards`` window (``last`` before ``before``), still newest first. ``plain``:
    read-only plain rows (``batching.plain_rows``), the count read in the same round trip."""
    created: InstrumentedAttribute[datetime] = model.created_at  # type: ignore[attr-defined]
    row_id: InstrumentedAttribute[uuid.UUID] = model.id  # type: ignore[attr-defined]
    count = select(func.count()).select_from(model).where(*conditions)
    where = list(conditions)
    size, cursor = (backwards.size, backwards.before) if backwards else (first, after)
    if backwards is None and after is not None:
        where.append(after_cursor(created, row_id, after))
    elif backwards is not None and backwards.before is not None:
        where.append(before_cursor(created, row_id, backwards.before))
    order = (created.asc(), row_id.asc()) if backwards else (created.desc(), row_id.desc())
    if not plain:
        total = await session.scalar(count)
        found = list(
            await session.scalars(select(model).where(*where).order_by(*order).limit(size + 1))
        )
    else:
        statement = plain_select(model).add_columns(count.scalar_subquery().label("page_total"))
        found = await plain_rows(
            session, model, statement.where(*where).order_by(*order).limit(size + 1)
        )
        if found:
            total = found[0].page_total  # type: ignore[attr-defined]
        else:  # no row to carry the count: past the last page, or nothing matches at all
            total = await session.scalar(count) if cursor is not None else 0
    more, rows = len(found) > size, found[:size]
    if backwards:  # read oldest first from the cursor: turned back to newest first
        rows.reverse()
        return Page(rows, has_next=cursor is not None, total=int(total or 0), has_previous=more)
    return Page(rows, has_next=more, total=int(total or 0), has_previous=cursor is not None)
