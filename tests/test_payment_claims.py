"""A key's claim on its payment: the request that inserted the payment talks to the providers
and stores their answer; when it is silent for longer than ``STALE_CLAIM`` (it died, as far as
anyone can tell), a retry with the same key takes the payment over and calls the provider again
with the same provider-side idempotency key. The owner may still answer afterwards: whichever
stores first, there is one payment and every provider call is recorded in its attempts."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import timedelta

import httpx
from sqlalchemy import func, select, update

from spirit_tours.core.clock import now_utc
from spirit_tours.core.enums import PaymentStatus, Provider, Role
from spirit_tours.payments.gateway import ProviderPayment
from spirit_tours.persistence.accounts import User
from spirit_tours.persistence.database import SessionFactory
from spirit_tours.persistence.events import AuditEntry, OutboxEvent
from spirit_tours.persistence.payments import Payment
from spirit_tours.resolvers.payments import start
from spirit_tours.resolvers.payments.holds import STALE_CLAIM
from spirit_tours.services import Services
from tests.booking_flows import booked
from tests.conftest import LiveServer, UserFactory
from tests.graphql_client import GraphQLClient, Result
from tests.payment_flows import START, payment_input, payment_intent, stripe_api
from tests.quotation_flows import make_world


async def _age_claim(sessions: SessionFactory, key: str) -> None:
    """The owner has been silent for longer than a claim lasts."""
    async with sessions() as session, session.begin():
        stale = now_utc() - STALE_CLAIM - timedelta(seconds=1)
        await session.execute(
            update(Payment).where(Payment.idempotency_key == key).values(claimed_at=stale)
        )


async def _race(
    gql: GraphQLClient, make_user: UserFactory, sessions: SessionFactory, *, owner_first: bool
) -> tuple[Result, Result, list[str], str]:
    """The owner's provider call is held until its claim is stale and a retry has taken the
    payment over and called the provider too; then the two calls answer in the order asked."""
    world = await make_world(gql, make_user)
    booking_id = await booked(gql, world)
    key = f"pay-{uuid.uuid4()}"
    calls: list[str] = []  # the Idempotency-Key of each call to Stripe
    called = [asyncio.Event(), asyncio.Event()]
    answer = [asyncio.Event(), asyncio.Event()]

    async def held_intent(request: httpx.Request) -> httpx.Response:
        call = len(calls)
        calls.append(request.headers.get("Idempotency-Key", ""))
        called[call].set()
        await answer[call].wait()
        return payment_intent(request)

    variables = {"input": payment_input(booking_id, key)}
    with stripe_api() as stripe:
        stripe.routes["intents"].side_effect = held_intent
        owner = asyncio.create_task(gql.execute(START, variables, token=world.agency.token))
        await asyncio.wait_for(called[0].wait(), 10)
        await _age_claim(sessions, key)
        retry = asyncio.create_task(gql.execute(START, variables, token=world.agency.token))
        await asyncio.wait_for(called[1].wait(), 10)
        first = owner if owner_first else retry
        answer[0 if owner_first else 1].set()
        await asyncio.wait_for(asyncio.shield(first), 10)
        answer[1 if owner_first else 0].set()
        return await owner, await retry, calls, key


async def _check(sessions: SessionFactory, owner: Result, retry: Result, calls: list[str],
                 key: str) -> None:  # fmt: skip
    owned = owner.ok()["startPayment"]["payment"]
    retried = retry.ok()["startPayment"]["payment"]
    assert owned["id"] == retried["id"]
    assert len(calls) == 2
    assert calls[0] == calls[1] != ""  # the provider sees one payment
    async with sessions() as session:
        payments = list(
            await session.scalars(select(Payment).where(Payment.idempotency_key == key))
        )
        started = await session.scalar(
            select(func.count())
            .select_from(OutboxEvent)
            .where(
                OutboxEvent.kind == "payment.started", OutboxEvent.aggregate_id == payments[0].id
            )
        )
    assert len(payments) == 1
    payment = payments[0]
    assert payment.status == PaymentStatus.REQUIRES_ACTION
    assert payment.claimed_at is None
    assert payment.next_action["kind"] == "CLIENT_SECRET"
    # Neither store replaced the other's record of its call.
    assert [attempt["outcome"] for attempt in payment.attempts] == ["ACCEPTED", "ACCEPTED"]
    assert started == 2  # each store announces what it stored


async def test_an_owner_that_answers_after_losing_its_claim_keeps_the_takers_call_recorded(
    gql: GraphQLClient, make_user: UserFactory, sessions: SessionFactory
) -> None:
    """The owner's provider answers first, after the retry took the payment over: the owner no
    longer holds the claim, so it stores under the payment's lock beside the taker's call."""
    owner, retry, calls, key = await _race(gql, make_user, sessions, owner_first=True)
    await _check(sessions, owner, retry, calls, key)


async def test_a_taker_that_answers_first_is_kept_when_the_late_owner_stores(
    gql: GraphQLClient, make_user: UserFactory, sessions: SessionFactory
) -> None:
    """The taker stores first (its claim is current); the owner answers later and adds its
    call to the attempts instead of replacing them."""
    owner, retry, calls, key = await _race(gql, make_user, sessions, owner_first=False)
    await _check(sessions, owner, retry, calls, key)


async def test_a_start_is_audited_once_with_who_and_what_and_a_retry_adds_nothing(
    gql: GraphQLClient, make_user: UserFactory, sessions: SessionFactory
) -> None:
    world = await make_world(gql, make_user)
    booking_id = await booked(gql, world)
    variables = {"input": payment_input(booking_id, f"pay-{uuid.uuid4()}")}
    with stripe_api():
        first = (await gql.execute(START, variables, token=world.agency.token)).ok()
        again = (await gql.execute(START, variables, token=world.agency.token)).ok()
    payment = first["startPayment"]["payment"]
    assert again["startPayment"]["payment"]["id"] == payment["id"]
    async with sessions() as session:
        entries = list(
            await session.execute(
                select(AuditEntry, User.email)
                .join(User, User.id == AuditEntry.actor_id)
                .where(AuditEntry.action == "payment.start")
            )
        )
    assert len(entries) == 1
    entry, actor = entries[0]
    assert actor == world.agency.email
    assert entry.actor_role == Role.AGENCY
    assert (entry.object_type, str(entry.object_id)) == ("Payment", payment["id"])
    assert entry.details == {"booking_id": booking_id, "amount": payment["amount"]["amount"],
                             "method": "CARD"}  # fmt: skip


async def test_the_one_statement_store_writes_only_under_the_claim_that_stores(
    gql: GraphQLClient, make_user: UserFactory, sessions: SessionFactory, live_server: LiveServer
) -> None:
    """Beneath the API, on purpose: through it every provider moves a payment off CREATED, so
    the status alone already stops a second one-statement store, and what the claim adds cannot
    be seen. It keeps that store exact for a provider that would answer CREATED: an answer
    stored under a claim another request took over replaces nothing."""
    world = await make_world(gql, make_user)
    booking_id = await booked(gql, world)
    key = f"pay-{uuid.uuid4()}"
    called, answer = asyncio.Event(), asyncio.Event()

    async def held_intent(request: httpx.Request) -> httpx.Response:
        called.set()
        await answer.wait()
        return payment_intent(request)

    services: Services = live_server.app.state.services
    gateway = services.payments.get(Provider.STRIPE)
    assert gateway is not None
    stored = ProviderPayment(reference="pi_taken_over", status=PaymentStatus.CREATED)
    attempt = [{"provider": "STRIPE", "outcome": "ACCEPTED", "at": now_utc().isoformat()}]
    with stripe_api() as stripe:
        stripe.routes["intents"].side_effect = held_intent
        variables = {"input": payment_input(booking_id, key)}
        owner = asyncio.create_task(gql.execute(START, variables, token=world.agency.token))
        await asyncio.wait_for(called.wait(), 10)
        async with sessions() as session, session.begin():
            payment = await session.scalar(select(Payment).where(Payment.idempotency_key == key))
            assert payment is not None
            assert payment.claimed_at is not None
            claim, taken = payment.claimed_at, now_utc()
            payment.claimed_at = taken  # another request takes the payment over
        lost = await start._store_started(sessions, payment.id, claim, gateway, stored, attempt)
        held = await start._store_started(sessions, payment.id, taken, gateway, stored, attempt)
        async with sessions() as session:
            after = await session.get_one(Payment, payment.id)
        answer.set()
        (await owner).ok()
    assert lost is None
    assert held is not None  # the payment as stored, which the answer is built from
    assert (held.id, held.provider_reference, held.claimed_at) == (
        payment.id,
        "pi_taken_over",
        None,
    )
    assert after.provider_reference == "pi_taken_over"
    assert after.attempts == attempt  # written once, by the request holding the claim
    assert after.claimed_at is None


_EVERY_FIELD = """
  id status method amount { amount currency } refundedAmount { amount currency } installments
  cardLast4 failureReason holdExpiresAt createdAt updatedAt provider providerReference
  nextAction { kind clientSecret redirectUrl qrCode qrCodeImage voucherUrl expiresAt }
  attempts { provider outcome }
"""
_START_EVERY_FIELD = (
    "mutation($input: StartPaymentInput!) { startPayment(input: $input) { payment {"
    + _EVERY_FIELD
    + "} nextAction { kind clientSecret } } }"
)
_READ_EVERY_FIELD = "query($id: ID!) { payment(id: $id) {" + _EVERY_FIELD + "} }"


def _intent_named(reference: str) -> Callable[[httpx.Request], httpx.Response]:
    """Stripe's answer to creating an intent, for an intent of this id."""

    def answer(request: httpx.Request) -> httpx.Response:
        intent = payment_intent(request).json()
        intent |= {"id": reference, "client_secret": f"{reference}_secret_abc"}
        return httpx.Response(200, json=intent)

    return answer


async def test_a_start_answers_the_payment_as_a_later_read_sees_it(
    gql: GraphQLClient, make_user: UserFactory
) -> None:
    """The request that stored the provider's answer answers from the row it stored, not from
    a read back: every field, for the owner and for an operator paying for them, is what
    ``payment(id)`` then shows that viewer (the owner is not shown what is the operator's)."""
    world = await make_world(gql, make_user)
    for number, payer in enumerate((world.agency, world.admin)):
        booking_id = await booked(gql, world)
        with stripe_api() as stripe:
            stripe.routes["intents"].side_effect = _intent_named(f"pi_3Spirit{number:04}")
            answer = (
                await gql.execute(
                    _START_EVERY_FIELD,
                    {"input": payment_input(booking_id, f"pay-{uuid.uuid4()}")},
                    token=payer.token,
                )
            ).ok()["startPayment"]
        stored = answer["payment"]
        assert stored["status"] == "REQUIRES_ACTION"
        assert answer["nextAction"] == {
            "kind": stored["nextAction"]["kind"],
            "clientSecret": stored["nextAction"]["clientSecret"],
        }
        read = (await gql.execute(_READ_EVERY_FIELD, {"id": stored["id"]}, token=payer.token)).ok()
        assert stored == read["payment"], payer
