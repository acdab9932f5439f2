"""The bulk writer: a run's rows, table by table, in chunks of multi-row executemany inserts.

SQLAlchemy Core inserts on the session's connection (one transaction for the whole run), so
the column types still apply: the encrypted payment columns are sealed by their
``TypeDecorator`` (``persistence.encryption``) under the engine's keyring, enums and JSONB are
bound as the ORM would. ``quotations.selected_offer_id`` points at ``hotel_offers``, which
point back at quotations: quotations go in without it and are pointed at their offer after.
Nothing here touches the outbox, the e-mail tables, notifications or payment reminders.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, bindparam, insert, update
from sqlalchemy.ext.asyncio import AsyncSession

from spirit_tours.dev.history.simulation import Rows
from spirit_tours.persistence.bookings import Booking, BookingHotel, BookingRefund
from spirit_tours.persistence.events import AuditEntry
from spirit_tours.persistence.payments import Payment, PaymentRefund
from spirit_tours.persistence.quotations import (
    HotelInvitation,
    HotelOffer,
    OfferRevision,
    Quotation,
)

CHUNK = 2000


def _table(model: type[Any]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


async def _insert(session: AsyncSession, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    connection = await session.connection()
    for start in range(0, len(rows), CHUNK):
        await connection.execute(insert(table), list(rows[start : start + CHUNK]))


async def write_rows(session: AsyncSession, rows: Rows) -> dict[str, int]:
    """Insert every row; the count written per table."""
    selected = [
        {"quotation": row["id"], "offer": row["selected_offer_id"]}
        for row in rows.quotations
        if row["selected_offer_id"] is not None
    ]
    quotations = [{**row, "selected_offer_id": None} for row in rows.quotations]
    plan: list[tuple[type[Any], list[dict[str, Any]]]] = [
        (Quotation, quotations),
        (HotelInvitation, rows.invitations),
        (HotelOffer, rows.offers),
        (OfferRevision, rows.revisions),
    ]
    counts: dict[str, int] = {}
    for model, table_rows in plan:
        await _insert(session, _table(model), table_rows)
        counts[_table(model).name] = len(table_rows)
    if selected:
        quotation = _table(Quotation)
        statement = (
            update(quotation)
            .where(quotation.c.id == bindparam("quotation"))
            .values(selected_offer_id=bindparam("offer"))
        )
        connection = await session.connection()
        for start in range(0, len(selected), CHUNK):
            await connection.execute(statement, selected[start : start + CHUNK])
    for model, table_rows in (
        (Booking, rows.bookings),
        (BookingHotel, rows.booking_hotels),
        (Payment, rows.payments),
        (BookingRefund, rows.booking_refunds),
        (PaymentRefund, rows.payment_refunds),
        (AuditEntry, rows.audit),
    ):
        await _insert(session, _table(model), table_rows)
        counts[_table(model).name] = len(table_rows)
    return counts
