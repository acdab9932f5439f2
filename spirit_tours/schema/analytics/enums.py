"""The analytics enums as GraphQL publishes them, each value described."""

from __future__ import annotations

from spirit_tours.core.analytics import (
    FunnelGroupBy,
    FunnelStep,
    HotelGroupBy,
    PaymentFailure,
    RevenueGroupBy,
)
from spirit_tours.schema.enums import described

described(
    FunnelGroupBy,
    {
        "MONTH": "The UTC month the quotation was created in (key and label: YYYY-MM).",
        "DESTINATION": "The quotation's destination, as written.",
        "AGENCY": "The agency (owner company) that asked; only agencies' quotations (key: the "
        "company's id, label: its name).",
        "CLIENT": "The traveller who asked directly; only CLIENT quotations (key: the user's id, "
        "label: their name).",
    },
    description="How the quotation funnel groups its quotations.",
)
described(
    FunnelStep,
    {
        "CREATED": "Asked for (every quotation of the range).",
        "INVITED": "At least one hotel invited; from the first invitation.",
        "OFFERED": "At least one offer received (withdrawn ones too); from the first offer.",
        "PROPOSED": "An offer proposed to the owner with its selling price; from the first "
        "proposal (a rejected one counts).",
        "APPROVED": "The owner approved a proposal; from the approval.",
        "BOOKED": "Turned into its booking; from the booking's creation.",
        "COMPLETED": "Its booking completed (the trip took place); from the completion.",
    },
    description="The steps of a quotation's way to a completed trip, in order.",
)
described(
    RevenueGroupBy,
    {
        "MONTH": "The UTC month of sale (the booking's creation), YYYY-MM.",
        "DESTINATION": "The booking's destination.",
        "MONTH_AND_DESTINATION": "Month of sale and destination.",
    },
    description="How the revenue report groups its bookings (always also by currency).",
)
described(
    HotelGroupBy,
    {
        "HOTEL": "The invited hotel, every destination together.",
        "HOTEL_AND_DESTINATION": "The invited hotel and the quotation's destination, as written.",
    },
    description="How the hotel performance report groups its invitations.",
)
described(
    PaymentFailure,
    {
        "NOT_STARTED": "FAILED before any provider took it: none was available, none takes "
        "the method and currency, or the one asked refused it at the start.",
        "DECLINED": "FAILED at the provider that took it (its notification said so).",
        "CANCELLED": "CANCELLED at the provider.",
        "HOLD_LAPSED": "EXPIRED: its hold on the booking lapsed before the money arrived.",
        "NOT_CREDITED": "Succeeded at the provider but not credited to its booking: its "
        "notification has not arrived yet, or it reported another amount or currency than "
        "the payment's (the operator settles it).",
    },
    description="How a payment failed, from its status and whether a provider took it.",
)
