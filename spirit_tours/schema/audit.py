"""The audit log (ADMIN only)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, cast

import strawberry
from strawberry.scalars import JSON

from spirit_tours.context import Context
from spirit_tours.core.enums import Role
from spirit_tours.permissions.classes import IsAdmin
from spirit_tours.persistence.events import AuditEntry as AuditRow
from spirit_tours.persistence.repositories.audit import audit_page
from spirit_tours.persistence.repositories.pagination import encode_cursor, page_size
from spirit_tours.schema import enums  # noqa: F401 - registers the GraphQL enums
from spirit_tours.schema.common import AFTER, PageInfo, forward_page
from spirit_tours.schema.ids import parse_id


@strawberry.type(description="Who did what to which object, and when.")
class AuditEntry:
    id: strawberry.ID = strawberry.field(description="Stable identifier, a UUID.")
    at: datetime = strawberry.field(description="When it happened (ISO 8601, UTC).")
    actor_id: strawberry.ID | None = strawberry.field(
        description="The user who acted; null for the system (jobs, webhooks)."
    )
    actor_role: Role | None = strawberry.field(
        description="The actor's role at the time; null for the system."
    )
    action: str = strawberry.field(description='What was done, e.g. "quotation.propose".')
    object_type: str = strawberry.field(description='The kind of object, e.g. "Quotation".')
    object_id: strawberry.ID | None = strawberry.field(
        description="The object's id; null when the action concerns no single object."
    )
    details: JSON = strawberry.field(
        description="What the action recorded (prices, reasons, messages…), a JSON object."
    )

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


@strawberry.type(description="One audit entry of a page, with its cursor.")
class AuditEdge:
    cursor: str = strawberry.field(
        description="Opaque cursor of this entry; pass it as `after` to read on from it."
    )
    node: AuditEntry = strawberry.field(description="The audit entry.")


@strawberry.type(description="A page of the audit log, newest first.")
class AuditConnection:
    edges: list[AuditEdge] = strawberry.field(description="The entries of this page, newest first.")
    page_info: PageInfo = strawberry.field(description="Whether and how to read the next page.")

    @strawberry.field(description="The edges' nodes, for a client that needs no cursor.")
    def nodes(self) -> list[AuditEntry]:
        return [edge.node for edge in self.edges]


@strawberry.input(description="Narrows the audit log; every condition given must hold.")
class AuditFilter:
    object_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only entries about this object."
    )
    actor_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only entries of this user's actions."
    )
    action: str | None = strawberry.field(
        default=None, description='Only this action, exactly, e.g. "quotation.propose".'
    )


@strawberry.type
class AuditQueries:
    @strawberry.field(
        permission_classes=[IsAdmin], description="Who did what, newest first (ADMIN only)."
    )
    async def audit_log(
        self,
        info: strawberry.Info[Context, None],
        filter: Annotated[
            AuditFilter | None,
            strawberry.argument(description="Only the entries matching it; null: all."),
        ] = None,
        first: Annotated[
            int, strawberry.argument(description="Page size, 1 to 100; default 50.")
        ] = 50,
        after: Annotated[str | None, AFTER] = None,
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
