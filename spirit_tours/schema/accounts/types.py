"""Users, companies and hotels as clients see them, and the sign-in payloads."""

from __future__ import annotations

import uuid
from datetime import datetime

import strawberry

from spirit_tours.context import Context
from spirit_tours.core.enums import CompanyKind, Locale, Role
from spirit_tours.persistence import accounts as models
from spirit_tours.resolvers.auth import Session
from spirit_tours.resolvers.loaders import MaybeAwaitable, loaded, then
from spirit_tours.schema import enums  # noqa: F401 - registers the GraphQL enums
from spirit_tours.schema.common import Node


@strawberry.type(description="A hotel run by a hotel company.")
class Hotel(Node):
    name: str = strawberry.field(description="The hotel's name.")
    city: str = strawberry.field(description="The city the hotel is in.")
    country: str = strawberry.field(description="ISO 3166-1 alpha-2 country code.")
    stars: int | None = strawberry.field(description="Star rating, 1 to 5; null when unrated.")

    @classmethod
    def from_model(cls, hotel: models.Hotel) -> Hotel:
        return cls(
            id=strawberry.ID(str(hotel.id)),
            name=hotel.name,
            city=hotel.city,
            country=hotel.country,
            stars=hotel.stars,
        )


def load_hotel(
    info: strawberry.Info[Context, None], hotel_id: uuid.UUID
) -> MaybeAwaitable[Hotel | None]:
    """A hotel through the request's DataLoader (at once when already loaded)."""
    return then(loaded(info.context.loaders.hotel, hotel_id), _hotel_or_none)


def _hotel_or_none(row: models.Hotel | None) -> Hotel | None:
    return Hotel.from_model(row) if row else None


@strawberry.type(description="The operator, a travel agency or a hotel company.")
class Company(Node):
    name: str = strawberry.field(description="The company's name.")
    kind: CompanyKind = strawberry.field(description="Operator, travel agency or hotel company.")
    _id: strawberry.Private[uuid.UUID]

    @strawberry.field(description="The hotels this company runs (hotel companies only).")
    async def hotels(self, info: strawberry.Info[Context, None]) -> list[Hotel]:
        if self.kind != CompanyKind.HOTEL:
            return []
        rows = await info.context.loaders.hotels_of_company.load(self._id)
        return [Hotel.from_model(row) for row in rows]

    @classmethod
    def from_model(cls, company: models.Company) -> Company:
        return cls(
            id=strawberry.ID(str(company.id)), name=company.name, kind=company.kind, _id=company.id
        )


@strawberry.type(description="A signed-in person.")
class User(Node):
    email: str = strawberry.field(description="The e-mail address the user signs in with.")
    full_name: str = strawberry.field(description="The user's full name.")
    role: Role = strawberry.field(description="What the user does on the platform.")
    locale: Locale = strawberry.field(description="The language of the user's e-mail.")
    created_at: datetime = strawberry.field(
        description="When the account was created (ISO 8601, UTC)."
    )
    _company_id: strawberry.Private[uuid.UUID | None]

    @strawberry.field(description="The company the user works for; null for clients.")
    async def company(self, info: strawberry.Info[Context, None]) -> Company | None:
        if self._company_id is None:
            return None
        row = await info.context.loaders.company.load(self._company_id)
        return Company.from_model(row) if row else None

    @classmethod
    def from_model(cls, user: models.User) -> User:
        return cls(
            id=strawberry.ID(str(user.id)),
            email=user.email,
            full_name=user.full_name,
            role=user.role,
            locale=user.locale,
            created_at=user.created_at,
            _company_id=user.company_id,
        )


@strawberry.type(description="Tokens for a signed-in session.")
class AuthPayload:
    access_token: str = strawberry.field(description="Send as `Authorization: Bearer <token>`.")
    access_token_expires_at: datetime = strawberry.field(
        description="When the access token stops working (ISO 8601, UTC; 15 minutes by "
        "default): refresh before then."
    )
    refresh_token: str = strawberry.field(
        description="Single use: `refreshToken` returns a new one and revokes this one."
    )
    refresh_token_expires_at: datetime = strawberry.field(
        description="When the refresh token stops working (ISO 8601, UTC; 30 days by default)."
    )
    user: User = strawberry.field(description="The signed-in user.")

    @classmethod
    def from_session(cls, session: Session) -> AuthPayload:
        return cls(
            access_token=session.access.token,
            access_token_expires_at=session.access.expires_at,
            refresh_token=session.refresh_token,
            refresh_token_expires_at=session.refresh_expires_at,
            user=User.from_model(session.user),
        )


@strawberry.type(description="What signing out revoked.")
class LogoutPayload:
    revoked_sessions: int = strawberry.field(description="How many refresh tokens were revoked.")
