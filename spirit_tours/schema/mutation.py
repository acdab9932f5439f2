"""The root Mutation type. Errors follow ``spirit_tours.core.errors``: ``extensions.code``."""

from __future__ import annotations

import strawberry

from spirit_tours.schema.accounts.mutations import AccountMutations
from spirit_tours.schema.analytics.mutations import AnalyticsMutations
from spirit_tours.schema.bookings.mutations import BookingMutations
from spirit_tours.schema.chat import ChatMutations
from spirit_tours.schema.mail.mutations import EmailMutations
from spirit_tours.schema.ml.mutations import MlMutations
from spirit_tours.schema.payments.mutations import PaymentMutations
from spirit_tours.schema.quotations.mutations import QuotationMutations
from spirit_tours.schema.staffing.mutations import StaffingMutations


@strawberry.type(
    description="Writes, each in one transaction: bad input or a refused action changes "
    "nothing and answers an error with `extensions.code`."
)
class Mutation(
    QuotationMutations,
    BookingMutations,
    PaymentMutations,
    StaffingMutations,
    ChatMutations,
    EmailMutations,
    AnalyticsMutations,
    MlMutations,
    AccountMutations,  # fields print in base order: these stay last in schema.graphql
):
    pass
