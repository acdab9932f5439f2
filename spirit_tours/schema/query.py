"""The root Query type."""

from __future__ import annotations

import strawberry

from spirit_tours.context import Context
from spirit_tours.errors import unauthenticated
from spirit_tours.permissions.classes import IsAuthenticated
from spirit_tours.persistence.repositories import accounts
from spirit_tours.schema.accounts.types import User
from spirit_tours.schema.audit import AuditQueries
from spirit_tours.schema.bookings.queries import BookingQueries
from spirit_tours.schema.chat import ChatQueries
from spirit_tours.schema.mail.queries import EmailQueries
from spirit_tours.schema.payments.queries import PaymentQueries
from spirit_tours.schema.quotations.queries import QuotationQueries
from spirit_tours.schema.staffing.queries import StaffingQueries


@strawberry.type
class Query(
    QuotationQueries,
    BookingQueries,
    PaymentQueries,
    StaffingQueries,
    ChatQueries,
    AuditQueries,
    EmailQueries,
):
    @strawberry.field(permission_classes=[IsAuthenticated], description="The signed-in user.")
    async def viewer(self, info: strawberry.Info[Context, None]) -> User:
        viewer = info.context.require_viewer()
        async with info.context.session() as session:
            user = await accounts.user_by_id(session, viewer.user_id)
        if user is None or not user.is_active:
            raise unauthenticated("The account no longer exists or is disabled.")
        return User.from_model(user)
