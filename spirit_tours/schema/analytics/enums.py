"""The analytics enums as GraphQL publishes them, each value described."""

from __future__ import annotations

from spirit_tours.core.analytics import FunnelGroupBy, FunnelStep, RevenueGroupBy
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
