"""Heavy operator requests are single-flight: a refreshAnalytics while a refresh is running is
refused at once (CONFLICT, nothing done, no audit line) instead of holding a connection blocked
behind the views' locks, and the schedule's refresh waits its turn."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from spirit_tours.persistence.database import SessionFactory
from spirit_tours.persistence.events import AuditEntry
from spirit_tours.resolvers.analytics.refresh import refresh_rollups
from tests.analytics_flows import REFRESH, refresh, sign_in_everyone
from tests.conftest import UserFactory
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
    assert len(await refresh(gql, admin)) == 5
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
        assert len(await asyncio.wait_for(waiting, PATIENCE_SECONDS)) == 5
        await second.commit()
