"""Turning a delivery into the event one viewer may see (or None: not for them).

Everything is read through the context's DataLoaders; the fan-out gives every rendering of a
burst the same loaders, so each row is read once per process whatever the number of groups.
Whether an event reaches a viewer at all is decided by ``permissions.live`` and
``permissions.chat`` (docs/privacy.md §2.3 to §2.5); its fields by the types' permission
classes, as in queries.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any, cast

import strawberry

from spirit_tours.context import Context
from spirit_tours.core.enums import EventKind, NotificationKind
from spirit_tours.permissions.chat import Thread, thread_includes
from spirit_tours.permissions.live import (
    OfferNews,
    offer_news,
    revision_changes_rank,
    sees_event_about_hotels,
    sees_presence,
)
from spirit_tours.permissions.payments import sees_payment
from spirit_tours.permissions.quotations import Relation
from spirit_tours.permissions.viewer import Viewer
from spirit_tours.persistence.events import Notification as NotificationRow
from spirit_tours.realtime import rooms
from spirit_tours.realtime.hub import Signal, StoredEvent, encode_cursor
from spirit_tours.schema.bookings.types import booking_for_viewer
from spirit_tours.schema.chat import ChatMessage, load_participant
from spirit_tours.schema.live_types import (
    AnnouncementPosted,
    BookingChanged,
    LiveEvent,
    MessagePosted,
    Notification,
    OfferChanged,
    PaymentChanged,
    PresenceChanged,
    QuotationChanged,
    TypingChanged,
)
from spirit_tours.schema.payments.types import Payment
from spirit_tours.schema.quotations.types import Offer, Quotation

Info = strawberry.Info[Context, None]


class _ContextInfo:
    """The part of ``Info`` the loaders' helpers read (``info.context``), for building
    events outside a field resolver."""

    def __init__(self, context: Context) -> None:
        self.context = context


class EventView:
    """Events as ``context``'s viewer may see them; ``position`` is the resume cursor."""

    def __init__(self, context: Context, position: int) -> None:
        self.context = context
        self.info = cast(Info, _ContextInfo(context))
        self.viewer: Viewer = context.require_viewer()
        self.position = position

    @property
    def cursor(self) -> str:
        return encode_cursor(self.position)

    async def quotation(self, quotation_id: uuid.UUID) -> Quotation | None:
        loaders = self.context.loaders
        row = await loaders.quotation.load(quotation_id)
        if row is None:
            return None
        return Quotation.for_viewer(row, self.viewer, await loaders.invitations.load(row.id))

    async def stored(self, event: StoredEvent) -> LiveEvent | None:
        if event.aggregate_type == "Quotation":
            return await self._quotation_event(event)
        if event.aggregate_type == "Booking":
            row = await self.context.loaders.booking.load(event.aggregate_id)
            booking = await booking_for_viewer(self.info, row) if row else None
            if booking is None:
                return None
            return BookingChanged(cursor=self.cursor, occurred_at=event.occurred_at,
                                  kind=EventKind(event.kind), booking=booking)  # fmt: skip
        if event.aggregate_type == "Payment":
            return await self._payment_event(event)
        if event.aggregate_type == "Announcement":
            return AnnouncementPosted(cursor=self.cursor, occurred_at=event.occurred_at,
                                      title=str(event.payload.get("title", "")),
                                      body=str(event.payload.get("body", "")))  # fmt: skip
        return None

    async def _quotation_event(self, event: StoredEvent) -> LiveEvent | None:
        quotation = await self.quotation(event.aggregate_id)
        if quotation is None:
            return None
        common: dict[str, Any] = {"cursor": self.cursor, "occurred_at": event.occurred_at}
        if event.kind.startswith("offer."):
            offer_id = uuid.UUID(event.payload["offer_id"])
            rows = await self.context.loaders.offers.load(quotation.row.id)
            offer = next((row for row in rows if row.id == offer_id), None)
            if offer is None:
                return None
            news = offer_news(quotation.scope, offer, event.kind)
            if news == OfferNews.OFFER:
                built = Offer.build(offer, quotation.scope, quotation.alias_of(offer.hotel_id))
                return OfferChanged(
                    **common, kind=EventKind(event.kind), offer=built, quotation=quotation
                )
            if news == OfferNews.NOTHING:
                return None  # HIDDEN: competitors learn nothing of each other's bids
            if news == OfferNews.COMPETITION_IF_RANK_MOVES and not await self._moves_rank(
                quotation, event
            ):
                return None  # RANK_ONLY: the offer count is unchanged, and so is the rank
            return QuotationChanged(
                **common, kind=EventKind.COMPETITION_CHANGED, quotation=quotation
            )
        if event.kind == "message.posted":
            message = await self.context.loaders.message.load(
                uuid.UUID(event.payload["message_id"])
            )
            if message is None:
                return None
            thread = Thread(message.thread, message.hotel_company_id)
            if not thread_includes(thread, quotation.scope.relation, self.viewer.company_id):
                return None
            return MessagePosted(**common, message=ChatMessage.from_model(message))
        if not await self._sees_invitations(quotation, rooms.hotels_named(event.payload)):
            return None  # another hotel invited, declining or removed: a competitor's business
        return QuotationChanged(**common, kind=EventKind(event.kind), quotation=quotation)

    async def _moves_rank(self, quotation: Quotation, event: StoredEvent) -> bool:
        previous, current = event.payload.get("previous_net_price"), event.payload.get("net_price")
        if previous is None or current is None:  # stored before revisions carried their prices
            return revision_changes_rank([], None, None)
        rows = await self.context.loaders.offers.load(quotation.row.id)
        mine = [row for row in rows if quotation.scope.owns(row)]
        return revision_changes_rank(mine, Decimal(previous), Decimal(current))

    async def _sees_invitations(self, quotation: Quotation, hotel_ids: list[uuid.UUID]) -> bool:
        """Whether the viewer may learn of the invitation of one of these hotels (true for an
        event about no hotel in particular)."""
        if not hotel_ids:
            return sees_event_about_hotels(quotation.scope, [])
        hotels = await self.context.loaders.hotel.load_many(hotel_ids)
        companies = [hotel.company_id if hotel is not None else None for hotel in hotels]
        return sees_event_about_hotels(quotation.scope, companies)

    async def _payment_event(self, event: StoredEvent) -> LiveEvent | None:
        row = await self.context.loaders.payment.load(event.aggregate_id)
        booking = await self.context.loaders.booking.load(row.booking_id) if row else None
        if row is None or booking is None or not sees_payment(self.viewer, booking):
            return None
        return PaymentChanged(cursor=self.cursor, occurred_at=event.occurred_at,
                              kind=EventKind(event.kind),
                              payment=Payment.build(self.info, row))  # fmt: skip

    async def signal(self, signal: Signal, relation: Relation) -> LiveEvent | None:
        data = signal.data
        user_id = uuid.UUID(data["user_id"])
        if user_id == self.viewer.user_id:
            return None
        if signal.kind == "presence":
            if not sees_presence(relation, data.get("role")):
                return None  # a hotel or an owner sees operator staff only
            participant = await load_participant(self.info, user_id)
            if participant is None:
                return None
            online = bool(data["online"])
            return PresenceChanged(cursor=self.cursor, occurred_at=signal.occurred_at,
                                   participant=participant, online=online)  # fmt: skip
        if signal.kind == "typing":
            company = data.get("hotel_company_id")
            thread = Thread(str(data["thread"]), uuid.UUID(company) if company else None)
            if not thread_includes(thread, relation, self.viewer.company_id):
                return None
            participant = await load_participant(self.info, user_id)
            if participant is None:
                return None
            return TypingChanged(cursor=self.cursor, occurred_at=signal.occurred_at,
                                 participant=participant, typing=bool(data["typing"]))  # fmt: skip
        return None

    async def notification(self, row: NotificationRow) -> Notification:
        quotation = booking = payment = None
        if row.aggregate_type == "Quotation":
            quotation = await self.quotation(row.aggregate_id)
        elif row.aggregate_type == "Booking":
            found = await self.context.loaders.booking.load(row.aggregate_id)
            booking = await booking_for_viewer(self.info, found) if found else None
        elif row.aggregate_type == "Payment":
            paid = await self.context.loaders.payment.load(row.aggregate_id)
            if paid is not None:
                payment = Payment.build(self.info, paid)
        return Notification(id=strawberry.ID(str(row.id)), kind=NotificationKind(row.kind),
                            occurred_at=row.created_at, quotation=quotation, booking=booking,
                            payment=payment)  # fmt: skip
