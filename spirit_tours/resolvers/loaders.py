"""DataLoaders: every relation is fetched in one batched query per request."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.dataloader import DataLoader

from spirit_tours.persistence.accounts import Company, Hotel, User
from spirit_tours.persistence.database import SessionFactory
from spirit_tours.persistence.quotations import (
    HotelInvitation,
    HotelOffer,
    OfferRevision,
    Quotation,
)
from spirit_tours.persistence.repositories import accounts, quotations

K = TypeVar("K")
V = TypeVar("V")


def _loader(
    sessions: SessionFactory,
    fetch: Callable[[AsyncSession, Sequence[K]], Awaitable[Mapping[K, V]]],
    missing: Callable[[], V],
) -> DataLoader[K, V]:
    async def load(keys: list[K]) -> list[V]:
        async with sessions() as session:
            found = await fetch(session, keys)
        return [found[key] if key in found else missing() for key in keys]

    return DataLoader(load_fn=load)


def _none() -> None:
    return None


class Loaders:
    """One set per GraphQL operation, so caches never outlive the request that filled them."""

    def __init__(self, sessions: SessionFactory) -> None:
        self.company: DataLoader[uuid.UUID, Company | None] = _loader(
            sessions, accounts.companies_by_ids, _none
        )
        self.hotel: DataLoader[uuid.UUID, Hotel | None] = _loader(
            sessions, accounts.hotels_by_ids, _none
        )
        self.hotels_of_company: DataLoader[uuid.UUID, list[Hotel]] = _loader(
            sessions, accounts.hotels_by_company_ids, list
        )
        self.user: DataLoader[uuid.UUID, User | None] = _loader(
            sessions, accounts.users_by_ids, _none
        )
        self.invitations: DataLoader[uuid.UUID, list[HotelInvitation]] = _loader(
            sessions, quotations.invitations_by_quotation, list
        )
        self.offers: DataLoader[uuid.UUID, list[HotelOffer]] = _loader(
            sessions, quotations.offers_by_quotation, list
        )
        self.revisions: DataLoader[uuid.UUID, list[OfferRevision]] = _loader(
            sessions, quotations.revisions_by_offer, list
        )
        self.quotation: DataLoader[uuid.UUID, Quotation | None] = _loader(
            sessions, quotations.quotations_by_ids, _none
        )

    def forget_quotation(self, quotation_id: uuid.UUID) -> None:
        """Drop what this request cached of a quotation a mutation just changed."""
        for loader in (self.quotation, self.invitations, self.offers):
            with contextlib.suppress(KeyError):
                loader.clear(quotation_id)
