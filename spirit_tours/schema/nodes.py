"""``node(id:)`` and ``nodes(ids:)``: any object with an identity, by its id (the Relay and
GitHub convention), so a client refetches or normalises what it holds without knowing which
typed lookup to call.

Ids stay plain UUIDs, unique across tables: one statement over every candidate table finds
which type holds each id (``loaders.node_kind``), then each type's own lookup — the one its
typed root field uses, or the rule guarding the field that leads to it — decides what the
viewer sees. An object the viewer may not see is exactly an unknown id: null (with NOT_FOUND
for ``node``), and its fields keep the price-privacy of every other path.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Annotated

import strawberry

from spirit_tours.context import Context
from spirit_tours.core.errors import bad_input, not_found
from spirit_tours.permissions.accounts import (
    sees_company,
    sees_user,
    sees_vehicle,
    visible_hotels,
)
from spirit_tours.permissions.chat import Thread, thread_includes
from spirit_tours.permissions.classes import IsAuthenticated
from spirit_tours.permissions.staffing import is_self_or_operator
from spirit_tours.persistence.accounts import Hotel as HotelRow
from spirit_tours.persistence.repositories.nodes import visible_ids
from spirit_tours.schema.accounts.types import Company, Hotel, User
from spirit_tours.schema.bookings.queries import find_booking
from spirit_tours.schema.chat import ChatMessage
from spirit_tours.schema.common import Node
from spirit_tours.schema.ids import parse_id
from spirit_tours.schema.payments.queries import find_payment
from spirit_tours.schema.quotations.queries import (
    find_invitation,
    find_offer,
    find_quotation,
    visible_quotation,
)
from spirit_tours.schema.staffing.types import Vehicle, load_guide

Info = strawberry.Info[Context, None]
Finder = Callable[[Info, uuid.UUID], Awaitable[Node | None]]

MAX_NODES = 100
"""``nodes(ids:)`` answers at most this many ids per call (a page's worth)."""


async def _guide(info: Info, guide_id: uuid.UUID) -> Node | None:
    if not is_self_or_operator(info.context.require_viewer(), guide_id):
        return None
    return await load_guide(info, guide_id)


async def _user(info: Info, user_id: uuid.UUID) -> Node | None:
    if not sees_user(info.context.require_viewer(), user_id):
        return None
    row = await info.context.loaders.user.load(user_id)
    return User.from_model(row) if row else None


async def _company(info: Info, company_id: uuid.UUID) -> Node | None:
    if not sees_company(info.context.require_viewer(), company_id):
        return None
    row = await info.context.loaders.company.load(company_id)
    return Company.from_model(row) if row else None


async def _vehicle(info: Info, vehicle_id: uuid.UUID) -> Node | None:
    if not sees_vehicle(info.context.require_viewer()):
        return None
    row = await info.context.loaders.vehicle.load(vehicle_id)
    return Vehicle.from_model(row) if row else None


async def _message(info: Info, message_id: uuid.UUID) -> Node | None:
    """A chat message for its thread's participants and ADMIN only (docs/privacy.md §2.5)."""
    row = await info.context.loaders.message.load(message_id)
    quotation = await visible_quotation(info, row.quotation_id) if row else None
    if row is None or quotation is None:
        return None
    viewer = info.context.require_viewer()
    thread = Thread(row.thread, row.hotel_company_id)
    if not thread_includes(thread, quotation.scope.relation, viewer.company_id):
        return None
    return ChatMessage.from_model(row)


FINDERS: dict[str, Finder] = {
    "Quotation": find_quotation,
    "Offer": find_offer,
    "Invitation": find_invitation,
    "Booking": find_booking,
    "Payment": find_payment,
    "ChatMessage": _message,
    "Guide": _guide,
    "User": _user,
    "Company": _company,
    "Vehicle": _vehicle,
}
"""Each type's lookup by id (``Hotel`` is checked in SQL, below)."""


async def _hotels(info: Info, ids: list[uuid.UUID]) -> dict[uuid.UUID, Node]:
    """The hotels the viewer may see (``visible_hotels``), in one statement."""
    viewer = info.context.require_viewer()
    async with info.context.loaders.reads.session() as session:
        shown = await visible_ids(session, HotelRow.id, ids, visible_hotels(viewer))
    rows = await info.context.loaders.hotel.load_many([i for i in ids if i in shown])
    return {row.id: Hotel.from_model(row) for row in rows if row is not None}


async def resolve_nodes(info: Info, ids: Sequence[uuid.UUID]) -> list[Node | None]:
    """Each id's object as the viewer may see it, or None, in the order asked. Each distinct
    id is looked up once (a lookup may write: a hotel opening a quotation marks its invitation
    VIEWED, in a transaction of its own), and the lookups run together, so the DataLoaders
    batch them: a round trip per type, not per id."""
    distinct = list(dict.fromkeys(ids))
    kinds = await info.context.loaders.node_kind.load_many(distinct)
    hotel_ids = [i for i, kind in zip(distinct, kinds, strict=True) if kind == "Hotel"]
    hotels = await _hotels(info, hotel_ids) if hotel_ids else {}
    found = await asyncio.gather(
        *(
            FINDERS[kind](info, i) if kind in FINDERS else _nothing()
            for i, kind in zip(distinct, kinds, strict=True)
        )
    )
    nodes = {
        i: hotels.get(i) if kind == "Hotel" else node
        for i, kind, node in zip(distinct, kinds, found, strict=True)
    }
    return [nodes[i] for i in ids]


async def _nothing() -> None:
    return None


@strawberry.type
class NodeQueries:
    @strawberry.field(
        permission_classes=[IsAuthenticated],
        description=(
            "Any object with an identity, by its id; null, with a NOT_FOUND error, when no "
            "object has that id or the viewer may not see it (the same answer for both)."
        ),
    )
    async def node(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="Any `Node`'s id.")],
    ) -> Node | None:
        (node,) = await resolve_nodes(info, [parse_id(id, "id")])
        if node is None:
            raise not_found("Node")
        return node

    @strawberry.field(
        permission_classes=[IsAuthenticated],
        description=(
            f"Up to {MAX_NODES} objects by id, in the order asked: null in place of an id "
            "that no object has or the viewer may not see."
        ),
    )
    async def nodes(
        self,
        info: Info,
        ids: Annotated[
            list[strawberry.ID],
            strawberry.argument(description=f"At most {MAX_NODES} ids; the same id may repeat."),
        ],
    ) -> list[Node | None]:
        if len(ids) > MAX_NODES:
            raise bad_input("ids", f"Ask for at most {MAX_NODES} ids at once.")
        return await resolve_nodes(info, [parse_id(value, "ids") for value in ids])
