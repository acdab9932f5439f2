"""DataLoaders: every relation is fetched in one batched query per request."""

from __future__ import annotations

import contextlib
import inspect
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TypeAlias, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.dataloader import DataLoader

from spirit_tours.persistence.accounts import Company, Hotel, User
from spirit_tours.persistence.bookings import Booking, BookingHotel, BookingRefund
from spirit_tours.persistence.database import SessionFactory, SharedReads
from spirit_tours.persistence.events import ChatMessage
from spirit_tours.persistence.payments import Payment, PaymentRefund, WebhookDelivery
from spirit_tours.persistence.quotations import (
    HotelInvitation,
    HotelOffer,
    OfferRevision,
    Quotation,
)
from spirit_tours.persistence.repositories import (
    accounts,
    bookings,
    chat,
    nodes,
    payments,
    quotations,
)
from spirit_tours.persistence.staffing import (
    Guide,
    GuideAssignment,
    GuideTimeOff,
    TransportAssignment,
    Vehicle,
)

K = TypeVar("K")
V = TypeVar("V")


def _loader(
    reads: SharedReads,
    fetch: Callable[[AsyncSession, Sequence[K]], Awaitable[Mapping[K, V]]],
    missing: Callable[[], V],
) -> DataLoader[K, V]:
    async def load(keys: list[K]) -> list[V]:
        async with reads.session() as session:
            found = await fetch(session, keys)
        return [found[key] if key in found else missing() for key in keys]

    return DataLoader(load_fn=load)


def _none() -> None:
    return None


class Loaders:
    """One set per GraphQL operation, so caches never outlive the request that filled them;
    all of them read through the operation's one session (``reads``)."""

    def __init__(self, sessions: SessionFactory) -> None:
        self.reads = reads = SharedReads(sessions)
        self.company: DataLoader[uuid.UUID, Company | None] = _loader(
            reads, accounts.companies_by_ids, _none
        )
        self.hotel: DataLoader[uuid.UUID, Hotel | None] = _loader(
            reads, accounts.hotels_by_ids, _none
        )
        self.hotels_of_company: DataLoader[uuid.UUID, list[Hotel]] = _loader(
            reads, accounts.hotels_by_company_ids, list
        )
        self.user: DataLoader[uuid.UUID, User | None] = _loader(reads, accounts.users_by_ids, _none)
        self.invitations: DataLoader[uuid.UUID, list[HotelInvitation]] = _loader(
            reads, quotations.invitations_by_quotation, list
        )
        self.offers: DataLoader[uuid.UUID, list[HotelOffer]] = _loader(
            reads, quotations.offers_by_quotation, list
        )
        self.revisions: DataLoader[uuid.UUID, list[OfferRevision]] = _loader(
            reads, quotations.revisions_by_offer, list
        )
        self.quotation: DataLoader[uuid.UUID, Quotation | None] = _loader(
            reads, quotations.quotations_by_ids, _none
        )
        self.offer: DataLoader[uuid.UUID, HotelOffer | None] = _loader(
            reads, quotations.offers_by_ids, _none
        )
        self.invitation: DataLoader[uuid.UUID, HotelInvitation | None] = _loader(
            reads, quotations.invitations_by_ids, _none
        )
        # The GraphQL type an id belongs to (``node(id:)``), every table in one statement.
        self.node_kind: DataLoader[uuid.UUID, str | None] = _loader(
            reads, nodes.kinds_by_ids, _none
        )

        self.booking: DataLoader[uuid.UUID, Booking | None] = _loader(
            reads, bookings.bookings_by_ids, _none
        )
        self.booking_of_quotation: DataLoader[uuid.UUID, Booking | None] = _loader(
            reads, bookings.bookings_by_quotation, _none
        )
        self.booking_hotels: DataLoader[uuid.UUID, list[BookingHotel]] = _loader(
            reads, bookings.hotels_by_booking, list
        )
        self.guide_assignments: DataLoader[uuid.UUID, list[GuideAssignment]] = _loader(
            reads, bookings.guide_assignments_by_booking, list
        )
        self.transport: DataLoader[uuid.UUID, list[TransportAssignment]] = _loader(
            reads, bookings.transport_by_booking, list
        )
        self.refunds: DataLoader[uuid.UUID, list[BookingRefund]] = _loader(
            reads, bookings.refunds_by_booking, list
        )
        self.guide: DataLoader[uuid.UUID, Guide | None] = _loader(
            reads, bookings.guides_by_ids, _none
        )
        self.time_off: DataLoader[uuid.UUID, list[GuideTimeOff]] = _loader(
            reads, bookings.time_off_by_guide, list
        )
        self.vehicle: DataLoader[uuid.UUID, Vehicle | None] = _loader(
            reads, bookings.vehicles_by_ids, _none
        )

        self.payment: DataLoader[uuid.UUID, Payment | None] = _loader(
            reads, payments.payments_by_ids, _none
        )
        self.message: DataLoader[uuid.UUID, ChatMessage | None] = _loader(
            reads, chat.messages_by_ids, _none
        )
        self.payment_refunds: DataLoader[uuid.UUID, list[PaymentRefund]] = _loader(
            reads, payments.refunds_by_payment, list
        )
        self.webhook_deliveries: DataLoader[uuid.UUID, list[WebhookDelivery]] = _loader(
            reads, payments.deliveries_by_payment, list
        )

    def forget_booking(self, booking_id: uuid.UUID) -> None:
        """Drop what this request cached of a booking a mutation just changed."""
        for loader in (
            self.booking,
            self.booking_hotels,
            self.guide_assignments,
            self.transport,
            self.refunds,
        ):
            with contextlib.suppress(KeyError):
                loader.clear(booking_id)

    def forget_guide(self, guide_id: uuid.UUID) -> None:
        for loader in (self.guide, self.time_off):
            with contextlib.suppress(KeyError):
                loader.clear(guide_id)

    def forget_quotation(self, quotation_id: uuid.UUID) -> None:
        """Drop what this request cached of a quotation a mutation just changed."""
        for loader in (self.quotation, self.invitations, self.offers, self.booking_of_quotation):
            with contextlib.suppress(KeyError):
                loader.clear(quotation_id)


MaybeAwaitable: TypeAlias = V | Awaitable[V]
R = TypeVar("R")


def loaded(loader: DataLoader[K, V], key: K) -> MaybeAwaitable[V]:
    """What ``loader`` already holds for ``key``, at once, else the load to await.

    A resolver returning it resolves synchronously when its rows were prefetched (a page loads
    its offers and their hotels in one batch each before its fields resolve): graphql-core
    then completes the field in line, without a coroutine, a task or a future per field.
    """
    future = loader.cache_map.get(key)
    if (
        future is not None
        and future.done()
        and not future.cancelled()
        and future.exception() is None
    ):
        return future.result()
    return loader.load(key)


def then(value: MaybeAwaitable[V], use: Callable[[V], R]) -> MaybeAwaitable[R]:
    """``use(value)``, at once if ``value`` is at hand, else once it is awaited."""
    if inspect.isawaitable(value):

        async def later() -> R:
            return use(await value)

        return later()
    return use(value)
