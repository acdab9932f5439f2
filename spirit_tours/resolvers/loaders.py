"""DataLoaders: every relation is fetched in one batched query per request."""

from __future__ import annotations

import contextlib
import inspect
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Generic, TypeAlias, TypeVar, overload

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


class _Lazy(Generic[K, V]):
    """A loader of :class:`Loaders`, built on first use and then kept on the instance (a
    non-data descriptor: the instance's attribute shadows it from then on). Building all
    twenty-four for every operation was a tenth of a small query's CPU."""

    def __init__(
        self,
        fetch: Callable[[AsyncSession, Sequence[K]], Awaitable[Mapping[K, V]]],
        missing: Callable[[], V],
    ) -> None:
        self._fetch = fetch
        self._missing = missing
        self._name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    @overload
    def __get__(self, instance: None, owner: type) -> _Lazy[K, V]: ...

    @overload
    def __get__(self, instance: Loaders, owner: type) -> DataLoader[K, V]: ...

    def __get__(self, instance: Loaders | None, owner: type) -> _Lazy[K, V] | DataLoader[K, V]:
        if instance is None:
            return self
        loader = _loader(instance.reads, self._fetch, self._missing)
        instance.__dict__[self._name] = loader
        return loader


class Loaders:
    """One set per GraphQL operation, so caches never outlive the request that filled them;
    all of them read through the operation's one session (``reads``). Each loader is built
    the first time the operation asks for it: most operations use two or three of them.
    """

    company: _Lazy[uuid.UUID, Company | None] = _Lazy(accounts.companies_by_ids, _none)
    hotel: _Lazy[uuid.UUID, Hotel | None] = _Lazy(accounts.hotels_by_ids, _none)
    hotels_of_company: _Lazy[uuid.UUID, list[Hotel]] = _Lazy(accounts.hotels_by_company_ids, list)
    user: _Lazy[uuid.UUID, User | None] = _Lazy(accounts.users_by_ids, _none)
    invitations: _Lazy[uuid.UUID, list[HotelInvitation]] = _Lazy(
        quotations.invitations_by_quotation, list
    )
    offers: _Lazy[uuid.UUID, list[HotelOffer]] = _Lazy(quotations.offers_by_quotation, list)
    revisions: _Lazy[uuid.UUID, list[OfferRevision]] = _Lazy(quotations.revisions_by_offer, list)
    quotation: _Lazy[uuid.UUID, Quotation | None] = _Lazy(quotations.quotations_by_ids, _none)
    offer: _Lazy[uuid.UUID, HotelOffer | None] = _Lazy(quotations.offers_by_ids, _none)
    invitation: _Lazy[uuid.UUID, HotelInvitation | None] = _Lazy(
        quotations.invitations_by_ids, _none
    )
    # The GraphQL type an id belongs to (``node(id:)``), every table in one statement.
    node_kind: _Lazy[uuid.UUID, str | None] = _Lazy(nodes.kinds_by_ids, _none)
    booking: _Lazy[uuid.UUID, Booking | None] = _Lazy(bookings.bookings_by_ids, _none)
    booking_of_quotation: _Lazy[uuid.UUID, Booking | None] = _Lazy(
        bookings.bookings_by_quotation, _none
    )
    booking_hotels: _Lazy[uuid.UUID, list[BookingHotel]] = _Lazy(bookings.hotels_by_booking, list)
    guide_assignments: _Lazy[uuid.UUID, list[GuideAssignment]] = _Lazy(
        bookings.guide_assignments_by_booking, list
    )
    transport: _Lazy[uuid.UUID, list[TransportAssignment]] = _Lazy(
        bookings.transport_by_booking, list
    )
    refunds: _Lazy[uuid.UUID, list[BookingRefund]] = _Lazy(bookings.refunds_by_booking, list)
    guide: _Lazy[uuid.UUID, Guide | None] = _Lazy(bookings.guides_by_ids, _none)
    time_off: _Lazy[uuid.UUID, list[GuideTimeOff]] = _Lazy(bookings.time_off_by_guide, list)
    vehicle: _Lazy[uuid.UUID, Vehicle | None] = _Lazy(bookings.vehicles_by_ids, _none)
    payment: _Lazy[uuid.UUID, Payment | None] = _Lazy(payments.payments_by_ids, _none)
    message: _Lazy[uuid.UUID, ChatMessage | None] = _Lazy(chat.messages_by_ids, _none)
    payment_refunds: _Lazy[uuid.UUID, list[PaymentRefund]] = _Lazy(
        payments.refunds_by_payment, list
    )
    webhook_deliveries: _Lazy[uuid.UUID, list[WebhookDelivery]] = _Lazy(
        payments.deliveries_by_payment, list
    )

    def __init__(self, sessions: SessionFactory) -> None:
        self.reads = SharedReads(sessions)

    def _built(self, *names: str) -> list[DataLoader[uuid.UUID, object]]:
        """The loaders of ``names`` this operation has built (the others hold nothing)."""
        return [self.__dict__[name] for name in names if name in self.__dict__]

    def forget_booking(self, booking_id: uuid.UUID) -> None:
        """Drop what this request cached of a booking a mutation just changed."""
        for loader in self._built(
            "booking", "booking_hotels", "guide_assignments", "transport", "refunds"
        ):
            with contextlib.suppress(KeyError):
                loader.clear(booking_id)

    def forget_guide(self, guide_id: uuid.UUID) -> None:
        for loader in self._built("guide", "time_off"):
            with contextlib.suppress(KeyError):
                loader.clear(guide_id)

    def forget_quotation(self, quotation_id: uuid.UUID) -> None:
        """Drop what this request cached of a quotation a mutation just changed."""
        for loader in self._built("quotation", "invitations", "offers", "booking_of_quotation"):
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
