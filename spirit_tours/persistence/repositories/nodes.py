"""Which table holds an id: ``node(id:)`` answers any object by its UUID, so it first learns
the id's type, for a whole batch of ids in one statement over every candidate table."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import ColumnElement, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from spirit_tours.persistence.accounts import Company, Hotel, User
from spirit_tours.persistence.bookings import Booking
from spirit_tours.persistence.events import ChatMessage
from spirit_tours.persistence.payments import Payment
from spirit_tours.persistence.quotations import HotelInvitation, HotelOffer, Quotation
from spirit_tours.persistence.staffing import Guide, Vehicle

#: GraphQL type name → the primary key column of the table its objects live in. A guide's id
#: is its user's id, so a guide's UUID is found twice: the earlier entry wins (``Guide``, the
#: more specific type, before ``User``). Every other id is a fresh UUID of one table.
NODE_TABLES: dict[str, InstrumentedAttribute[uuid.UUID]] = {
    "Quotation": Quotation.id,
    "Offer": HotelOffer.id,
    "Invitation": HotelInvitation.id,
    "Booking": Booking.id,
    "Payment": Payment.id,
    "ChatMessage": ChatMessage.id,
    "Guide": Guide.user_id,
    "User": User.id,
    "Company": Company.id,
    "Hotel": Hotel.id,
    "Vehicle": Vehicle.id,
}
_PRIORITY = {name: index for index, name in enumerate(NODE_TABLES)}


async def kinds_by_ids(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
    """The GraphQL type name of each id found in any table (ids found nowhere are left out):
    one ``UNION ALL`` statement, each branch an index lookup on a primary key."""
    branches = [
        select(literal(name).label("kind"), column.label("id")).where(column.in_(ids))
        for name, column in NODE_TABLES.items()
    ]
    rows = (await session.execute(union_all(*branches))).all()
    found: dict[uuid.UUID, str] = {}
    for kind, row_id in sorted(rows, key=lambda row: _PRIORITY[row.kind]):
        found.setdefault(row_id, kind)
    return found


async def visible_ids(
    session: AsyncSession,
    column: InstrumentedAttribute[uuid.UUID],
    ids: Sequence[uuid.UUID],
    visible: ColumnElement[bool],
) -> set[uuid.UUID]:
    """Those of ``ids`` whose row meets the viewer's rule ``visible`` (a permissions
    condition over the same table)."""
    return set(await session.scalars(select(column).where(column.in_(ids), visible)))
