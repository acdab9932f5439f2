"""The offline gateway: the demo's way to pay a booking with no provider account, through its
own signed webhook; refused outside development."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal

import httpx
import pytest
from pydantic import SecretStr

from spirit_tours.config import Environment, Settings
from spirit_tours.core.enums import Provider
from spirit_tours.core.metrics import PROCESS
from spirit_tours.payments.offline.gateway import OfflineGateway
from spirit_tours.services import Services
from tests.booking_flows import booked
from tests.conftest import PROVIDER_SETTINGS, LiveServer, UserFactory, serving
from tests.graphql_client import GraphQLClient
from tests.payment_flows import PAYMENT, start_payment
from tests.quotation_flows import make_world
from tests.sql_counter import count_statements

PUBLIC_URL = "http://demo.spirit-tours.invalid"


def csrf_token(page: httpx.Response) -> str:
    """The checkout form's hidden CSRF field."""
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found is not None, page.text
    return found.group(1)


@pytest.fixture(scope="module")
async def development_server(settings: Settings) -> AsyncIterator[LiveServer]:
    """The same database, served as in development with no provider credentials at all."""
    credentials = ("_key", "_token", "_secret", "_id", "_login")
    unconfigured = {name: None for name in PROVIDER_SETTINGS if name.endswith(credentials)}
    secret = SecretStr("offline-" + uuid.uuid4().hex)
    dev = settings.model_copy(
        update={"env": Environment.DEVELOPMENT, "public_url": PUBLIC_URL,
                "offline_payments_secret": secret, **unconfigured}
    )  # fmt: skip
    async with serving(dev) as server:
        yield server


async def test_a_booking_is_paid_end_to_end_with_the_offline_gateway(
    development_server: LiveServer, make_user: UserFactory
) -> None:
    succeeded = {"provider": "OFFLINE", "outcome": "succeeded"}
    paid_before = PROCESS.get_sample_value("spirit_payment_outcomes_total", succeeded) or 0
    async with httpx.AsyncClient(base_url=development_server.url, timeout=30) as http:
        gql = GraphQLClient(http)
        world = await make_world(gql, make_user)
        booking_id = await booked(gql, world, owner=world.client)
        started = (await start_payment(gql, world.client.token, booking_id)).ok()["startPayment"]
        payment_id = started["payment"]["id"]
        path = f"/payments/offline/{payment_id}"
        assert started["nextAction"]["kind"] == "REDIRECT"
        assert started["nextAction"]["redirectUrl"] == PUBLIC_URL + path

        page = await http.get(path)
        assert page.status_code == 200
        assert "360.00 USD" in page.text
        # Its form may post here only, and be answered by a redirect to the returnUrl's origin.
        policy = page.headers["content-security-policy"]
        assert "form-action 'self' https://app.spirit-tours.example;" in policy
        assert "script-src" not in policy
        paid = await http.post(path, data={"decision": "approve", "csrf": csrf_token(page)})
        assert paid.status_code == 303
        assert paid.headers["location"] == (
            f"https://app.spirit-tours.example/pay/return?payment={payment_id}&status=SUCCEEDED"
        )
        seen = (await gql.execute(PAYMENT, {"id": payment_id}, token=world.admin.token)).ok()
        assert seen["payment"]["status"] == "SUCCEEDED"
        assert seen["payment"]["cardLast4"] == "4242"
        assert seen["payment"]["booking"]["status"] == "CONFIRMED"
        assert [w["outcome"] for w in seen["payment"]["webhooks"]] == ["APPLIED"]
        # The server runs in this process: its payment outcomes are in this registry.
        counted = PROCESS.get_sample_value("spirit_payment_outcomes_total", succeeded) or 0
        assert counted - paid_before == 1

        # A forged offline webhook is refused like any other.
        forged = OfflineGateway("not-the-secret", PUBLIC_URL)
        body = forged.event_body(
            uuid.UUID(payment_id), approved=True, amount=Decimal("360.00"), currency="USD"
        )
        refused = await http.post("/webhooks/offline", content=body, headers=forged.sign(body))
        assert refused.status_code == 401


async def test_the_checkout_page_refuses_a_post_without_its_csrf_token(
    development_server: LiveServer, make_user: UserFactory
) -> None:
    """Another site (or anyone) posting ``decision=approve`` to a payer's checkout page is
    refused: the form carries a token signed for this payment and matched by a cookie set with
    the page, so only the page itself, in the payer's browser, can approve."""
    async with httpx.AsyncClient(base_url=development_server.url, timeout=30) as http:
        gql = GraphQLClient(http)
        world = await make_world(gql, make_user)
        first, second = [
            (await start_payment(gql, world.client.token, booking_id)).ok()["startPayment"][
                "payment"
            ]["id"]
            for booking_id in [await booked(gql, world, owner=world.client) for _ in range(2)]
        ]
        path = f"/payments/offline/{first}"
        other_token = csrf_token(await http.get(f"/payments/offline/{second}"))
        token = csrf_token(await http.get(path))
        forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
        attempts: list[tuple[dict[str, str], httpx.Cookies | None]] = [
            ({"decision": "approve"}, None),  # no token at all
            ({"decision": "approve", "csrf": ""}, None),
            ({"decision": "approve", "csrf": forged}, None),
            ({"decision": "approve", "csrf": other_token}, None),  # another payment's
            ({"decision": "approve", "csrf": token}, httpx.Cookies()),  # without the page's cookie
        ]
        for form, cookies in attempts:
            if cookies is None:
                refused = await http.post(path, data=form)
            else:
                async with httpx.AsyncClient(base_url=development_server.url) as stranger:
                    refused = await stranger.post(path, data=form)
            assert refused.status_code == 403, form
        seen = (await gql.execute(PAYMENT, {"id": first}, token=world.admin.token)).ok()
        assert seen["payment"]["status"] == "REQUIRES_ACTION"
        assert seen["payment"]["webhooks"] == []

        paid = await http.post(path, data={"decision": "approve", "csrf": token})
        assert paid.status_code == 303
        seen = (await gql.execute(PAYMENT, {"id": first}, token=world.admin.token)).ok()
        assert seen["payment"]["status"] == "SUCCEEDED"


async def test_outside_development_the_offline_gateway_does_not_exist(
    http: httpx.AsyncClient,
) -> None:
    page = await http.get(f"/payments/offline/{uuid.uuid4()}")
    assert page.status_code == 404
    assert (await http.post("/webhooks/offline", content=b"{}")).status_code == 404


REPLAY = """
mutation($h: JSON!) { paymentWebhook(provider: OFFLINE, payload: "{}", headers: $h) { outcome } }
"""


async def test_garbled_signatures_and_csrf_tokens_are_refused_not_crashed(
    development_server: LiveServer, make_user: UserFactory
) -> None:
    """Bytes that are not ASCII (or digits that are not ASCII digits) in a signature, a CSRF
    token or its cookie are a bad signature, as unauthenticated input must be: never a 500."""
    async with httpx.AsyncClient(base_url=development_server.url, timeout=30) as http:
        garbage = (b"t=1,v1=\xc3\xa9", b"t=\xb2,v1=00", b"t=1\xc3\xa9,v1=00", b"t=" + b"1" * 5000)
        for signature in garbage:
            headers = {b"x-offline-signature": signature}
            refused = await http.post("/webhooks/offline", content=b"{}", headers=headers)
            assert refused.status_code == 401, signature

        gql = GraphQLClient(http)
        world = await make_world(gql, make_user)
        for garbled in ("t=1,v1=é", "t=²,v1=00"):
            replay = {"h": {"x-offline-signature": garbled}}
            replayed = (await gql.execute(REPLAY, replay, token=world.admin.token)).ok()
            assert replayed["paymentWebhook"]["outcome"] == "REJECTED", garbled

        booking_id = await booked(gql, world, owner=world.client)
        started = (await start_payment(gql, world.client.token, booking_id)).ok()["startPayment"]
        payment_id = started["payment"]["id"]
        path = f"/payments/offline/{payment_id}"
        token = csrf_token(await http.get(path))
        issued, nonce, digest = token.split(".")
        forms = [f"{issued}.é.{digest}", f"{issued}.{nonce}.é", f"²{issued[1:]}.{nonce}.{digest}"]
        for form in forms:
            refused = await http.post(path, data={"decision": "approve", "csrf": form})
            assert refused.status_code == 403, form
        async with httpx.AsyncClient(base_url=development_server.url) as stranger:
            cookie = {b"cookie": b"offline_checkout=\xc3\xa9"}
            sent = {"decision": "approve", "csrf": token}
            refused = await stranger.post(path, data=sent, headers=cookie)
            assert refused.status_code == 403
        seen = (await gql.execute(PAYMENT, {"id": payment_id}, token=world.admin.token)).ok()
        assert seen["payment"]["status"] == "REQUIRES_ACTION"
        # The page still works for its own form.
        paid = await http.post(path, data={"decision": "approve", "csrf": token})
        assert paid.status_code == 303


async def test_the_payment_path_runs_a_fixed_handful_of_statements(
    development_server: LiveServer, make_user: UserFactory
) -> None:
    """The hot path of a payment campaign (``python -m benchmarks payments``): each round trip
    to PostgreSQL costs the server about as much CPU as its Python work. A start is one claim
    transaction and the stored outcome, which returns the answer (no read back); the first
    success webhook applies and credits in one transaction of two statements, its first locking the
    payment and its booking and marking the event processed, its second writing everything
    the event changed (payment, booking, audit, events) with the delivery's row; a later copy
    of it (providers deliver most events more than once) is recorded as a duplicate by that
    same first statement. (The relay's statements, background work, are not counted.)"""
    services: Services = development_server.app.state.services
    gateway = services.payments.get(Provider.OFFLINE)
    assert isinstance(gateway, OfflineGateway)
    async with httpx.AsyncClient(base_url=development_server.url, timeout=30) as http:
        gql = GraphQLClient(http)
        world = await make_world(gql, make_user)
        booking_id = await booked(gql, world, owner=world.client)
        async with count_statements(development_server) as started:
            result = await start_payment(gql, world.client.token, booking_id)
        payment = result.ok()["startPayment"]["payment"]
        body = gateway.event_body(
            uuid.UUID(payment["id"]), approved=True, amount=Decimal("360.00"), currency="USD"
        )
        outcomes = []
        for delivery in ("first", "duplicate"):
            async with count_statements(development_server) as statements:
                answer = await http.post("/webhooks/offline", content=body,
                                         headers=gateway.sign(body))  # fmt: skip
            outcomes.append((delivery, answer.json()["outcome"], len(statements)))
        seen = (await gql.execute(PAYMENT, {"id": payment["id"]}, token=world.admin.token)).ok()
    assert seen["payment"]["booking"]["amountPaid"]["amount"] == "360.00"
    assert [w["outcome"] for w in seen["payment"]["webhooks"]] == ["APPLIED", "DUPLICATE"]
    assert len(started) <= 4, started
    (_, first, applying), (_, again, duplicate) = outcomes
    assert (first, again) == ("APPLIED", "DUPLICATE")
    assert applying == 2, outcomes
    assert duplicate == 1, outcomes
