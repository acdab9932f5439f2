"""Who owns a quotation or a booking: the agency company that asked, or the client alone.

One rule, in Python for loaded rows and in SQL for lists, shared by quotations, bookings and
payments.
"""

from __future__ import annotations

import uuid
from typing import Protocol

from sqlalchemy import ColumnElement, and_
from sqlalchemy.orm import InstrumentedAttribute

from spirit_tours.core.enums import Role
from spirit_tours.permissions.viewer import Viewer


class Owned(Protocol):
    @property
    def owner_company_id(self) -> uuid.UUID | None: ...

    @property
    def owner_user_id(self) -> uuid.UUID: ...


def owns(viewer: Viewer, owned: Owned) -> bool:
    if viewer.role == Role.AGENCY:
        return viewer.company_id is not None and viewer.company_id == owned.owner_company_id
    if viewer.role == Role.CLIENT:
        return owned.owner_company_id is None and viewer.user_id == owned.owner_user_id
    return False


def owned_by(
    viewer: Viewer,
    company: InstrumentedAttribute[uuid.UUID | None],
    user: InstrumentedAttribute[uuid.UUID],
) -> ColumnElement[bool] | None:
    """The SQL twin of :func:`owns`; None for roles that own nothing."""
    if viewer.role == Role.AGENCY and viewer.company_id is not None:
        return company == viewer.company_id
    if viewer.role == Role.CLIENT:
        return and_(company.is_(None), user == viewer.user_id)
    return None
