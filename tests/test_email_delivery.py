"""E-mail delivery through saq to a real SMTP server (aiosmtpd): sent once with both parts
and tracked links; retried with growing delays, dead-lettered after the third attempt and
delivered once when ADMIN requeues it; a worker killed mid-send loses nothing; a flood of
BULK mail never delays a HIGH message."""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select, text

from spirit_tours.config import Settings
from spirit_tours.core.clock import now_utc
from spirit_tours.core.enums import EmailStatus, Role
from spirit_tours.core.metrics import PROCESS
from spirit_tours.emails.queueing import Queued, enqueue_messages
from spirit_tours.jobs.email import email_queues
from spirit_tours.persistence.database import SessionFactory
from spirit_tours.persistence.emails import EmailMessage as MessageRow
from tests.conftest import PASSWORD, TEST_ENCRYPTION_KEYS, UserFactory
from tests.email_flows import (
    Inbox,
    message_row,
    parts,
    queue_now,
    running_jobs,
    settled,
    smtp,
    until,
    until_status,
)
from tests.graphql_client import GraphQLClient

__all__ = ["smtp"]

WELCOME = {"name": "Ana <b>Quispe</b>", "login_url": "https://app.spirit-tours.example/login"}


async def test_a_message_is_delivered_once_with_both_parts_and_tracked_links(
    smtp: tuple[Inbox, int], settings: Settings, sessions: SessionFactory
) -> None:
    inbox, port = smtp
    async with running_jobs(settings, port) as runner:
        queued = await queue_now(sessions, runner, "welcome", "ana@example.com", "pt", WELCOME)
        await until(lambda: inbox.received, 20, "the message")
        await settled(runner, sessions)  # nothing more arrives
    (message,) = inbox.received
    row = await message_row(sessions, queued.id)
    assert row.status == EmailStatus.SENT
    assert row.attempts == 1
    assert row.sent_at is not None
    assert message["To"] == "ana@example.com"
    assert message["Message-ID"].strip() == row.message_id
    assert row.message_id.endswith("@spirit-tours.example>")
    assert message["Content-Language"] == "pt"
    assert "List-Unsubscribe" not in message  # transactional mail
    found = parts(message)
    assert set(found) == {"text/plain", "text/html"}
    assert "<b>Quispe</b>" not in found["text/html"]  # escaped
    assert "Ana &lt;b&gt;Quispe&lt;/b&gt;" in found["text/html"]
    # The HTML links go through the signed click redirect; the text part keeps the original.
    assert row.links == ["https://app.spirit-tours.example/login"]
    assert f"/e/c/{row.id}?u=https%3A%2F%2Fapp.spirit-tours.example%2Flogin" in found["text/html"]
    assert f"/e/o/{row.id}/" in found["text/html"]  # the open pixel
    assert "https://app.spirit-tours.example/login" in found["text/plain"]


def _outcome(template: str, outcome: str) -> float:
    """The workers run in this process: their counters are in this registry."""
    labels = {"template": template, "outcome": outcome}
    return PROCESS.get_sample_value("spirit_email_outcomes_total", labels) or 0.0


async def _counted(template: str, outcome: str, at_least: float, seconds: float = 5.0) -> float:
    """The counter once it reaches ``at_least`` (fails after ``seconds``): the worker counts an
    outcome once its row is recorded and its session closed, a moment after the row shows it."""
    deadline = time.monotonic() + seconds
    while (counted := _outcome(template, outcome)) < at_least:
        assert time.monotonic() < deadline, (template, outcome, counted, at_least)
        await asyncio.sleep(0.02)
    return counted


async def test_a_refused_message_is_retried_dead_lettered_and_requeued_by_admin_once(
    smtp: tuple[Inbox, int],
    settings: Settings,
    sessions: SessionFactory,
    gql: GraphQLClient,
    make_user: UserFactory,
) -> None:
    inbox, port = smtp
    inbox.down = True
    await make_user("ops@spirit.example")
    await make_user("agent@agency.example", role=Role.AGENCY, company="Andes Agency")
    outcomes = {o: _outcome("welcome", o) for o in ("retried", "failed")}
    # 3 s then 6 s: wide enough apart for saq's once-a-second scheduling to keep the order
    async with running_jobs(settings, port, retry_delay_seconds=3.0) as runner:
        queued = await queue_now(sessions, runner, "welcome", "ana@example.com", "es", WELCOME)

        await until_status(sessions, queued.id, EmailStatus.FAILED, 60)
        # spirit_email_outcomes_total: two attempts retried, the third a dead letter (the
        # welcome mail of the two users made above fails alike, maybe not yet to the end)
        assert (
            await _counted("welcome", "retried", outcomes["retried"] + 2) - outcomes["retried"] >= 2
        )
        assert await _counted("welcome", "failed", outcomes["failed"] + 1) - outcomes["failed"] >= 1
        row = await message_row(sessions, queued.id)
        assert row.attempts == 3
        assert row.failed_at is not None
        assert row.last_error
        assert "451" in row.last_error
        refusals = inbox.refusals["ana@example.com"]
        assert len(refusals) == 3
        first, second = (b - a for a, b in itertools.pairwise(refusals))
        assert first >= 2.9  # 3 s, then 6 s
        assert second > first
        assert inbox.to("ana@example.com") == []

        admin = await gql.token_for("ops@spirit.example", PASSWORD)
        agent = await gql.token_for("agent@agency.example", PASSWORD)
        listed = await gql.execute(DEAD_LETTERS, token=admin)
        edges = listed.ok()["emailDeadLetters"]["edges"]
        (edge,) = [e for e in edges if e["node"]["recipient"] == "ana@example.com"]
        assert edge["node"]["id"] == str(queued.id)
        assert edge["node"]["status"] == "FAILED"
        assert edge["node"]["attempts"] == 3
        assert "451" in edge["node"]["lastError"]
        # Only ADMIN sees or requeues dead letters.
        assert (await gql.execute(DEAD_LETTERS, token=agent)).codes == ["FORBIDDEN"]
        refused = await gql.execute(REQUEUE, {"id": str(queued.id)}, token=agent)
        assert refused.codes == ["FORBIDDEN"]
        assert (await message_row(sessions, queued.id)).status == EmailStatus.FAILED

        inbox.down = False  # the server recovers; the operator requeues the dead letter
        requeued = await gql.execute(REQUEUE, {"id": str(queued.id)}, token=admin)
        assert requeued.ok()["requeueEmail"]["status"] in {"QUEUED", "SENDING", "SENT"}
        await until(lambda: inbox.to("ana@example.com"), 20, "the requeued message")
        await settled(runner, sessions)
        again = await gql.execute(REQUEUE, {"id": str(queued.id)}, token=admin)
        assert again.codes == ["INVALID_STATE"]  # sent: nothing to requeue
        missing = await gql.execute(REQUEUE, {"id": str(uuid.uuid4())}, token=admin)
        assert missing.codes == ["NOT_FOUND"]
        assert (await gql.execute(REQUEUE, {"id": "nope"}, token=admin)).codes == ["BAD_USER_INPUT"]
    assert len(inbox.to("ana@example.com")) == 1
    row = await message_row(sessions, queued.id)
    assert (row.status, row.requeues, row.attempts) == (EmailStatus.SENT, 1, 1)


DEAD_LETTERS = """
{ emailDeadLetters(first: 10) { totalCount edges { node {
    id template recipient status attempts lastError failedAt } } } }
"""
REQUEUE = """
mutation Requeue($id: ID!) { requeueEmail(id: $id) { id status requeues } }
"""


@pytest.mark.slow  # a worker process, killed
async def test_a_worker_killed_in_the_middle_of_a_send_loses_no_message(
    smtp: tuple[Inbox, int], settings: Settings, sessions: SessionFactory
) -> None:
    """A real ``spirit-tours worker`` process takes the message, the SMTP server holds the
    DATA, the process is SIGKILLed; the job, past its timeout, is swept and sent once by
    the next worker."""
    inbox, port = smtp
    inbox.stall = threading.Event()
    assert settings.database_url
    assert settings.redis_url
    env = {
        **os.environ,
        "SPIRIT_ENV": "test",
        "SPIRIT_DATABASE_URL": settings.database_url,
        "SPIRIT_REDIS_URL": settings.redis_url,
        "SPIRIT_SMTP_URL": f"smtp://127.0.0.1:{port}",
        "SPIRIT_EMAIL_SENDER": "Spirit Tours <no-reply@spirit-tours.example>",
        "SPIRIT_JOB_SWEEP_SECONDS": "1",
        "SPIRIT_ENCRYPTION_KEYS": TEST_ENCRYPTION_KEYS,
        # Outside development a process refuses to start without strong secrets of its own.
        "SPIRIT_JWT_SECRET": settings.jwt_secret.get_secret_value(),
        "SPIRIT_EMAIL_SECRET": settings.email_secret.get_secret_value(),
    }
    worker_log = tempfile.TemporaryFile()  # noqa: SIM115 - closed below
    worker = subprocess.Popen(  # noqa: S603, ASYNC220 - a real process, to be killed for real
        [str(Path(sys.executable).parent / "spirit-tours"), "worker", "--concurrency", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=worker_log,
    )
    try:
        from spirit_tours.emails.queueing import queue_email

        async with sessions() as session, session.begin():
            queued = await queue_email(session, template="welcome", to="ana@example.com",
                                       locale="en", context=WELCOME,
                                       message_id_domain="spirit-tours.example")  # fmt: skip
        assert queued is not None
        queues = email_queues(settings.redis_url)
        await enqueue_messages(queues, [queued], timeout_seconds=3)
        await until(lambda: inbox.stalled == 1 or worker.poll() is not None, 60,
                    "the worker to start sending")  # fmt: skip
        if worker.poll() is not None:
            worker_log.seek(0)
            pytest.fail(f"the worker exited: {worker_log.read().decode(errors='replace')[-2000:]}")
        worker.send_signal(signal.SIGKILL)
        await asyncio.to_thread(worker.wait, 10)
    finally:
        if worker.poll() is None:
            worker.kill()
        worker_log.close()
    inbox.stall.set()
    inbox.stall = None
    assert (await message_row(sessions, queued.id)).status == EmailStatus.SENDING  # its claim
    async with running_jobs(settings, port, sweep_seconds=1) as runner:
        await until(lambda: inbox.received, 30, "the message after the crash")
        await settled(runner, sessions)
    assert len(inbox.received) == 1
    row = await message_row(sessions, queued.id)
    assert row.status == EmailStatus.SENT
    assert row.attempts == 2  # the killed attempt counts: a message that kills workers dies


async def test_a_lost_saq_job_is_dispatched_again_from_the_database(
    smtp: tuple[Inbox, int], settings: Settings, sessions: SessionFactory
) -> None:
    """Redis lost the job (restart without persistence): the row is still QUEUED, and the
    dispatcher job hands it to saq again."""
    inbox, port = smtp
    from spirit_tours.emails.queueing import queue_email
    from spirit_tours.jobs.email import dispatch_stranded

    async with sessions() as session, session.begin():
        queued = await queue_email(session, template="welcome", to="ana@example.com",
                                   locale="es", context=WELCOME,
                                   message_id_domain="spirit-tours.example")  # fmt: skip
        assert queued is not None
        # committed two minutes ago, never handed to saq
        await session.execute(
            text("UPDATE email_messages SET scheduled_at = now() - interval '2 minutes'")
        )
    async with running_jobs(settings, port) as runner:
        added = await dispatch_stranded({"sessions": sessions, "email_queues": runner.email_queues})
        assert added == 1
        await until(lambda: inbox.received, 20, "the stranded message")
        assert (
            await dispatch_stranded({"sessions": sessions, "email_queues": runner.email_queues})
            == 0
        )
    assert len(inbox.received) == 1


@pytest.mark.slow  # 5,000 messages
async def test_5000_bulk_messages_never_delay_a_high_message(
    smtp: tuple[Inbox, int], settings: Settings, sessions: SessionFactory
) -> None:
    inbox, port = smtp
    async with sessions() as session, session.begin():
        # Through the model, so each context is sealed as the application seals it.
        rows = await session.execute(
            insert(MessageRow).returning(MessageRow.id, MessageRow.scheduled_at),
            [
                {"id": uuid.uuid4(), "template": "newsletter", "locale": "en",
                 "recipient": f"reader{n}@example.com", "priority": "BULK",
                 "context": {"name": f"Reader {n}", "headline": "Andes", "body": "News",
                             "article_url": "https://spirit-tours.example/news"},
                 "status": EmailStatus.QUEUED,
                 "message_id": f"<bulk{n}@spirit-tours.example>"}
                for n in range(1, 5001)
            ],
        )  # fmt: skip
        bulk = [Queued(row.id, "BULK", row.scheduled_at) for row in rows]
    # Every BULK job waits in saq before the worker starts: handed over one by one while it
    # drains, they would race the drain, and the test would time the hand-over, not the lanes.
    assert settings.redis_url
    queues = email_queues(settings.redis_url)
    try:
        assert await enqueue_messages(queues, bulk) == 5000
    finally:
        for queue in queues.values():
            await queue.disconnect()
    async with running_jobs(settings, port) as runner:
        await until(lambda: len(inbox.received) >= 20, 60, "the bulk to start draining")
        reset = {"name": "Ana", "minutes": 30,
                 "reset_url": "https://app.spirit-tours.example/reset?token=abc"}  # fmt: skip
        started = time.monotonic()
        await queue_now(sessions, runner, "password_reset", "ana@example.com", "es", reset)
        await until(lambda: inbox.to("ana@example.com"), 30, "the HIGH message")
        waited = time.monotonic() - started
        delivered_before = len(inbox.received) - 1
    async with sessions() as session:
        still_queued = await session.scalar(
            select(func.count())
            .select_from(MessageRow)
            .where(MessageRow.template == "newsletter", MessageRow.status == EmailStatus.QUEUED)
        )
    # The HIGH message went while thousands of BULK ones were still waiting.
    assert delivered_before < 5000, (delivered_before, waited)
    assert still_queued is not None
    assert still_queued > 1000, (still_queued, waited)
    assert inbox.to("ana@example.com")[0]["Subject"]


async def test_a_server_that_never_answers_times_out_three_times_then_dead_letters(
    smtp: tuple[Inbox, int], settings: Settings, sessions: SessionFactory
) -> None:
    inbox, port = smtp
    inbox.stall = threading.Event()
    async with running_jobs(settings, port, sweep_seconds=1) as runner:
        from spirit_tours.emails.queueing import queue_email

        async with sessions() as session, session.begin():
            queued = await queue_email(session, template="welcome", to="ana@example.com",
                                       locale="en", context=WELCOME,
                                       message_id_domain="spirit-tours.example")  # fmt: skip
        assert queued is not None
        # a 3 s job: each attempt gives up on the silent server after 1.5 s
        await enqueue_messages(runner.email_queues, [queued], timeout_seconds=3)

        await until_status(sessions, queued.id, EmailStatus.FAILED, 60)
    row = await message_row(sessions, queued.id)
    assert row.attempts == 3
    assert inbox.stalled == 3
    assert row.last_error is not None
    assert "TimeoutError" in row.last_error


async def test_a_permanent_refusal_is_dead_lettered_at_once(
    smtp: tuple[Inbox, int], settings: Settings, sessions: SessionFactory
) -> None:
    inbox, port = smtp
    inbox.permanent = True
    async with running_jobs(settings, port) as runner:
        queued = await queue_now(sessions, runner, "welcome", "ghost@example.com", "en", WELCOME)

        await until_status(sessions, queued.id, EmailStatus.FAILED, 30)
    row = await message_row(sessions, queued.id)
    assert row.attempts == 1  # 550: retrying would not help
    assert row.last_error is not None
    assert "550" in row.last_error


async def test_admin_requeues_every_dead_letter_after_an_outage_but_not_reset_links(
    smtp: tuple[Inbox, int],
    settings: Settings,
    sessions: SessionFactory,
    gql: GraphQLClient,
    make_user: UserFactory,
) -> None:
    inbox, port = smtp
    await make_user("ops@spirit.example")
    admin = await gql.token_for("ops@spirit.example", PASSWORD)
    async with sessions() as session, session.begin():
        contexts = {
            "welcome": {"name": "Ana", "login_url": "https://a.example/l"},
            "password_reset": {"name": "Ana", "minutes": 30,
                               "reset_url": "https://a.example/r?token=old"},
        }  # fmt: skip
        session.add_all(
            MessageRow(template=template, locale="en", recipient=f"{template}{n}@example.com",
                       priority="NORMAL", context=context, status=EmailStatus.FAILED,
                       message_id=f"<dead{template}{n}@x>", failed_at=now_utc(), attempts=3,
                       requeues=0, links=[], open_count=0, click_count=0,
                       last_error="SMTPServerDisconnected")
            for n in range(1, 4)
            for template, context in contexts.items()
        )  # fmt: skip
    unknown = await gql.execute("mutation { requeueDeadLetters(template: NOPE) }", token=admin)
    assert unknown.codes == ["GRAPHQL_VALIDATION_FAILED"]
    none_of_one = await gql.execute(
        "mutation { requeueDeadLetters(template: BIRTHDAY) }", token=admin
    )
    assert none_of_one.ok() == {"requeueDeadLetters": 0}
    async with running_jobs(settings, port):
        requeued = await gql.execute("mutation { requeueDeadLetters }", token=admin)
        assert requeued.ok() == {"requeueDeadLetters": 3}
        await until(lambda: len([m for m in inbox.received if "welcome" in m["To"]]) == 3, 20,
                    "the requeued mail")  # fmt: skip
        again = await gql.execute("mutation { requeueDeadLetters }", token=admin)
        assert again.ok() == {"requeueDeadLetters": 0}
    left = await gql.execute(DEAD_LETTERS, token=admin)
    assert {e["node"]["template"] for e in left.ok()["emailDeadLetters"]["edges"]} == {
        "PASSWORD_RESET"
    }


async def test_stopping_the_workers_lets_a_send_in_progress_finish_and_be_recorded(
    smtp: tuple[Inbox, int], settings: Settings, sessions: SessionFactory
) -> None:
    """A deploy stops the workers while the SMTP server is taking a message: the worker
    waits for it and records SENT, so the message is not sent again after the restart."""
    inbox, port = smtp
    inbox.stall = threading.Event()
    inbox.accept_after_stall = True
    async with running_jobs(settings, port) as runner:
        queued = await queue_now(sessions, runner, "welcome", "ana@example.com", "en", WELCOME)
        await until(lambda: inbox.stalled == 1, 20, "the send to start")
        stopping = asyncio.create_task(runner.stop())
        # A pause that is the assertion itself: stopping does not end while the send is held
        # (no event marks "still waiting"; 1 s is the worker's retry delay, long enough).
        await asyncio.sleep(1.0)
        assert not stopping.done()  # it waits for the send in progress
        inbox.stall.set()
        await asyncio.wait_for(stopping, 20)
    row = await message_row(sessions, queued.id)
    assert row.status == EmailStatus.SENT, row.last_error
    assert len(inbox.to("ana@example.com")) == 1
