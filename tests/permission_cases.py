"""The cast of the permission-rule tables: one viewer of each kind, plain objects they look at.

The rules of ``spirit_tours.permissions`` read plain values (a viewer, an owner's ids, an
offer's company, status and price), so these tables build them directly: no database, no
server. Every id is fixed, so a failing row names exactly who saw what.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

import pytest
from sqlalchemy import ColumnElement
from sqlalchemy.dialects import postgresql

from spirit_tours.core.enums import OfferStatus, Role
from spirit_tours.permissions.viewer import Viewer


def _id(n: int) -> uuid.UUID:
    return uuid.UUID(int=n)


OWNER_AGENCY_CO = _id(0xA1)
OTHER_AGENCY_CO = _id(0xA2)
HOTEL_A_CO = _id(0xB1)  # invited, the offering hotel
HOTEL_B_CO = _id(0xB2)  # invited, a competitor
HOTEL_C_CO = _id(0xB3)  # never invited
HOTEL_R_CO = _id(0xB4)  # was invited, then removed
INVITED = frozenset({HOTEL_A_CO, HOTEL_B_CO})

ADMIN = Viewer(_id(1), Role.ADMIN, None)
OWNER_AGENCY = Viewer(_id(2), Role.AGENCY, OWNER_AGENCY_CO)
OWNER_AGENCY_COLLEAGUE = Viewer(_id(3), Role.AGENCY, OWNER_AGENCY_CO)
OWNER_CLIENT = Viewer(_id(4), Role.CLIENT, None)
OTHER_AGENCY = Viewer(_id(5), Role.AGENCY, OTHER_AGENCY_CO)
OTHER_CLIENT = Viewer(_id(6), Role.CLIENT, None)
HOTEL_A = Viewer(_id(7), Role.HOTEL, HOTEL_A_CO)
HOTEL_B = Viewer(_id(8), Role.HOTEL, HOTEL_B_CO)
UNINVITED_HOTEL = Viewer(_id(9), Role.HOTEL, HOTEL_C_CO)
REMOVED_HOTEL = Viewer(_id(10), Role.HOTEL, HOTEL_R_CO)
GUIDE = Viewer(_id(11), Role.GUIDE, None)
OTHER_GUIDE = Viewer(_id(12), Role.GUIDE, None)
AGENCY_WITHOUT_COMPANY = Viewer(_id(13), Role.AGENCY, None)  # a broken account: sees nothing
HOTEL_WITHOUT_COMPANY = Viewer(_id(14), Role.HOTEL, None)

VIEWERS = {
    "admin": ADMIN,
    "owner agency": OWNER_AGENCY,
    "owner agency colleague": OWNER_AGENCY_COLLEAGUE,
    "owner client": OWNER_CLIENT,
    "other agency": OTHER_AGENCY,
    "other client": OTHER_CLIENT,
    "invited hotel A": HOTEL_A,
    "invited hotel B": HOTEL_B,
    "uninvited hotel": UNINVITED_HOTEL,
    "removed hotel": REMOVED_HOTEL,
    "guide": GUIDE,
    "agency without company": AGENCY_WITHOUT_COMPANY,
    "hotel without company": HOTEL_WITHOUT_COMPANY,
}


@dataclass(frozen=True)
class Owner:
    """A quotation's or booking's owner: an agency company, or a client alone."""

    owner_company_id: uuid.UUID | None
    owner_user_id: uuid.UUID


BY_AGENCY = Owner(OWNER_AGENCY_CO, OWNER_AGENCY.user_id)
BY_CLIENT = Owner(None, OWNER_CLIENT.user_id)


@dataclass(frozen=True)
class OfferValue:
    """An offer as the rules read it."""

    hotel_company_id: uuid.UUID
    net_price: Decimal
    status: OfferStatus
    id: uuid.UUID


def offer(company: uuid.UUID, price: str, status: OfferStatus = OfferStatus.ACTIVE) -> OfferValue:
    return OfferValue(company, Decimal(price), status, uuid.uuid5(company, price + status.value))


@dataclass(frozen=True)
class Line:
    """A booked hotel as the rules read it."""

    hotel_company_id: uuid.UUID


def sql(clause: ColumnElement[bool]) -> str:
    """A condition as PostgreSQL receives it, ids inlined, on one line."""
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    compiled = clause.compile(dialect=dialect, compile_kwargs={"literal_binds": True})
    return " ".join(str(compiled).split())


@pytest.fixture(autouse=True)
def clean_state() -> None:
    """Pure rules: nothing to clean. Replaces the suite's autouse fixture of the same name,
    which would start PostgreSQL and Redis for tests that use neither."""
