"""The root field ``analytics``: the reports over one range of days (ADMIN only).

Each report is a field of ``Analytics``, contributed by its own module (``funnel.py``,
``revenue.py``, …) as a base class: a new report adds its module and one base here.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

import strawberry

from spirit_tours.context import Context
from spirit_tours.core.analytics import MAX_RANGE_DAYS, DateRange
from spirit_tours.permissions.classes import IsAdmin
from spirit_tours.schema.analytics.cancellations import CancellationReports
from spirit_tours.schema.analytics.funnel import FunnelReports
from spirit_tours.schema.analytics.hotels import HotelReports
from spirit_tours.schema.analytics.payments import PaymentReports
from spirit_tours.schema.analytics.revenue import RevenueReports


@strawberry.type(
    description="The operator's reports over one range of UTC days (ADMIN only). Every "
    "figure comes from the analytics rollups, refreshed every few minutes (each report's "
    "`refreshedAt`) or on demand (`refreshAnalytics`); CSV: GET /analytics/<report>.csv."
)
class Analytics(FunnelReports, RevenueReports, HotelReports, CancellationReports, PaymentReports):
    start: date = strawberry.field(name="from", description="First day of the range (UTC).")
    end: date = strawberry.field(name="to", description="Last day of the range (UTC), included.")


@strawberry.type
class AnalyticsQueries:
    @strawberry.field(
        permission_classes=[IsAdmin],
        description="The operator's reports over a range of days (ADMIN only; every other "
        "role FORBIDDEN). BAD_USER_INPUT when `to` is before `from` or the range is longer "
        f"than {MAX_RANGE_DAYS} days.",
    )
    def analytics(
        self,
        info: strawberry.Info[Context, None],
        start: Annotated[
            date, strawberry.argument(name="from", description="First day (ISO 8601 date, UTC).")
        ],
        end: Annotated[
            date,
            strawberry.argument(name="to", description="Last day, included (ISO 8601 date, UTC)."),
        ],
    ) -> Analytics:
        days = DateRange.of(start, end)
        return Analytics(days=days, start=days.start, end=days.end)
