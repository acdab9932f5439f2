"""Reading chat messages: in batches (the live layer reads each posted message once) and a
thread's history a page at a time."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, literal, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from spirit_tours.persistence.events import ChatMessage
from spirit_tours.persistence.repositories.pagination import decode_cursor


async def messages_by_ids(
    session: AsyncSession, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, ChatMessage]:
    rows = await session.scalars(select(ChatMessage).where(ChatMessage.id.in_(ids)))
    return {row.id: row for row in rows}


@dataclass(frozen=True)
class ThreadPage:
    """Messages of one thread, oldest first, and whether any come before or after them."""

    rows: list[ChatMessage]
    has_previous: bool
    has_next: bool
    total: int


async def thread_page(
    session: AsyncSession,
    quotation_id: uuid.UUID,
    thread: str,
    hotel_company_id: uuid.UUID | None,
    *,
    size: int,
    forwards: bool,
    cursor: str | None,
) -> ThreadPage:
    """A page of a thread in (created_at, id) order: forwards, the ``size`` messages after
    ``cursor`` (none: from the first); backwards, the ``size`` messages before ``cursor``
    (none: the latest), which is how a chat reads its history. Oldest first either way."""
    conditions = [ChatMessage.quotation_id == quotation_id, ChatMessage.thread == thread]
    if hotel_company_id is not None:
        conditions.append(ChatMessage.hotel_company_id == hotel_company_id)
    key = tuple_(ChatMessage.created_at, ChatMessage.id)
    where = list(conditions)
    if cursor is not None:
        at, message_id = decode_cursor(cursor, "after" if forwards else "before")
        bound = tuple_(literal(at), literal(message_id))
        where.append(key > bound if forwards else key < bound)
    order = (
        (ChatMessage.created_at, ChatMessage.id)
        if forwards
        else (ChatMessage.created_at.desc(), ChatMessage.id.desc())
    )
    found = list(
        await session.scalars(select(ChatMessage).where(*where).order_by(*order).limit(size + 1))
    )
    total = await session.scalar(select(func.count()).select_from(ChatMessage).where(*conditions))
    more = len(found) > size
    rows = found[:size]
    if forwards:
        return ThreadPage(
            rows, has_previous=cursor is not None, has_next=more, total=int(total or 0)
        )
    return ThreadPage(
        list(reversed(rows)), has_previous=more, has_next=cursor is not None, total=int(total or 0)
    )
