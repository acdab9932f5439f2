"""Who sees a payment (docs/privacy.md §1, §2.1): the operator, and the booking's owner (the
payer's side). Hotels and guides never see payments, whatever booking they work on."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, exists, false, true

from spirit_tours.core.enums import Role
from spirit_tours.permissions.ownership import Owned, owned_by, owns
from spirit_tours.permissions.viewer import Viewer
from spirit_tours.persistence.bookings import Booking
from spirit_tours.persistence.payments import Payment


def sees_payment(viewer: Viewer, booking: Owned) -> bool:
    """A payment is seen by the operator and by the owner of the booking it pays."""
    return viewer.role == Role.ADMIN or owns(viewer, booking)


@dataclass(frozen=True)
class PaymentScope:
    """What one viewer who sees a payment may see of it."""

    sees_provider_details: bool

    @property
    def sees_failure_reason(self) -> bool:
        """A provider's own message can name the provider or carry its references: the payer
        gets a plain reason instead."""
        return self.sees_provider_details


def payment_scope(viewer: Viewer) -> PaymentScope:
    """Provider references, attempts and webhook payloads: the operator only."""
    return PaymentScope(sees_provider_details=viewer.role == Role.ADMIN)


def manages_payments(viewer: Viewer) -> bool:
    """Refunds are the operator's decision: a payer who sees the payment is FORBIDDEN."""
    return viewer.role == Role.ADMIN


def visible_payments(viewer: Viewer) -> ColumnElement[bool]:
    """The SQL twin of :func:`sees_payment`, for lists."""
    if viewer.role == Role.ADMIN:
        return true()
    owner = owned_by(viewer, Booking.owner_company_id, Booking.owner_user_id)
    if owner is None:
        return false()
    return exists().where(Booking.id == Payment.booking_id, owner)
