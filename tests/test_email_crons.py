"""The scheduled jobs: offer-deadline warnings 24 h before to hotels that have not answered,
birthday greetings (29 February on the 28th, suppression honoured), quotation expiry — each
idempotent however often or wherever it runs."""

from __future__ import annotations

import uuid
from datetime import date
from email.message import EmailMessage

from sqlalchemy import func, select, text

from spirit_tours.config import Settings
from spirit_tours.core.enums import EmailStatus, Role
from spirit_tours.jobs.email_crons import birthday_mail, deadline_warnings
from spirit_tours.jobs.quotations import expire_quotations
from spirit_tours.persistence.database import SessionFactory
from spirit_tours.persistence.emails import EmailMessage as MessageRow
from spirit_tours.persistence.events import OutboxEvent
from spirit_tours.persistence.quotations import Quotation
from tests.booking_flows import approved_quotation, book
from tests.conftest import UserFactory
from tests.email_flows import Inbox, parts, running_jobs, smtp, until
from tests.graphql_client import GraphQLClient
from tests.quotation_flows import make_world, open_quotation, submit
from tests.test_quotation_workflow import DECLINE

__all__ = ["smtp"]


async def _rows(sessions: SessionFactory, template: str) -> list[MessageRow]:
    async with sessions() as session:
        return list(
            await session.scalars(select(MessageRow).where(MessageRow.template == template))
        )


async def test_deadline_warnings_go_once_to_hotels_that_have_not_answered(
    smtp: tuple[Inbox, int],
    settings: Settings,
    sessions: SessionFactory,
    gql: GraphQLClient,
    make_user: UserFactory,
) -> None:
    inbox, port = smtp
    world = await make_world(gql, make_user)
    soon = await open_quotation(gql, world)
    later = await open_quotation(gql, world)
    await submit(gql, world.hotels[0], soon, "900.00")  # answered
    (await gql.execute(DECLINE, {"q": soon}, token=world.hotels[1].token)).ok()  # answered
    async with sessions() as session, session.begin():
        await session.execute(
            text(
                "UPDATE quotations SET offer_deadline = now() + interval '20 hours' WHERE id = :q"
            ),
            {"q": uuid.UUID(soon)},
        )
        await session.execute(
            text(
                "UPDATE quotations SET offer_deadline = now() + interval '30 hours' WHERE id = :q"
            ),
            {"q": uuid.UUID(later)},
        )
    async with running_jobs(settings, port) as runner:
        ctx = runner.job_context()
        assert await deadline_warnings(ctx) == 1
        assert await deadline_warnings(ctx) == 0  # a second run (or worker) queues nothing
        (row,) = await _rows(sessions, "deadline_warning")

        def warnings() -> list[EmailMessage]:
            return [m for m in inbox.received if m["Message-ID"].strip() == row.message_id]

        await until(warnings, 20, "the warning")
    assert row.recipient == "hotel2@hotels.example"
    (row,) = await _rows(sessions, "deadline_warning")
    assert row.status == EmailStatus.SENT
    warning = warnings()
    assert len(warning) == 1
    assert f"/quotations/{soon}/offer" in parts(warning[0])["text/plain"]


async def test_birthdays_are_greeted_once_leaplings_on_the_28th_and_opt_outs_respected(
    settings: Settings, sessions: SessionFactory, make_user: UserFactory
) -> None:
    ana = await make_user("ana@example.com", role=Role.CLIENT)
    leo = await make_user("leo@example.com", role=Role.CLIENT)
    eva = await make_user("eva@example.com", role=Role.CLIENT)
    await make_user("tom@example.com", role=Role.CLIENT)
    async with sessions() as session, session.begin():
        for user, born in ((ana, "1990-02-28"), (leo, "1992-02-29"), (eva, "1985-02-28")):
            await session.execute(text("UPDATE users SET birth_date = :d WHERE id = :u"),
                                  {"d": date.fromisoformat(born), "u": user.id})  # fmt: skip
        await session.execute(
            text("INSERT INTO email_suppressions (email, category, source, created_at) "
                 "VALUES ('eva@example.com', 'birthday', 'PREFERENCES', now())")
        )  # fmt: skip
    assert settings.database_url
    assert settings.redis_url
    from spirit_tours.jobs.worker import JobRunner

    runner = JobRunner(settings, settings.database_url, settings.redis_url)
    try:
        ctx = runner.job_context()
        assert await birthday_mail(ctx, today=date(2027, 2, 28)) == 2  # ana and leo (2027: no 29)
        assert await birthday_mail(ctx, today=date(2027, 2, 28)) == 0
        assert await birthday_mail(ctx, today=date(2028, 2, 28)) == 1  # leap year: ana only
    finally:
        await runner.engine.dispose()
    rows = await _rows(sessions, "birthday")
    queued = sorted((r.recipient, r.source_key) for r in rows if r.status == EmailStatus.QUEUED)
    assert [recipient for recipient, _ in queued] == [
        "ana@example.com", "ana@example.com", "leo@example.com"
    ]  # fmt: skip
    suppressed = [r.recipient for r in rows if r.status == EmailStatus.SUPPRESSED]
    assert suppressed == ["eva@example.com"] * 2  # 2027 and 2028: counted, never sent


async def test_quotations_whose_trip_started_expire_once(
    settings: Settings, sessions: SessionFactory, gql: GraphQLClient, make_user: UserFactory
) -> None:
    world = await make_world(gql, make_user)
    stale = await open_quotation(gql, world)
    booked_quotation = await approved_quotation(gql, world)
    await book(gql, world.agency.token, booked_quotation)
    current = await open_quotation(gql, world)
    async with sessions() as session, session.begin():
        await session.execute(
            text("UPDATE quotations SET start_date = :d WHERE id IN (:a, :b)"),
            {"d": date(2020, 1, 1), "a": uuid.UUID(stale), "b": uuid.UUID(booked_quotation)},
        )
    assert settings.database_url
    assert settings.redis_url
    from spirit_tours.jobs.worker import JobRunner

    runner = JobRunner(settings, settings.database_url, settings.redis_url)
    try:
        ctx = runner.job_context()
        assert await expire_quotations(ctx) == 1
        assert await expire_quotations(ctx) == 0
    finally:
        await runner.engine.dispose()
    async with sessions() as session:
        statuses = {
            str(row.id): row.status.value
            for row in await session.scalars(select(Quotation))
        }  # fmt: skip
        expired_events = await session.scalar(
            select(func.count()).select_from(OutboxEvent)
            .where(OutboxEvent.kind == "quotation.expired")
        )  # fmt: skip
    assert statuses[stale] == "EXPIRED"
    assert statuses[booked_quotation] == "BOOKED"
    assert statuses[current] == "OPEN"
    assert expired_events == 1
