"""Claims and outcomes written in batches keep the lease rules: two workers racing for the same
rows claim each row once, in a handful of statements; a claim whose lease ended is taken again
(attempt counted) and the late outcome of the old attempt changes nothing; suppressed
marketing mail is told apart in the same batch; two worker processes' worth of jobs for the
same messages send each message once."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import event, func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from spirit_tours.config import Settings
from spirit_tours.core.clock import now_utc
from spirit_tours.core.enums import EmailStatus, SuppressionSource
from spirit_tours.emails.claims import ClaimBook, Outcome
from spirit_tours.emails.queueing import Queued, enqueue_messages
from spirit_tours.persistence.database import SessionFactory, create_engine
from spirit_tours.persistence.emails import EmailMessage as MessageRow
from spirit_tours.persistence.emails import EmailSuppression
from tests.conftest import TEST_KEYRING
from tests.email_flows import Inbox, running_jobs, settled, smtp, until

__all__ = ["smtp"]


async def _queued(sessions: SessionFactory, count: int, template: str = "newsletter") -> list[Any]:
    async with sessions() as session, session.begin():
        rows = await session.execute(
            insert(MessageRow).returning(MessageRow.id, MessageRow.scheduled_at),
            [
                {"id": uuid.uuid4(), "template": template, "locale": "en",
                 "recipient": f"Reader{n}@Example.com", "priority": "BULK",
                 "context": {"name": f"Reader {n}", "headline": "Andes", "body": "News",
                             "article_url": "https://spirit-tours.example/news"},
                 "status": EmailStatus.QUEUED, "message_id": f"<claims{n}@spirit-tours.example>"}
                for n in range(count)
            ],
        )  # fmt: skip
        return list(rows)


class _Worker:
    """What one worker process has of its own: an engine (its connections) and a claim book;
    ``updates`` counts the UPDATE statements it sent."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.book = ClaimBook(engine)
        self.updates = 0

        def count(connection: Any, cursor: Any, statement: str, *args: Any) -> None:
            self.updates += statement.lstrip().upper().startswith("UPDATE")

        event.listen(engine.sync_engine, "before_cursor_execute", count)


@pytest.fixture
async def two_workers(database_url: str) -> AsyncIterator[tuple[_Worker, _Worker]]:
    engines = [create_engine(database_url, pool_size=2, keyring=TEST_KEYRING) for _ in range(2)]
    try:
        yield _Worker(engines[0]), _Worker(engines[1])
    finally:
        for engine in engines:
            await engine.dispose()


async def test_two_workers_racing_for_the_same_rows_claim_each_once_in_a_few_statements(
    sessions: SessionFactory, two_workers: tuple[_Worker, _Worker]
) -> None:
    rows = await _queued(sessions, 300)
    first, second = two_workers
    claims = await asyncio.gather(
        *(worker.book.claim(row.id, 30.0) for row in rows for worker in (first, second))
    )
    won = [claim for claim in claims if claim is not None]
    assert sorted(claim.row.id for claim in won) == sorted(row.id for row in rows)
    assert all(claim.row.attempts == 1 for claim in won)
    assert first.updates + second.updates <= 20  # batches, not 600 statements
    async with sessions() as session:
        stored = list(await session.scalars(select(MessageRow)))
        database_now = await session.scalar(select(func.now()))
    assert database_now is not None
    assert {(row.status, row.attempts) for row in stored} == {(EmailStatus.SENDING, 1)}
    for row in stored:  # the lease runs on the database's clock
        assert row.lease_until is not None
        assert 25 < (row.lease_until - database_now).total_seconds() <= 30


async def test_an_expired_lease_is_claimed_again_and_the_late_outcome_changes_nothing(
    sessions: SessionFactory, two_workers: tuple[_Worker, _Worker]
) -> None:
    rows = await _queued(sessions, 40)
    first, second = two_workers
    old = await asyncio.gather(*(first.book.claim(row.id, 1.0) for row in rows))
    assert all(claim is not None for claim in old)
    live = await asyncio.gather(*(second.book.claim(row.id, 30.0) for row in rows))
    assert live == [None] * len(rows)  # the lease holds
    await asyncio.sleep(1.2)
    new = await asyncio.gather(*(second.book.claim(row.id, 30.0) for row in rows))
    assert all(claim is not None and claim.row.attempts == 2 for claim in new)
    # The first worker comes back from a stuck send: its outcome is not written...
    sent = Outcome(EmailStatus.SENT, sent_at=now_utc())
    await asyncio.gather(*(first.book.record(claim, sent) for claim in old if claim))
    async with sessions() as session:
        stored = list(await session.scalars(select(MessageRow)))
    assert {(row.status, row.attempts, row.sent_at) for row in stored} == {
        (EmailStatus.SENDING, 2, None)
    }
    # ...the second's is, each with its own values.
    errors = {claim.row.id: f"451 for {n}" for n, claim in enumerate(new) if claim}
    later = now_utc()
    await asyncio.gather(*(
        second.book.record(claim, Outcome(EmailStatus.QUEUED, scheduled_at=later,
                                          last_error=errors[claim.row.id]))
        for claim in new if claim
    ))  # fmt: skip
    async with sessions() as session:
        stored = list(await session.scalars(select(MessageRow)))
    assert {(row.status, row.attempts, row.lease_until) for row in stored} == {
        (EmailStatus.QUEUED, 2, None)
    }
    assert {row.id: row.last_error for row in stored} == errors
    assert {row.scheduled_at for row in stored} == {later}


async def test_suppressed_marketing_mail_is_told_apart_in_the_claim(
    sessions: SessionFactory, two_workers: tuple[_Worker, _Worker]
) -> None:
    newsletters = await _queued(sessions, 4)
    async with sessions() as session, session.begin():
        session.add(
            EmailSuppression(email="reader2@example.com", category="newsletter",
                             source=SuppressionSource.ONE_CLICK)
        )  # fmt: skip
    first, _ = two_workers
    claims = await asyncio.gather(*(first.book.claim(row.id, 30.0) for row in newsletters))
    assert [claim.suppressed if claim else None for claim in claims] == [
        False, False, True, False
    ]  # fmt: skip
    suppressed = claims[2]
    assert suppressed is not None
    await first.book.record(suppressed, Outcome(EmailStatus.SUPPRESSED, keep_error=True))
    async with sessions() as session:
        row = await session.get(MessageRow, suppressed.row.id)
    assert row is not None
    assert (row.status, row.lease_until) == (EmailStatus.SUPPRESSED, None)


@pytest.mark.slow  # two sets of workers
async def test_two_workers_with_jobs_for_the_same_messages_send_each_once(
    smtp: tuple[Inbox, int], settings: Settings, sessions: SessionFactory
) -> None:
    """Every message has two saq jobs (one in the BULK lane, one in the NORMAL lane, as a
    dispatcher racing a producer could leave), and two workers run them all."""
    inbox, port = smtp
    rows = await _queued(sessions, 120)
    async with running_jobs(settings, port) as one, running_jobs(settings, port):
        await enqueue_messages(one.email_queues, [
            Queued(row.id, lane, row.scheduled_at) for row in rows for lane in ("BULK", "NORMAL")
        ])  # fmt: skip
        await until(lambda: len(inbox.received) >= 120, 60, "every message")
        await settled(one, sessions)
    assert sorted(m["To"] for m in inbox.received) == sorted(
        f"Reader{n}@Example.com" for n in range(120)
    )
    async with sessions() as session:
        stored = list(await session.scalars(select(MessageRow)))
    assert {(row.status, row.attempts) for row in stored} == {(EmailStatus.SENT, 1)}
