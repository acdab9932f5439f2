"""The events of the live subscriptions (``schema.live``), as one viewer may see them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from spirit_tours.core.enums import EventKind, NotificationKind
from spirit_tours.schema.bookings.types import Booking
from spirit_tours.schema.chat import ChatMessage, Participant
from spirit_tours.schema.payments.types import Payment
from spirit_tours.schema.quotations.types import Offer, Quotation


@strawberry.type(description="The quotation changed (status, proposal, competition, …).")
class QuotationChanged:
    cursor: str
    occurred_at: datetime
    kind: EventKind = strawberry.field(
        description="The domain event: a QUOTATION_ kind, INVITATION_DECLINED or "
        "COMPETITION_CHANGED."
    )
    quotation: Quotation


@strawberry.type(description="An offer was submitted, revised or withdrawn.")
class OfferChanged:
    cursor: str
    occurred_at: datetime
    kind: EventKind = strawberry.field(
        description="OFFER_SUBMITTED, OFFER_REVISED or OFFER_WITHDRAWN."
    )
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
    kind: EventKind = strawberry.field(description="One of the BOOKING_ kinds.")
    booking: Booking


@strawberry.type
class PaymentChanged:
    cursor: str
    occurred_at: datetime
    kind: EventKind = strawberry.field(description="One of the PAYMENT_ kinds.")
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
    kind: NotificationKind = strawberry.field(description="What the entry is about.")
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
