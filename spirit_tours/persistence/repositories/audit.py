"""Reading the audit log, newest first."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from spirit_tours.persistence.events import AuditEntry
from spirit_tours.persistence.repositories.pagination import after_cursor


@dataclass(frozen=True)
class AuditPage:
    rows: list[AuditEntry]
    has_next: bool


async def audit_page(
    session: AsyncSession,
    *,
    first: int,
    after: str | None,
    object_id: uuid.UUID | None,
    actor_id: uuid.UUID | None,
    action: str | None,
) -> AuditPage:
    conditions = []
    if object_id is not None:
        conditions.append(AuditEntry.object_id == object_id)
    if actor_id is not None:
        conditions.append(AuditEntry.actor_id == actor_id)
    if action:
        conditions.append(AuditEntry.action == action)
    if after is not None:
        conditions.append(after_cursor(AuditEntry.at, AuditEntry.id, after))
    rows = list(
        await session.scalars(
            select(AuditEntry)
            .where(*conditions)
            .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
            .limit(first + 1)
        )
    )
    return AuditPage(rows=rows[:first], has_next=len(rows) > first)
