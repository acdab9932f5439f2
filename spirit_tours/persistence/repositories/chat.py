"""Reading chat messages in batches (the live layer reads each posted message once)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from spirit_tours.persistence.events import ChatMessage


async def messages_by_ids(
    session: AsyncSession, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, ChatMessage]:
    rows = await session.scalars(select(ChatMessage).where(ChatMessage.id.in_(ids)))
    return {row.id: row for row in rows}
