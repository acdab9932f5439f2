"""Which accounts make up an audience of notifications and mail (docs/privacy.md §2.3, §2.6), as
SQL conditions over users: the inbox, the mail triggers and the crons select their recipients
with these, so "the invited hotel's staff" means the same people on every path."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import ColumnElement, Select, and_, false

from spirit_tours.core.enums import Role
from spirit_tours.persistence.accounts import User


def operator_staff() -> ColumnElement[bool]:
    """The operator's active ADMIN accounts (guides are the operator's too, but hear only of
    their own assignments)."""
    return and_(User.is_active, User.role == Role.ADMIN)


def hotel_staff() -> ColumnElement[bool]:
    """Active HOTEL accounts: a hotel company's invitations and deadlines reach these, never an
    account of another role that shares the company id."""
    return and_(User.is_active, User.role == Role.HOTEL)


def hotel_staff_of(
    companies: Iterable[uuid.UUID] | Select[uuid.UUID],
) -> ColumnElement[bool]:
    """The active HOTEL accounts of these hotel companies."""
    return and_(hotel_staff(), User.company_id.in_(companies))


def company_staff(company_id: uuid.UUID | None) -> ColumnElement[bool]:
    """Every active account of a company (an agency's staff own its quotations together); no
    company, nobody (never "every account without a company")."""
    if company_id is None:
        return false()
    return and_(User.is_active, User.company_id == company_id)
