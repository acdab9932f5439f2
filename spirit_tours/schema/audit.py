"""The audit log (ADMIN only)."""

from __future__ import annotations

from datetime import datetime
from typing import cast

import strawberry
from strawberry.scalars import JSON

from spirit_tours.context import Context
from spirit_tours.core.enums import Role
from spirit_tours.permissions.classes import IsAdmin
from spirit_tours.persistence.events import AuditEntry as AuditRow
from spirit_tours.persistence.repositories.audit import audit_page
from spirit_tours.persistence.repositories.pagination import encode_cursor, page_size
from spirit_tours.schema import enums  # noqa: F401 - registers the GraphQL enums
from spirit_tours.schema.common import PageInfo, forward_page
from spirit_tours.schema.ids import parse_id


@strawberry.type(description="Who did what to which object, and when.")
class AuditEntry:
    id: strawberry.ID
    at: datetime
    actor_id: strawberry.ID | None
    actor_role: Role | None
    action: str
    object_type: str
    object_id: strawberry.ID | None
    details: JSON

    @classmethod
    def from_model(cls, row: AuditRow) -> AuditEntry:
        return cls(
            id=strawberry.ID(str(row.id)),
            at=row.at,
            actor_id=strawberry.ID(str(row.actor_id)) if row.actor_id else None,
            actor_role=row.actor_role,
            action=row.action,
            object_type=row.object_type,
            object_id=strawberry.ID(str(row.object_id)) if row.object_id else None,
            details=cast(JSON, row.details),
        )


@strawberry.type
class AuditEdge:
    cursor: str
    node: AuditEntry


@strawberry.type
class AuditConnection:
    edges: list[AuditEdge]
    page_info: PageInfo

    @strawberry.field(description="The edges' nodes, for a client that needs no cursor.")
    def nodes(self) -> list[AuditEntry]:
        return [edge.node for edge in self.edges]


@strawberry.input
class AuditFilter:
    object_id: strawberry.ID | None = None
    actor_id: strawberry.ID | None = None
    action: str | None = None


@strawberry.type
class AuditQueries:
    @strawberry.field(permission_classes=[IsAdmin], description="ADMIN only; newest first.")
    async def audit_log(
        self,
        info: strawberry.Info[Context, None],
        filter: AuditFilter | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> AuditConnection:
        given = filter or AuditFilter()
        async with info.context.session() as session:
            page = await audit_page(
                session,
                first=page_size(first),
                after=after,
                object_id=parse_id(given.object_id, "objectId") if given.object_id else None,
                actor_id=parse_id(given.actor_id, "actorId") if given.actor_id else None,
                action=given.action,
            )
        edges = [
            AuditEdge(cursor=encode_cursor(row.at, row.id), node=AuditEntry.from_model(row))
            for row in page.rows
        ]
        return AuditConnection(
            edges=edges,
            page_info=forward_page(
                [edge.cursor for edge in edges], has_next=page.has_next, after=after
            ),
        )
