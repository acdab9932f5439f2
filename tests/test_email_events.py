"""Domain events become e-mail: the workflow of a real quotation, booking and Stripe payment
on the live server, with the workers running, lands in a real SMTP server — each message
in its recipient's language, with exactly what that recipient may see (docs/privacy.md §2.6)."""

from __future__ import annotations

import asyncio
import io
import uuid
from decimal import Decimal

import httpx
from babel.numbers import format_currency
from pypdf import PdfReader
from sqlalchemy import select

from spirit_tours.config import Settings
from spirit_tours.core.enums import EmailStatus
from spirit_tours.persistence.database import SessionFactory
from spirit_tours.persistence.emails import EmailMessage as MessageRow
from tests.booking_flows import CANCEL, approved_quotation, book
from tests.conftest import UserFactory
from tests.email_flows import Inbox, parts, running_jobs, settled, smtp
from tests.graphql_client import GraphQLClient
from tests.payment_flows import start_payment, stripe_api, stripe_event, stripe_signature
from tests.quotation_flows import make_world

__all__ = ["smtp"]


async def _sent(sessions: SessionFactory) -> list[MessageRow]:
    async with sessions() as session:
        return list(
            await session.scalars(
                select(MessageRow)
                .where(MessageRow.status == EmailStatus.SENT)
                .order_by(MessageRow.created_at)
            )
        )


def _by_template(rows: list[MessageRow], template: str) -> list[MessageRow]:
    return [row for row in rows if row.template == template]


async def test_the_workflow_mails_each_party_in_its_language_with_what_it_may_see(
    smtp: tuple[Inbox, int],
    settings: Settings,
    sessions: SessionFactory,
    gql: GraphQLClient,
    http: httpx.AsyncClient,
    make_user: UserFactory,
) -> None:
    inbox, port = smtp
    async with running_jobs(settings, port) as runner:
        world = await make_world(gql, make_user)
        quotation_id = await approved_quotation(gql, world)
        booking_id = await book(gql, world.agency.token, quotation_id)
        with stripe_api():
            payment = (await start_payment(gql, world.agency.token, booking_id)).ok()
        payment_id = payment["startPayment"]["payment"]["id"]
        succeeded = stripe_event("payment_intent.succeeded", payment_id, amount=36000)
        answer = await http.post("/webhooks/stripe", content=succeeded,
                                 headers=stripe_signature(succeeded))  # fmt: skip
        assert answer.json()["outcome"] == "APPLIED"
        cancelled = await gql.execute(CANCEL, {"b": booking_id, "reason": "Change of plans"},
                                      token=world.agency.token)  # fmt: skip
        cancelled.ok()

        expected = {"welcome": 8, "quotation_created": 1, "hotel_invitation": 3,
                    "quotation_approved": 1, "booking_confirmed": 1, "payment_received": 1,
                    "cancellation_notice": 1}  # fmt: skip

        async def all_sent() -> bool:
            rows = await _sent(sessions)
            return all(len(_by_template(rows, t)) >= n for t, n in expected.items())

        for _ in range(600):
            if await all_sent():
                break
            await asyncio.sleep(0.1)
        await settled(runner, sessions)  # nothing more, nothing twice
    rows = await _sent(sessions)
    counts = {t: len(_by_template(rows, t)) for t in expected}
    assert counts == expected
    received = {m["Message-ID"].strip(): m for m in inbox.received}
    assert len(received) == len(inbox.received) == len(rows)  # each message once

    def mail(row: MessageRow) -> tuple[str, str, str]:
        message = received[row.message_id]
        text = parts(message)
        return message["Subject"], text["text/plain"], text["text/html"]

    owner = "maria@andes.example"
    for template in ("quotation_created", "quotation_approved", "booking_confirmed",
                     "payment_received", "cancellation_notice"):  # fmt: skip
        (row,) = _by_template(rows, template)
        assert row.recipient == owner
        assert row.locale == "es"
    _, approved_text, _ = mail(_by_template(rows, "quotation_approved")[0])
    assert format_currency(Decimal("1200.00"), "USD", locale="es") in approved_text
    _, paid_text, _ = mail(_by_template(rows, "payment_received")[0])
    assert format_currency(Decimal("360.00"), "USD", locale="es") in paid_text

    # Booking confirmed: the PDF voucher is attached and names the booking.
    confirmed_row = _by_template(rows, "booking_confirmed")[0]
    confirmed = received[confirmed_row.message_id]
    (voucher,) = [p for p in confirmed.walk() if p.get_content_type() == "application/pdf"]
    reference = confirmed_row.context["reference"]
    assert voucher.get_filename() == f"voucher-{reference}.pdf"
    pdf_bytes = voucher.get_payload(decode=True)
    assert isinstance(pdf_bytes, bytes)
    pdf_text = PdfReader(io.BytesIO(pdf_bytes)).pages[0].extract_text()
    assert reference in pdf_text
    assert "Comprobante de reserva" in pdf_text

    # Hotels: each invited hotel's user, never the owner's identity or any price.
    invitations = _by_template(rows, "hotel_invitation")
    assert sorted(r.recipient for r in invitations) == [
        f"hotel{n}@hotels.example" for n in range(3)
    ]
    for row in invitations:
        subject, text, body = mail(row)
        for secret in ("Andes Travel", "maria", "1200", "1.200", "1000", "1.000"):
            assert secret not in text
            assert secret not in body
            assert secret not in subject
    assert "hotel3@hotels.example" not in {r.recipient for r in rows if r.template != "welcome"}
    # The welcome mail reached every new user (the one created per test world).
    assert len({r.recipient for r in _by_template(rows, "welcome")}) == 8
    assert uuid.UUID(booking_id)


async def test_guides_refunds_and_payment_reminders_are_mailed_too(
    smtp: tuple[Inbox, int],
    settings: Settings,
    sessions: SessionFactory,
    gql: GraphQLClient,
    http: httpx.AsyncClient,
    make_user: UserFactory,
) -> None:
    from datetime import date, timedelta

    from spirit_tours.core.enums import Locale, Role
    from spirit_tours.jobs.bookings import announce_payment_reminders
    from spirit_tours.jobs.payments import execute_due_refunds
    from tests.booking_flows import ASSIGN_GUIDE

    inbox, port = smtp
    world = await make_world(gql, make_user)
    guide = await make_user("pedro@guides.example", Role.GUIDE, locale=Locale.PT)
    paid_id = await book(gql, world.agency.token, await approved_quotation(gql, world))
    unpaid_id = await book(
        gql, world.agency.token,
        await approved_quotation(gql, world, start=date.today() + timedelta(days=40)),
    )  # fmt: skip
    async with running_jobs(settings, port) as runner:
        with stripe_api():
            payment = (await start_payment(gql, world.agency.token, paid_id)).ok()
            payment_id = payment["startPayment"]["payment"]["id"]
            succeeded = stripe_event("payment_intent.succeeded", payment_id, amount=36000)
            await http.post("/webhooks/stripe", content=succeeded,
                            headers=stripe_signature(succeeded))  # fmt: skip
            assigned = await gql.execute(ASSIGN_GUIDE, {"b": paid_id, "g": str(guide.id),
                                         "lang": "pt"}, token=world.admin.token)  # fmt: skip
            assigned.ok()
            (await gql.execute(CANCEL, {"b": paid_id, "reason": "Storm"},
                               token=world.agency.token)).ok()  # fmt: skip
            assert await execute_due_refunds(runner.job_context()) == 1  # the cron job's work
        async with sessions() as session, session.begin():
            # the deposit of the unpaid booking is due in 3 days: the reminder goes
            assert await announce_payment_reminders(session, date.today()) >= 1

        async def arrived() -> bool:
            rows = await _sent(sessions)
            return all(_by_template(rows, t) for t in
                       ("guide_assigned", "refund_processed", "reminder_payment"))  # fmt: skip

        for _ in range(600):
            if await arrived():
                break
            await asyncio.sleep(0.1)
    rows = await _sent(sessions)
    (guide_mail,) = _by_template(rows, "guide_assigned")
    assert (guide_mail.recipient, guide_mail.locale) == ("pedro@guides.example", "pt")
    (refund_mail,) = _by_template(rows, "refund_processed")
    assert refund_mail.recipient == "maria@andes.example"
    received = {m["Message-ID"].strip(): m for m in inbox.received}
    refund_text = parts(received[refund_mail.message_id])["text/plain"]
    assert format_currency(Decimal("360.00"), "USD", locale="es") in refund_text
    reminders = _by_template(rows, "reminder_payment")
    unpaid_reference = await _reference(sessions, unpaid_id)
    (reminder,) = [r for r in reminders if r.context["reference"] == unpaid_reference]
    reminder_text = parts(received[reminder.message_id])["text/plain"]
    assert format_currency(Decimal("360.00"), "USD", locale="es") in reminder_text  # the deposit
    assert f"/bookings/{unpaid_id}/pay" in reminder_text


async def _reference(sessions: SessionFactory, booking_id: str) -> str:
    from spirit_tours.persistence.bookings import Booking

    async with sessions() as session:
        booking = await session.get_one(Booking, uuid.UUID(booking_id))
    return booking.reference


async def test_a_company_with_two_invited_hotels_gets_one_invitation_per_hotel(
    smtp: tuple[Inbox, int],
    settings: Settings,
    sessions: SessionFactory,
    gql: GraphQLClient,
    make_user: UserFactory,
) -> None:
    from spirit_tours.core.enums import Role
    from tests.conftest import PASSWORD
    from tests.quotation_flows import CREATE, INVITE, quotation_input

    _inbox, port = smtp
    await make_user("ops@spirit.example", Role.ADMIN)
    await make_user("maria@andes.example", Role.AGENCY, company="Andes Travel")
    await make_user("desk@inca.example", Role.HOTEL, company="Inca Group", hotel="Inca Cusco")
    await make_user("lima@inca.example", Role.HOTEL, company="Inca Group", hotel="Inca Lima")
    admin = await gql.token_for("ops@spirit.example", PASSWORD)
    maria = await gql.token_for("maria@andes.example", PASSWORD)
    desk = await gql.token_for("desk@inca.example", PASSWORD)
    hotels = await gql.execute("{ viewer { company { hotels { id } } } }", token=desk)
    hotel_ids = [h["id"] for h in hotels.ok()["viewer"]["company"]["hotels"]]
    assert len(hotel_ids) == 2
    created = await gql.execute(CREATE, {"input": quotation_input()}, token=maria)
    quotation_id = created.ok()["createQuotation"]["quotation"]["id"]
    async with running_jobs(settings, port):
        (await gql.execute(INVITE, {"q": quotation_id, "hotels": hotel_ids}, token=admin)).ok()

        async def invitations() -> list[MessageRow]:
            return _by_template(await _sent(sessions), "hotel_invitation")

        for _ in range(300):
            if len(await invitations()) >= 4:
                break
            await asyncio.sleep(0.1)
    rows = await invitations()
    assert sorted((r.recipient, r.context["hotel_name"]) for r in rows) == [
        ("desk@inca.example", "Inca Cusco"), ("desk@inca.example", "Inca Lima"),
        ("lima@inca.example", "Inca Cusco"), ("lima@inca.example", "Inca Lima"),
    ]  # fmt: skip
