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
    cursor: str = strawberry.field(
        description="Resume point: pass the last cursor received as `after` when reconnecting."
    )
    occurred_at: datetime = strawberry.field(description="When it happened (ISO 8601, UTC).")
    kind: EventKind = strawberry.field(
        description="The domain event: a QUOTATION_ kind, INVITATION_DECLINED, or "
        "COMPETITION_CHANGED when only the offer count or your rank may have moved."
    )
    quotation: Quotation = strawberry.field(description="The quotation as you may now see it.")


@strawberry.type(description="An offer was submitted, revised or withdrawn.")
class OfferChanged:
    cursor: str = strawberry.field(
        description="Resume point: pass the last cursor received as `after` when reconnecting."
    )
    occurred_at: datetime = strawberry.field(description="When it happened (ISO 8601, UTC).")
    kind: EventKind = strawberry.field(
        description="OFFER_SUBMITTED, OFFER_REVISED or OFFER_WITHDRAWN."
    )
    offer: Offer = strawberry.field(description="The offer as you may see it.")
    quotation: Quotation = strawberry.field(description="Its quotation as you may now see it.")


@strawberry.type(description="A message was posted in a thread you read.")
class MessagePosted:
    cursor: str = strawberry.field(
        description="Resume point: pass the last cursor received as `after` when reconnecting."
    )
    occurred_at: datetime = strawberry.field(description="When it happened (ISO 8601, UTC).")
    message: ChatMessage = strawberry.field(description="The message.")


@strawberry.type(description="Live only: someone in your thread is (no longer) typing.")
class TypingChanged:
    cursor: str = strawberry.field(
        description="The room's resume point when it was sent (typing is never replayed)."
    )
    occurred_at: datetime = strawberry.field(description="When it happened (ISO 8601, UTC).")
    participant: Participant = strawberry.field(description="Who is typing.")
    typing: bool = strawberry.field(description="True: started typing; false: stopped.")


@strawberry.type(description="Live only: someone joined or left the room.")
class PresenceChanged:
    cursor: str = strawberry.field(
        description="The room's resume point when it was sent (presence is never replayed)."
    )
    occurred_at: datetime = strawberry.field(description="When it happened (ISO 8601, UTC).")
    participant: Participant = strawberry.field(
        description="Who came or went: operator staff only, unless you are the operator."
    )
    online: bool = strawberry.field(description="True: joined the room; false: left it.")


@strawberry.type(description="A booking changed (confirmed, staffed, cancelled, …).")
class BookingChanged:
    cursor: str = strawberry.field(
        description="Resume point: pass the last cursor received as `after` when reconnecting."
    )
    occurred_at: datetime = strawberry.field(description="When it happened (ISO 8601, UTC).")
    kind: EventKind = strawberry.field(
        description="The domain event: one of the BOOKING_ kinds, e.g. BOOKING_CONFIRMED."
    )
    booking: Booking = strawberry.field(description="The booking as you may now see it.")


@strawberry.type(description="A payment changed (started, succeeded, failed, refunded, …).")
class PaymentChanged:
    cursor: str = strawberry.field(
        description="Resume point: pass the last cursor received as `after` when reconnecting."
    )
    occurred_at: datetime = strawberry.field(description="When it happened (ISO 8601, UTC).")
    kind: EventKind = strawberry.field(
        description="The domain event: one of the PAYMENT_ kinds, e.g. PAYMENT_SUCCEEDED."
    )
    payment: Payment = strawberry.field(description="The payment as you may now see it.")


@strawberry.type(description="The operator posted an announcement.")
class AnnouncementPosted:
    cursor: str = strawberry.field(
        description="Resume point: pass the last cursor received as `after` when reconnecting."
    )
    occurred_at: datetime = strawberry.field(description="When it happened (ISO 8601, UTC).")
    title: str = strawberry.field(description="The title.")
    body: str = strawberry.field(description="The text.")


@strawberry.type(description="An inbox entry; acknowledge it to remove it.")
class Notification:
    id: strawberry.ID = strawberry.field(
        description="The entry's id (a number); give it to acknowledgeNotifications."
    )
    kind: NotificationKind = strawberry.field(
        description="What the entry is about, e.g. INVITATION_RECEIVED, PROPOSAL_READY, "
        "PAYMENT_RECEIVED, MESSAGE_RECEIVED."
    )
    occurred_at: datetime = strawberry.field(description="When it happened (ISO 8601, UTC).")
    quotation: Quotation | None = strawberry.field(
        description="The quotation it is about, as you may see it; null otherwise."
    )
    booking: Booking | None = strawberry.field(
        description="The booking it is about, as you may see it; null otherwise."
    )
    payment: Payment | None = strawberry.field(
        description="The payment it is about; null otherwise."
    )


QuotationRoomEvent = Annotated[
    QuotationChanged | OfferChanged | MessagePosted | TypingChanged | PresenceChanged,
    strawberry.union(
        "QuotationRoomEvent", description="An event of a quotation's room, as you may see it."
    ),
]
CompanyRoomEvent = Annotated[
    QuotationChanged | OfferChanged | BookingChanged | PaymentChanged,
    strawberry.union("CompanyRoomEvent", description="An event of a company's or a hotel's room."),
]
LiveEvent = (
    QuotationChanged | OfferChanged | MessagePosted | TypingChanged | PresenceChanged
    | BookingChanged | PaymentChanged | AnnouncementPosted
)  # fmt: skip
