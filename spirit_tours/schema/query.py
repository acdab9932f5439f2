"""The root Query type."""

from __future__ import annotations

import strawberry

from spirit_tours.schema.accounts.queries import AccountQueries
from spirit_tours.schema.analytics.queries import AnalyticsQueries
from spirit_tours.schema.audit import AuditQueries
from spirit_tours.schema.bookings.queries import BookingQueries
from spirit_tours.schema.chat import ChatQueries
from spirit_tours.schema.mail.queries import EmailQueries
from spirit_tours.schema.ml.queries import MlQueries
from spirit_tours.schema.nodes import NodeQueries
from spirit_tours.schema.payments.queries import PaymentQueries
from spirit_tours.schema.quotations.queries import QuotationQueries
from spirit_tours.schema.staffing.queries import StaffingQueries


@strawberry.type(
    description="Reads. Every field needs a signed-in viewer (`Authorization: Bearer <access "
    "token>`) and answers under the price-privacy rules of docs/privacy.md: a value the viewer "
    "may not see is null, an object it may not see NOT_FOUND."
)
class Query(
    QuotationQueries,
    BookingQueries,
    PaymentQueries,
    StaffingQueries,
    ChatQueries,
    AuditQueries,
    EmailQueries,
    AnalyticsQueries,
    MlQueries,
    NodeQueries,
    AccountQueries,  # fields print in base order: these stay last in schema.graphql
):
    pass
