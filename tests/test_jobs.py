"""The saq worker runs housekeeping jobs against the real database and Redis."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from spirit_tours.config import Settings
from spirit_tours.jobs.worker import JobRunner
from spirit_tours.persistence.accounts import RefreshToken
from spirit_tours.persistence.database import SessionFactory
from tests.conftest import UserFactory
from tests.email_flows import first_sweep


async def test_worker_purges_expired_and_long_revoked_refresh_tokens(
    settings: Settings,
    database_url: str,
    redis_url: str,
    sessions: SessionFactory,
    make_user: UserFactory,
) -> None:
    user = await make_user("ana@op.example")
    now = datetime.now(UTC)
    later = now + timedelta(days=20)
    tokens: dict[str, dict[str, datetime]] = {
        "live": {"expires_at": now + timedelta(days=1)},
        "expired": {"expires_at": now - timedelta(seconds=1)},
        "revoked-long-ago": {"expires_at": later, "revoked_at": now - timedelta(days=8)},
        "revoked-recently": {"expires_at": later, "revoked_at": now - timedelta(days=1)},
    }
    async with sessions() as session, session.begin():
        for name, fields in tokens.items():
            session.add(
                RefreshToken(user_id=user.id, family_id=uuid.uuid4(), token_hash=name, **fields)
            )

    runner = JobRunner(settings, database_url, redis_url, concurrency=1)
    queue = runner.maintenance
    await runner.start()
    await first_sweep(runner)  # saq's first sweep would abort a job caught mid-dequeue
    try:
        purged = await queue.apply("purge_refresh_tokens", timeout=30)
    finally:
        await runner.stop()

    assert purged == 2
    async with sessions() as session:
        left = set((await session.scalars(select(RefreshToken.token_hash))).all())
    assert left == {"live", "revoked-recently"}
