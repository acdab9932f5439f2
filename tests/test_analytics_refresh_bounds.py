"""Heavy operator requests are bounded. refreshAnalytics is single-flight: while a refresh is
running it is refused at once (CONFLICT, nothing done, no audit line) instead of holding a
connection blocked behind the views' locks, and the schedule's refresh waits its turn. A CSV
export spends the viewer's rate-limit points (one per cell) like a GraphQL answer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import select

from spirit_tours.config import Settings
from spirit_tours.persistence.analytics.views import VIEWS
from spirit_tours.persistence.database import SessionFactory
from spirit_tours.persistence.events import AuditEntry
from spirit_tours.resolvers.analytics.refresh import refresh_rollups
from tests.analytics_flows import REFRESH, refresh, sign_in_everyone
from tests.analytics_history import known_history
from tests.conftest import LiveServer, UserFactory, serving
from tests.graphql_client import GraphQLClient

# Far longer than a refresh of an empty database takes; a request blocked behind the running
# refresh's locks would wait for as long as that refresh's transaction stays open.
PATIENCE_SECONDS = 10


async def _audited(sessions: SessionFactory) -> int:
    async with sessions() as session:
        rows = await session.scalars(
            select(AuditEntry.id).where(AuditEntry.action == "analytics.refresh")
        )
        return len(rows.all())


async def test_a_refresh_while_one_runs_is_a_conflict_that_changes_nothing(
    gql: GraphQLClient, make_user: UserFactory, sessions: SessionFactory
) -> None:
    admin = (await sign_in_everyone(gql, make_user)).admin
    await refresh(gql, admin)
    assert await _audited(sessions) == 1
    async with sessions() as running:  # the schedule's refresh, not yet committed
        await refresh_rollups(running)
        answer = await asyncio.wait_for(gql.execute(REFRESH, token=admin), PATIENCE_SECONDS)
        assert answer.codes == ["CONFLICT"]
        assert answer.data is None
        assert "already" in answer.errors[0]["message"]
        await running.rollback()
    assert await _audited(sessions) == 1  # the refused one left no audit line
    # Once no refresh runs, the next request refreshes.
    assert len(await refresh(gql, admin)) == len(VIEWS)
    assert await _audited(sessions) == 2


async def test_the_schedules_refresh_waits_for_a_running_one(
    gql: GraphQLClient, make_user: UserFactory, sessions: SessionFactory
) -> None:
    async with sessions() as first, sessions() as second:
        await refresh_rollups(first)
        waiting = asyncio.create_task(refresh_rollups(second))
        await asyncio.sleep(0.5)
        assert not waiting.done()
        await first.commit()
        assert len(await asyncio.wait_for(waiting, PATIENCE_SECONDS)) == len(VIEWS)
        await second.commit()


@pytest.fixture(scope="module")
async def frugal_server(settings: Settings) -> AsyncIterator[LiveServer]:
    """A server granting 200 points a minute per viewer."""
    async with serving(settings.model_copy(update={"rate_limit_points": 200})) as server:
        yield server


async def test_exports_spend_the_viewers_points_like_queries(
    frugal_server: LiveServer, make_user: UserFactory, sessions: SessionFactory
) -> None:
    async with httpx.AsyncClient(base_url=frugal_server.url, timeout=30) as http:
        gql = GraphQLClient(http)
        admin = (await sign_in_everyone(gql, make_user)).admin
        await known_history(make_user, sessions)
        await refresh(gql, admin)
        answers = []
        for _ in range(10):  # 4 rows of 12 cells each time
            answers.append(await http.get(
                "/analytics/revenue.csv", params={"from": "2026-01-01", "to": "2026-12-31"},
                headers={"Authorization": f"Bearer {admin}"},
            ))  # fmt: skip
        statuses = [answer.status_code for answer in answers]
        served = statuses.count(200)
        # 200 points a minute at one point per cell of 48 (4 rows of 12) serve at most 4
        # exports, fewer when the sign-in's refresh spent some: a point a request would serve 10
        assert 1 <= served <= 200 // 48
        assert statuses == [200] * served + [429] * (10 - served)
        refused = answers[served]
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        assert refused.headers["cache-control"].startswith("no-store")
        # The same points: this minute's GraphQL answers are refused too.
        limited = await gql.execute("{ viewer { email } }", token=admin)
        assert limited.codes == ["RATE_LIMITED"]
