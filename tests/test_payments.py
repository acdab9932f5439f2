"""Payments end to end on the live server: Stripe through its real SDK against recorded HTTP,
webhooks signed with Stripe's scheme, idempotency under concurrency, refunds, privacy."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import httpx
import requests
import responses
from sqlalchemy import func, select

from spirit_tours.config import Settings
from spirit_tours.core.enums import Provider, Role
from spirit_tours.core.metrics import PROCESS
from spirit_tours.persistence.database import SessionFactory
from spirit_tours.persistence.events import AuditEntry
from spirit_tours.persistence.payments import Payment, WebhookDelivery
from tests.booking_flows import CANCEL, booked, event_count
from tests.conftest import PASSWORD, LiveServer, UserFactory
from tests.graphql_client import GraphQLClient
from tests.payment_flows import (
    PAYMENT,
    START,
    payment_input,
    start_payment,
    stripe_api,
    stripe_event,
    stripe_signature,
)
from tests.quotation_flows import make_world

TYPED_DETAILS = """
query($id: ID!) { payment(id: $id) { attempts { provider outcome at } webhooks { id } } }"""
START_ATTEMPTS = "query($id: ID!) { payment(id: $id) { provider attempts { provider outcome } } }"


async def _rows(sessions: SessionFactory, model: type) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


def _refusals(provider: str, reason: str) -> float:
    """Refused webhooks counted by this process (the live server runs in it)."""
    value = PROCESS.get_sample_value(
        "spirit_webhook_refusals_total", {"provider": provider, "reason": reason}
    )
    return value or 0.0


async def _webhook(
    http: httpx.AsyncClient, body: bytes, headers: Mapping[str, str]
) -> httpx.Response:
    return await http.post("/webhooks/stripe", content=body, headers=headers)


async def test_a_card_payment_through_stripe_confirms_the_booking_once(
    gql: GraphQLClient, http: httpx.AsyncClient, make_user: UserFactory, sessions: SessionFactory
) -> None:
    world = await make_world(gql, make_user)
    booking_id = await booked(gql, world)
    with stripe_api() as stripe:
        started = await start_payment(gql, world.agency.token, booking_id)
        intent_call = stripe["intents"].calls.last.request
    payload = started.ok()["startPayment"]
    payment = payload["payment"]
    assert payment["status"] == "REQUIRES_ACTION"
    assert payment["amount"] == {"amount": "360.00", "currency": "USD"}  # the 30 % deposit
    assert payload["nextAction"] == {
        "kind": "CLIENT_SECRET", "clientSecret": "pi_3Spirit0001_secret_abc",
        "redirectUrl": None, "qrCode": None, "voucherUrl": None,
    }  # fmt: skip
    # The owner never sees provider references (docs/privacy.md §1)...
    assert (payment["provider"], payment["providerReference"], payment["attempts"]) == (
        None, None, []
    )  # fmt: skip
    # ...and what went to Stripe: minor units, our id in metadata, the idempotency key.
    form = dict(httpx.QueryParams(intent_call.content.decode()))
    assert (form["amount"], form["currency"]) == ("36000", "usd")
    assert form["metadata[payment_id]"] == payment["id"]
    assert intent_call.headers["Idempotency-Key"] == f"spirit-{payment['id']}"

    succeeded = stripe_event("payment_intent.succeeded", payment["id"], amount=36000,
                             latest_charge="ch_1")  # fmt: skip
    first = await _webhook(http, succeeded, stripe_signature(succeeded))
    assert (first.status_code, first.json()["outcome"]) == (200, "APPLIED")
    again = await _webhook(http, succeeded, stripe_signature(succeeded))
    assert (again.status_code, again.json()["outcome"]) == (200, "DUPLICATE")
    late = stripe_event("payment_intent.processing", payment["id"], amount=36000)
    assert (await _webhook(http, late, stripe_signature(late))).json()["outcome"] == "APPLIED"

    seen = await gql.execute(PAYMENT, {"id": payment["id"]}, token=world.admin.token)
    admin_view = seen.ok()["payment"]
    assert admin_view["status"] == "SUCCEEDED"  # a late "processing" never undoes it
    assert admin_view["booking"] == {"status": "CONFIRMED", "amountPaid": {"amount": "360.00"}}
    assert (admin_view["provider"], admin_view["providerReference"]) == ("STRIPE", "pi_3Spirit0001")
    assert [w["outcome"] for w in admin_view["webhooks"]] == ["APPLIED", "DUPLICATE", "APPLIED"]
    # Typed values: the attempt's time is a DateTime with its offset, a webhook's id an ID.
    typed = await gql.execute(TYPED_DETAILS, {"id": payment["id"]}, token=world.admin.token)
    (attempt,) = typed.ok()["payment"]["attempts"]
    assert (attempt["provider"], attempt["outcome"]) == ("STRIPE", "ACCEPTED")
    assert datetime.fromisoformat(attempt["at"]).utcoffset() == timedelta(0)
    ids = [webhook["id"] for webhook in typed.ok()["payment"]["webhooks"]]
    assert len(ids) == 3
    assert all(isinstance(i, str) and i.isdigit() for i in ids)
    owner_view = await gql.execute(PAYMENT, {"id": payment["id"]}, token=world.agency.token)
    assert owner_view.ok()["payment"]["webhooks"] == []
    assert await event_count(sessions, "booking.confirmed") == 1
    assert await event_count(sessions, "payment.succeeded") == 1


async def test_forged_and_stale_webhooks_are_refused_counted_and_change_nothing(
    gql: GraphQLClient, http: httpx.AsyncClient, make_user: UserFactory, sessions: SessionFactory
) -> None:
    world = await make_world(gql, make_user)
    booking_id = await booked(gql, world)
    with stripe_api():
        payment = (await start_payment(gql, world.agency.token, booking_id)).ok()
    payment_id = payment["startPayment"]["payment"]["id"]
    body = stripe_event("payment_intent.succeeded", payment_id, amount=36000)
    tampered = body.replace(b"36000", b"99900")
    refused_before = _refusals("STRIPE", "signature")
    for sent, headers in (
        (body, stripe_signature(body, secret="whsec_forged")),
        (tampered, stripe_signature(body)),
        (body, stripe_signature(body, at=int(time.time()) - 3600)),  # replayed an hour later
        (body, {"Content-Type": "application/json"}),
        # Not ASCII: the SDK's compare_digest would raise TypeError (a 500) on it.
        (body, httpx.Headers({b"Stripe-Signature": b"t=%d,v1=\xc3\xa9" % time.time()})),
    ):
        refused = await _webhook(http, sent, headers)
        assert refused.status_code == 401
    async with sessions() as session:
        deliveries = list(await session.scalars(select(WebhookDelivery)))
        stored = await session.get_one(Payment, uuid.UUID(payment_id))
    assert deliveries == []  # an unverified delivery is not stored: anyone can send one
    assert _refusals("STRIPE", "signature") == refused_before + 5
    assert stored.status.value == "REQUIRES_ACTION"
    assert await event_count(sessions, "booking.confirmed") == 0
    unknown = await http.post("/webhooks/bitcoin", content=body)
    assert unknown.status_code == 404

    # The operator may replay the stored (now stale, but genuine) delivery through GraphQL.
    replay = """
    mutation($p: String!, $h: JSON!) {
      paymentWebhook(provider: STRIPE, payload: $p, headers: $h) {
        outcome payment { status booking { status } }
      }
    }"""
    stale = stripe_signature(body, at=int(time.time()) - 3600)
    variables = {"p": body.decode(), "h": stale}
    owner = await gql.execute(replay, variables, token=world.agency.token)
    assert owner.codes == ["FORBIDDEN"]
    replayed = (await gql.execute(replay, variables, token=world.admin.token)).ok()
    assert replayed["paymentWebhook"]["outcome"] == "APPLIED"
    assert replayed["paymentWebhook"]["payment"]["booking"]["status"] == "CONFIRMED"
    twice = (await gql.execute(replay, variables, token=world.admin.token)).ok()
    assert twice["paymentWebhook"]["outcome"] == "DUPLICATE"
    verified = await _rows(sessions, WebhookDelivery)
    assert verified == 2  # the verified replays only

    # An operator's replay of a forged delivery is refused, audited, and its body not stored.
    forged = {"p": tampered.decode(), "h": stale}
    refused = (await gql.execute(replay, forged, token=world.admin.token)).ok()
    assert refused["paymentWebhook"]["outcome"] == "REJECTED"
    assert await _rows(sessions, WebhookDelivery) == verified
    async with sessions() as session:
        audited = await session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(
                AuditEntry.action == "payment.webhook_replay",
                AuditEntry.details["outcome"].astext == "REJECTED",
            )
        )
    assert audited == 1
    # A replay whose signature is not ASCII is rejected too, not an internal error.
    garbled = {"p": body.decode(), "h": {"stripe-signature": "t=1,v1=é"}}
    rejected = (await gql.execute(replay, garbled, token=world.admin.token)).ok()
    assert rejected["paymentWebhook"]["outcome"] == "REJECTED"


async def test_refused_webhooks_are_limited_per_client_address(
    gql: GraphQLClient,
    http: httpx.AsyncClient,
    make_user: UserFactory,
    sessions: SessionFactory,
    settings: Settings,
) -> None:
    """A flood of forged deliveries from one address is answered 429 before its bodies are
    even verified; other addresses (the provider's) are not affected."""
    world = await make_world(gql, make_user)
    booking_id = await booked(gql, world)
    with stripe_api():
        payment = (await start_payment(gql, world.agency.token, booking_id)).ok()
    payment_id = payment["startPayment"]["payment"]["id"]
    body = stripe_event("payment_intent.succeeded", payment_id, amount=36000)
    attacker = {"X-Forwarded-For": "203.0.113.66"}  # the test server trusts its loopback proxy
    forged = stripe_signature(body, secret="whsec_forged") | attacker
    limit = settings.webhook_refusals_per_minute
    statuses = [(await _webhook(http, body, forged)).status_code for _ in range(limit)]
    assert statuses == [401] * limit
    limited_before = _refusals("STRIPE", "rate_limited")
    flooded = await _webhook(http, body, forged)
    assert flooded.status_code == 429
    assert 0 < int(flooded.headers["retry-after"]) <= 60
    assert _refusals("STRIPE", "rate_limited") == limited_before + 1
    # Even a correctly signed delivery from that address waits; the provider's own goes through.
    assert (await _webhook(http, body, stripe_signature(body) | attacker)).status_code == 429
    genuine = await _webhook(
        http, body, stripe_signature(body) | {"X-Forwarded-For": "198.51.100.9"}
    )
    assert genuine.status_code == 200
    assert await _rows(sessions, WebhookDelivery) == 1


async def test_fifty_concurrent_starts_with_one_key_make_one_payment_and_one_provider_call(
    gql: GraphQLClient, make_user: UserFactory, sessions: SessionFactory
) -> None:
    world = await make_world(gql, make_user)
    booking_id = await booked(gql, world)
    same = {"input": payment_input(booking_id, "checkout-attempt-0001")}
    with stripe_api() as stripe:
        results = await asyncio.gather(
            *(gql.execute(START, same, token=world.agency.token) for _ in range(50))
        )
        assert stripe["intents"].call_count == 1
    ids = {r.ok()["startPayment"]["payment"]["id"] for r in results}
    assert len(ids) == 1
    assert await _rows(sessions, Payment) == 1

    # The same key with other input is refused and changes nothing.
    other = payment_input(booking_id, "checkout-attempt-0001", amount="100.00")
    reused = await gql.execute(START, {"input": other}, token=world.agency.token)
    assert reused.codes == ["CONFLICT"]
    assert reused.errors[0]["extensions"]["field"] == "idempotencyKey"
    assert await _rows(sessions, Payment) == 1


async def test_bad_payment_input_gets_typed_errors_and_changes_nothing(
    gql: GraphQLClient, make_user: UserFactory, sessions: SessionFactory
) -> None:
    world = await make_world(gql, make_user)
    await make_user("guide@op.example", Role.GUIDE)
    guide = await gql.token_for("guide@op.example", PASSWORD)
    booking_id = await booked(gql, world)
    cases: list[tuple[str, dict[str, Any], str, str | None]] = [
        (world.agency.token, {"amount": "1200.01"}, "BAD_USER_INPUT", "amount"),
        (world.agency.token, {"amount": "-5"}, "BAD_USER_INPUT", "amount"),
        (world.agency.token, {"amount": "10.001"}, "BAD_USER_INPUT", "amount"),
        (world.agency.token, {"returnUrl": "javascript:alert(1)"}, "BAD_USER_INPUT", "returnUrl"),
        (world.agency.token, {"idempotencyKey": "short"}, "BAD_USER_INPUT", "idempotencyKey"),
        (world.agency.token, {"method": "PIX"}, "BAD_USER_INPUT", "payerDocument"),
        (world.agency.token, {"installments": 48}, "BAD_USER_INPUT", "installments"),
        (world.agency.token, {"bookingId": "nope"}, "BAD_USER_INPUT", "bookingId"),
        (world.hotels[0].token, {}, "FORBIDDEN", None),
        (world.other_agency.token, {}, "NOT_FOUND", None),
        (guide, {}, "NOT_FOUND", None),
    ]
    with stripe_api() as stripe:
        for token, extra, code, field in cases:
            result = await start_payment(gql, token, booking_id, **extra)
            assert result.codes == [code], (extra, result.errors)
            assert result.errors[0]["extensions"].get("field") == field
        assert stripe["intents"].call_count == 0
    assert await _rows(sessions, Payment) == 0
    (await gql.execute(CANCEL, {"b": booking_id, "reason": "x"}, token=world.agency.token)).ok()
    cancelled = await start_payment(gql, world.agency.token, booking_id)
    assert cancelled.codes == ["INVALID_STATE"]


async def test_payments_are_seen_by_the_operator_and_the_payer_only(
    gql: GraphQLClient, make_user: UserFactory
) -> None:
    world = await make_world(gql, make_user)
    booking_id = await booked(gql, world)
    with stripe_api():
        started = (await start_payment(gql, world.agency.token, booking_id)).ok()
    payment_id = started["startPayment"]["payment"]["id"]
    listing = "{ payments { totalCount edges { node { id cardLast4 providerReference } } } }"
    expected = [(world.admin.token, 1), (world.agency.token, 1), (world.hotels[0].token, 0),
                (world.other_agency.token, 0), (world.client.token, 0)]  # fmt: skip
    for token, count in expected:
        listed = (await gql.execute(listing, token=token)).ok()["payments"]
        assert listed["totalCount"] == count
    hidden = await gql.execute(PAYMENT, {"id": payment_id}, token=world.hotels[0].token)
    assert hidden.codes == ["NOT_FOUND"]
    assert "360" not in json.dumps(hidden.body)


async def test_when_the_first_provider_times_out_the_next_one_takes_the_payment(
    gql: GraphQLClient, make_user: UserFactory, live_server: LiveServer
) -> None:
    world = await make_world(gql, make_user)
    booking_id = await booked(gql, world, currency="BRL")  # BRL routes to MercadoPago, Stripe
    preferences = "https://api.mercadopago.com/checkout/preferences"
    breaker = live_server.app.state.services.payments.breaker
    try:
        with stripe_api() as stripe, responses.RequestsMock() as mercadopago:
            mercadopago.add(responses.POST, preferences, body=requests.ConnectTimeout("slow"))
            started = await start_payment(gql, world.agency.token, booking_id)
            payment = started.ok()["startPayment"]["payment"]
            assert len(mercadopago.calls) == 1
            assert stripe["intents"].call_count == 1
    finally:
        breaker.succeeded(Provider.MERCADOPAGO)
    assert payment["status"] == "REQUIRES_ACTION"
    assert payment["amount"] == {"amount": "360.00", "currency": "BRL"}
    admin = await gql.execute(START_ATTEMPTS, {"id": payment["id"]}, token=world.admin.token)
    assert admin.ok()["payment"] == {
        "provider": "STRIPE",
        "attempts": [
            {"provider": "MERCADOPAGO", "outcome": "UNAVAILABLE"},
            {"provider": "STRIPE", "outcome": "ACCEPTED"},
        ],
    }


async def test_when_every_provider_is_down_the_payment_fails_and_the_breaker_opens(
    gql: GraphQLClient, make_user: UserFactory, live_server: LiveServer
) -> None:
    world = await make_world(gql, make_user)
    booking_id = await booked(gql, world, currency="BRL")
    breaker = live_server.app.state.services.payments.breaker
    try:
        with stripe_api() as stripe, responses.RequestsMock() as mercadopago:
            stripe["intents"].mock(side_effect=httpx.ConnectTimeout("down"))
            mercadopago.add(responses.POST, "https://api.mercadopago.com/checkout/preferences",
                            status=503, json={"message": "unavailable"})  # fmt: skip
            failed = []
            for _ in range(4):
                result = await start_payment(gql, world.agency.token, booking_id)
                failed.append(result.ok()["startPayment"]["payment"])
            # Three failures in a row open MercadoPago's circuit: the fourth skips it.
            assert len(mercadopago.calls) == 3
    finally:
        breaker.succeeded(Provider.MERCADOPAGO)
        breaker.succeeded(Provider.STRIPE)
    assert {p["status"] for p in failed} == {"FAILED"}
    # The payer reads a plain reason; the operator sees what each provider said.
    assert failed[0]["failureReason"] == (
        "The payment could not be completed; try again or choose another method."
    )
