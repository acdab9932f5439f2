"""The months of the funnel and revenue reports are UTC months whatever the database server's
own time zone (``TimeZone``, which a server east of UTC, e.g. in Europe, sets to its own): the
reports' days are UTC dates, and their month must not be shifted by the session's zone."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import text

from spirit_tours.core.analytics import DateRange, FunnelGroupBy, RevenueGroupBy
from spirit_tours.persistence.analytics.funnel import funnel_counts
from spirit_tours.persistence.analytics.revenue import revenue_sums
from spirit_tours.persistence.analytics.views import refresh_views
from spirit_tours.persistence.database import SessionFactory
from tests.analytics_history import SPECS, known_history
from tests.conftest import UserFactory

YEAR = DateRange(date(2026, 1, 1), date(2026, 12, 31))


@pytest.mark.parametrize("zone", ["UTC", "Europe/Madrid", "Asia/Tokyo", "America/Lima"])
async def test_months_are_utc_months_in_any_session_time_zone(
    make_user: UserFactory, sessions: SessionFactory, zone: str
) -> None:
    await known_history(make_user, sessions)
    async with sessions() as session, session.begin():
        await refresh_views(session)
    # By hand from SPECS: created in 2026 in March (Q1, Q2, Q3, Q8) and April (Q4, Q5, Q6);
    # sold in January (Q7), March (Q1, Q2, Q8) and April (Q4).
    created = sorted({s.created_at.strftime("%Y-%m") for s in SPECS if s.created_at.year == 2026})
    sold = sorted(
        {s.times()[5].strftime("%Y-%m") for s in SPECS if s.sale and s.times()[5].year == 2026}
    )
    assert (created, sold) == (["2026-03", "2026-04"], ["2026-01", "2026-03", "2026-04"])
    async with sessions() as session:
        await session.execute(text(f"SET TIME ZONE '{zone}'"))
        _, groups, _ = await funnel_counts(session, YEAR, FunnelGroupBy.MONTH, limit=100)
        rows, _ = await revenue_sums(session, YEAR, RevenueGroupBy.MONTH, limit=100)
    assert [group.key for group in groups] == created
    assert [group.label for group in groups] == created
    assert sorted({row.month for row in rows if row.month}) == sold
