"""The offline gateway: the demo's way to pay a booking with no provider account, through its
own signed webhook; refused outside development."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from decimal import Decimal

import httpx
import pytest
from pydantic import SecretStr

from spirit_tours.config import Environment, Settings
from spirit_tours.payments.offline import OfflineGateway
from tests.booking_flows import booked
from tests.conftest import PROVIDER_SETTINGS, LiveServer, UserFactory, serving
from tests.graphql_client import GraphQLClient
from tests.payment_flows import PAYMENT, start_payment
from tests.quotation_flows import make_world

PUBLIC_URL = "http://demo.spirit-tours.invalid"


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
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        paid = await http.post(path, content="decision=approve", headers=form)
        assert paid.status_code == 303
        assert paid.headers["location"] == (
            f"https://app.spirit-tours.example/pay/return?payment={payment_id}&status=SUCCEEDED"
        )
        seen = (await gql.execute(PAYMENT, {"id": payment_id}, token=world.admin.token)).ok()
        assert seen["payment"]["status"] == "SUCCEEDED"
        assert seen["payment"]["cardLast4"] == "4242"
        assert seen["payment"]["booking"]["status"] == "CONFIRMED"
        assert [w["outcome"] for w in seen["payment"]["webhooks"]] == ["APPLIED"]

        # A forged offline webhook is refused like any other.
        forged = OfflineGateway("not-the-secret", PUBLIC_URL)
        body = forged.event_body(
            uuid.UUID(payment_id), approved=True, amount=Decimal("360.00"), currency="USD"
        )
        refused = await http.post("/webhooks/offline", content=body, headers=forged.sign(body))
        assert refused.status_code == 401


async def test_outside_development_the_offline_gateway_does_not_exist(
    http: httpx.AsyncClient,
) -> None:
    page = await http.get(f"/payments/offline/{uuid.uuid4()}")
    assert page.status_code == 404
    assert (await http.post("/webhooks/offline", content=b"{}")).status_code == 404
