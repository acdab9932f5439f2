"""Subscriptions: one per kind of room, plus the viewer's inbox.

Every event is resolved for its subscriber through the same types, hence the same field
permission classes, as queries; whether an event reaches a subscriber at all is decided by
``permissions.live`` and ``permissions.chat`` (docs/privacy.md §2.3 to §2.5): a competing
hotel never receives another hotel's price, identity, message or presence. Stored events carry
a ``cursor``; pass the last one as ``after`` within 60 s of disconnecting to receive what you
missed, exactly once, then live events.

Their database work goes through ``services.live_limits``: a start (and its replay) waits a
bounded time for its turn, each event's resolution waits its turn, so subscriptions never hold
more than their share of the pool whatever their number.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

import strawberry

from spirit_tours.context import Context
from spirit_tours.core.errors import not_found
from spirit_tours.permissions.chat import Thread, thread_includes
from spirit_tours.permissions.classes import IsAuthenticated
from spirit_tours.permissions.live import (
    OfferNews,
    OwnRoom,
    enters_quotation_room,
    offer_news,
    own_room,
    revision_changes_rank,
    sees_event_about_hotels,
    sees_presence,
    watches_hotel,
)
from spirit_tours.permissions.payments import sees_payment
from spirit_tours.permissions.quotations import Relation
from spirit_tours.permissions.viewer import Viewer
from spirit_tours.persistence.events import ChatMessage as MessageRow
from spirit_tours.persistence.events import Notification as NotificationRow
from spirit_tours.persistence.payments import Payment as PaymentRow
from spirit_tours.persistence.quotations import HotelOffer
from spirit_tours.realtime import rooms
from spirit_tours.realtime.hub import Delivery, Signal, StoredEvent, decode_cursor, encode_cursor
from spirit_tours.resolvers.quotations.rules import load_for
from spirit_tours.schema.bookings.types import Booking, booking_for_viewer
from spirit_tours.schema.chat import ChatMessage, Participant, load_participant, unacknowledged
from spirit_tours.schema.ids import parse_id
from spirit_tours.schema.mail.subscriptions import EmailSubscriptions
from spirit_tours.schema.payments.types import Payment
from spirit_tours.schema.quotations.types import Offer, Quotation

Info = strawberry.Info[Context, None]


@strawberry.type(description="The quotation changed (status, proposal, competition, …).")
class QuotationChanged:
    cursor: str
    occurred_at: datetime
    kind: str = strawberry.field(description='The domain event, e.g. "quotation.proposed".')
    quotation: Quotation


@strawberry.type(description="An offer was submitted, revised or withdrawn.")
class OfferChanged:
    cursor: str
    occurred_at: datetime
    kind: str
    offer: Offer
    quotation: Quotation


@strawberry.type
class MessagePosted:
    cursor: str
    occurred_at: datetime
    message: ChatMessage


@strawberry.type(description="Live only: someone in your thread is (no longer) typing.")
class TypingChanged:
    cursor: str
    occurred_at: datetime
    participant: Participant
    typing: bool


@strawberry.type(description="Live only: someone joined or left the room.")
class PresenceChanged:
    cursor: str
    occurred_at: datetime
    participant: Participant
    online: bool


@strawberry.type
class BookingChanged:
    cursor: str
    occurred_at: datetime
    kind: str
    booking: Booking


@strawberry.type
class PaymentChanged:
    cursor: str
    occurred_at: datetime
    kind: str
    payment: Payment


@strawberry.type
class AnnouncementPosted:
    cursor: str
    occurred_at: datetime
    title: str
    body: str


@strawberry.type(description="An inbox entry; acknowledge it to remove it.")
class Notification:
    id: strawberry.ID
    kind: str
    occurred_at: datetime
    quotation: Quotation | None
    booking: Booking | None
    payment: Payment | None


QuotationRoomEvent = Annotated[
    QuotationChanged | OfferChanged | MessagePosted | TypingChanged | PresenceChanged,
    strawberry.union("QuotationRoomEvent"),
]
CompanyRoomEvent = Annotated[
    QuotationChanged | OfferChanged | BookingChanged | PaymentChanged,
    strawberry.union("CompanyRoomEvent"),
]
LiveEvent = (
    QuotationChanged | OfferChanged | MessagePosted | TypingChanged | PresenceChanged
    | BookingChanged | PaymentChanged | AnnouncementPosted
)  # fmt: skip


class Resolver:
    """Turns deliveries into events as one subscriber may see them (or None: not for them)."""

    def __init__(self, info: Info, after: str | None = None) -> None:
        self.info = info
        self.viewer: Viewer = info.context.require_viewer()
        # Ephemeral events carry the cursor of the last stored one: where to resume.
        hub = info.context.services.hub
        self.position = decode_cursor(after) if after is not None else hub.position

    @property
    def cursor(self) -> str:
        return encode_cursor(self.position)

    async def quotation(self, quotation_id: uuid.UUID) -> Quotation | None:
        loaders = self.info.context.loaders
        row = await loaders.quotation.load(quotation_id)
        if row is None:
            return None
        return Quotation.for_viewer(row, self.viewer, await loaders.invitations.load(row.id))

    async def stored(self, event: StoredEvent, *, fresh: bool = True) -> LiveEvent | None:
        if fresh:
            self.info.context.refresh_loaders()  # resolve against current data
        self.position = event.position
        if event.aggregate_type == "Quotation":
            return await self._quotation_event(event)
        if event.aggregate_type == "Booking":
            row = await self.info.context.loaders.booking.load(event.aggregate_id)
            booking = await booking_for_viewer(self.info, row) if row else None
            if booking is None:
                return None
            return BookingChanged(cursor=self.cursor, occurred_at=event.occurred_at,
                                  kind=event.kind, booking=booking)  # fmt: skip
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
            async with self.info.context.session() as session:
                offer = await session.get(HotelOffer, uuid.UUID(event.payload["offer_id"]))
            if offer is None:
                return None
            news = offer_news(quotation.scope, offer, event.kind)
            if news == OfferNews.OFFER:
                built = Offer.build(offer, quotation.scope, quotation.alias_of(offer.hotel_id))
                return OfferChanged(**common, kind=event.kind, offer=built, quotation=quotation)
            if news == OfferNews.NOTHING:
                return None  # HIDDEN: competitors learn nothing of each other's bids
            if news == OfferNews.COMPETITION_IF_RANK_MOVES and not await self._moves_rank(
                quotation, event
            ):
                return None  # RANK_ONLY: the offer count is unchanged, and so is the rank
            return QuotationChanged(**common, kind="competition.changed", quotation=quotation)
        if event.kind == "message.posted":
            async with self.info.context.session() as session:
                message = await session.get(MessageRow, uuid.UUID(event.payload["message_id"]))
            thread = Thread(message.thread, message.hotel_company_id) if message else None
            if message is None or thread is None:
                return None
            if not thread_includes(thread, quotation.scope.relation, self.viewer.company_id):
                return None
            return MessagePosted(**common, message=ChatMessage.from_model(message))
        if not await self._sees_invitations(quotation, rooms.hotels_named(event.payload)):
            return None  # another hotel invited, declining or removed: a competitor's business
        return QuotationChanged(**common, kind=event.kind, quotation=quotation)

    async def _moves_rank(self, quotation: Quotation, event: StoredEvent) -> bool:
        previous, current = event.payload.get("previous_net_price"), event.payload.get("net_price")
        if previous is None or current is None:  # stored before revisions carried their prices
            return revision_changes_rank([], None, None)
        rows = await self.info.context.loaders.offers.load(quotation.row.id)
        mine = [row for row in rows if quotation.scope.owns(row)]
        return revision_changes_rank(mine, Decimal(previous), Decimal(current))

    async def _sees_invitations(self, quotation: Quotation, hotel_ids: list[uuid.UUID]) -> bool:
        """Whether the viewer may learn of the invitation of one of these hotels (true for an
        event about no hotel in particular)."""
        if not hotel_ids:
            return sees_event_about_hotels(quotation.scope, [])
        hotels = await self.info.context.loaders.hotel.load_many(hotel_ids)
        companies = [hotel.company_id if hotel is not None else None for hotel in hotels]
        return sees_event_about_hotels(quotation.scope, companies)

    async def _payment_event(self, event: StoredEvent) -> LiveEvent | None:
        async with self.info.context.session() as session:
            row = await session.get(PaymentRow, event.aggregate_id)
            booking = await self.info.context.loaders.booking.load(row.booking_id) if row else None
        if row is None or booking is None or not sees_payment(self.viewer, booking):
            return None
        return PaymentChanged(cursor=self.cursor, occurred_at=event.occurred_at, kind=event.kind,
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


async def _deliveries(
    info: Info, room_names: set[str], after: str | None, replay_room: str
) -> AsyncGenerator[Delivery, None]:
    """Missed events of ``replay_room`` (when resuming), then live deliveries of the rooms;
    never one twice, always in order."""
    hub = info.context.services.hub
    async with hub.listen(room_names) as listener:
        last = decode_cursor(after) if after is not None else 0
        if after is not None:
            async with info.context.services.live_limits.start():
                missed = await hub.replay(replay_room, last)
            for event in missed:
                last = event.position
                yield event
        while True:
            delivery = await listener.next()
            if isinstance(delivery, StoredEvent):
                if delivery.position <= last:
                    continue
                last = delivery.position
            yield delivery


def _company_room(viewer: Viewer) -> str:
    room = own_room(viewer)
    if room == OwnRoom.OPERATOR:
        return rooms.OPERATOR
    if room == OwnRoom.CLIENT or viewer.company_id is None:
        return rooms.client_room(viewer.user_id)
    return rooms.company_room(viewer.company_id)


@strawberry.type
class Subscription(EmailSubscriptions):
    @strawberry.subscription(
        permission_classes=[IsAuthenticated],
        description="A quotation's room: status, offers (per the price-privacy rules), your "
        "thread's messages, typing and presence.",
    )
    async def quotation_events(
        self, info: Info, quotation_id: strawberry.ID, after: str | None = None
    ) -> AsyncGenerator[QuotationRoomEvent, None]:
        viewer = info.context.require_viewer()
        quotation_id_value = parse_id(quotation_id, "quotationId")
        services = info.context.services
        limits = services.live_limits
        async with limits.start(), info.context.session() as session:
            quotation, relation = await load_for(session, viewer, quotation_id_value)
        if not enters_quotation_room(relation):
            raise not_found("Quotation")  # load_for refuses first; the rule is stated here
        room = rooms.quotation_room(quotation.id)
        resolver = Resolver(info, after)
        async with services.presence.present(room, viewer):
            async for delivery in _deliveries(info, {room}, after, room):
                async with limits.delivery():
                    if isinstance(delivery, Signal):
                        event = await resolver.signal(delivery, relation)
                    else:
                        info.context.refresh_loaders()
                        if await resolver.quotation(quotation.id) is None:
                            raise not_found("Quotation")  # no longer invited: the room closes
                        event = await resolver.stored(delivery, fresh=False)
                if event is not None:
                    yield event  # type: ignore[misc]

    @strawberry.subscription(
        permission_classes=[IsAuthenticated],
        description="Your company's room (a client's own): its quotations, offers, bookings "
        "and payments; the operator's room for ADMIN.",
    )
    async def company_events(
        self, info: Info, after: str | None = None
    ) -> AsyncGenerator[CompanyRoomEvent, None]:
        room = _company_room(info.context.require_viewer())
        async for event in _stored_events(info, room, after):
            if not isinstance(event, AnnouncementPosted | MessagePosted):
                yield event  # type: ignore[misc]

    @strawberry.subscription(
        permission_classes=[IsAuthenticated],
        description="One hotel's room (its company's staff and ADMIN): invitations, its own "
        "offers, its bookings.",
    )
    async def hotel_events(
        self, info: Info, hotel_id: strawberry.ID, after: str | None = None
    ) -> AsyncGenerator[CompanyRoomEvent, None]:
        viewer = info.context.require_viewer()
        async with info.context.services.live_limits.start():
            hotel = await info.context.loaders.hotel.load(parse_id(hotel_id, "hotelId"))
        if hotel is None or not watches_hotel(viewer, hotel.company_id):
            raise not_found("Hotel")
        async for event in _stored_events(info, rooms.hotel_room(hotel.id), after):
            if not isinstance(event, AnnouncementPosted | MessagePosted):
                yield event  # type: ignore[misc]

    @strawberry.subscription(permission_classes=[IsAuthenticated])
    async def announcements(
        self, info: Info, after: str | None = None
    ) -> AsyncGenerator[AnnouncementPosted, None]:
        async for event in _stored_events(info, rooms.ANNOUNCEMENTS, after):
            if isinstance(event, AnnouncementPosted):
                yield event

    @strawberry.subscription(
        permission_classes=[IsAuthenticated],
        description="Your inbox: the unacknowledged notifications first, then new ones.",
    )
    async def notifications(self, info: Info) -> AsyncGenerator[Notification, None]:
        viewer = info.context.require_viewer()
        services = info.context.services
        resolver = Resolver(info)
        async with services.hub.listen({rooms.user_room(viewer.user_id)}) as listener:
            last = 0
            async with services.live_limits.start():
                pending = [await _notification(resolver, row)
                           for row in await unacknowledged(info, viewer.user_id)]  # fmt: skip
            for notification in pending:
                last = max(last, int(notification.id))
                yield notification
            while True:
                delivery = await listener.next()
                if not isinstance(delivery, StoredEvent):
                    continue
                async with services.live_limits.delivery():
                    rows = [row for row in await unacknowledged(info, viewer.user_id)
                            if row.id > last]  # fmt: skip
                    fresh = [await _notification(resolver, row) for row in rows]
                for row, notification in zip(rows, fresh, strict=True):
                    last = row.id
                    yield notification


async def _stored_events(
    info: Info, room: str, after: str | None
) -> AsyncGenerator[LiveEvent, None]:
    resolver = Resolver(info, after)
    limits = info.context.services.live_limits
    async for delivery in _deliveries(info, {room}, after, room):
        if isinstance(delivery, StoredEvent):
            async with limits.delivery():
                event = await resolver.stored(delivery)
            if event is not None:
                yield event


async def _notification(resolver: Resolver, row: NotificationRow) -> Notification:
    info = resolver.info
    info.context.refresh_loaders()
    quotation = booking = payment = None
    if row.aggregate_type == "Quotation":
        quotation = await resolver.quotation(row.aggregate_id)
    elif row.aggregate_type == "Booking":
        found = await info.context.loaders.booking.load(row.aggregate_id)
        booking = await booking_for_viewer(info, found) if found else None
    elif row.aggregate_type == "Payment":
        async with info.context.session() as session:
            paid = await session.get(PaymentRow, row.aggregate_id)
        if paid is not None:
            payment = Payment.build(info, paid)
    return Notification(id=strawberry.ID(str(row.id)), kind=row.kind, occurred_at=row.created_at,
                        quotation=quotation, booking=booking, payment=payment)  # fmt: skip
