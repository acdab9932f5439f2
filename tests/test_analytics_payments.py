"""Payments by provider, method and outcome: each figure against a small known history
computed by hand."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from httpx import AsyncClient

from spirit_tours.core.analytics import DateRange, PaymentFailure
from spirit_tours.core.enums import PaymentMethod, PaymentStatus, Provider
from spirit_tours.persistence.analytics.payments import failure_counts, outcome_sums, route_counts
from spirit_tours.persistence.database import SessionFactory
from tests.analytics_facts import (
    Cast,
    assert_admin_only,
    at,
    booking,
    cast,
    payment,
    refresh,
    role_tokens,
)
from tests.analytics_flows import export
from tests.analytics_flows import refresh as refresh_over_graphql
from tests.booking_flows import booked
from tests.conftest import UserFactory
from tests.graphql_client import GraphQLClient
from tests.payment_flows import start_payment, stripe_api, stripe_event, stripe_signature
from tests.quotation_flows import make_world

DAYS = DateRange(date(2026, 10, 1), date(2026, 10, 31))
CARD, PIX, BOLETO = PaymentMethod.CARD, PaymentMethod.PIX, PaymentMethod.BOLETO
STRIPE, MERCADOPAGO, PAYPAL = Provider.STRIPE, Provider.MERCADOPAGO, Provider.PAYPAL
S = PaymentStatus


async def history(sessions: SessionFactory, people: Cast) -> None:
    """Payments started in October 2026 (minutes from start to credit):

    | payment | provider    | method | status    | amount  | credited |
    |---------|-------------|--------|-----------|---------|----------|
    | P1      | STRIPE      | CARD   | SUCCEEDED | 100 USD | 2 min    |
    | P2      | STRIPE      | CARD   | SUCCEEDED | 250 USD | 4 min    |
    | P3      | STRIPE      | CARD   | SUCCEEDED | 150 USD | 7 min    |
    | P4      | STRIPE      | CARD   | REFUNDED  | 100 USD | 10 min   |
    | P5      | STRIPE      | CARD   | FAILED    | 100 USD | —        |
    | P6      | STRIPE      | CARD   | PENDING   | 100 USD | —        |
    | P7      | MERCADOPAGO | PIX    | SUCCEEDED | 500 BRL | 30 min   |
    | P8      | MERCADOPAGO | PIX    | EXPIRED   | 500 BRL | —        |
    | P9      | MERCADOPAGO | BOLETO | SUCCEEDED | 300 BRL | never (amount mismatch) |
    | P10     | PAYPAL      | PAYPAL | CANCELLED | 100 USD | —        |
    | P11     | none        | CARD   | FAILED    | 100 USD | —        |
    | P12     | none        | CARD   | FAILED    |  80 USD | —        |

    and outside the range: a STRIPE card payment started on 1 November, credited."""
    async with sessions() as session, session.begin():
        usd = await booking(session, people, at("2026-09-20"), price="5000.00")
        pending = await booking(session, people, at("2026-09-20"), price="5000.00")
        brl = await booking(session, people, at("2026-09-20"), currency="BRL", price="5000.00")
        start = at("2026-10-01", 10)
        for minutes, amount in ((2, "100.00"), (4, "250.00"), (7, "150.00")):
            await payment(session, usd, start, provider=STRIPE, status=S.SUCCEEDED,
                          amount=amount, credited_after=timedelta(minutes=minutes))  # fmt: skip
        await payment(session, usd, start, provider=STRIPE, status=S.REFUNDED,
                      credited_after=timedelta(minutes=10))  # fmt: skip
        await payment(session, usd, start, provider=STRIPE, status=S.FAILED,
                      failure_reason="stripe: payment_intent.payment_failed")  # fmt: skip
        await payment(session, pending, at("2026-10-31", 23.5), provider=STRIPE,
                      status=S.PENDING)  # fmt: skip
        await payment(session, brl, start, provider=MERCADOPAGO, method=PIX, status=S.SUCCEEDED,
                      amount="500.00", credited_after=timedelta(minutes=30))  # fmt: skip
        await payment(session, brl, start, provider=MERCADOPAGO, method=PIX, status=S.EXPIRED,
                      amount="500.00")  # fmt: skip
        await payment(session, brl, start, provider=MERCADOPAGO, method=BOLETO,
                      status=S.SUCCEEDED, amount="300.00")  # fmt: skip
        await payment(session, usd, start, provider=PAYPAL, method=PaymentMethod.PAYPAL,
                      status=S.CANCELLED)  # fmt: skip
        for amount in ("100.00", "80.00"):
            await payment(session, usd, start, provider=None, status=S.FAILED, amount=amount,
                          failure_reason="No payment provider is available right now.")  # fmt: skip
        await payment(session, usd, at("2026-11-01"), provider=STRIPE, status=S.SUCCEEDED,
                      credited_after=timedelta(minutes=1))  # fmt: skip


async def test_routes_match_the_history_by_hand(
    sessions: SessionFactory, make_user: UserFactory
) -> None:
    await history(sessions, await cast(sessions, make_user))
    await refresh(sessions)
    async with sessions() as session:
        routes = await route_counts(session, DAYS)
    table = {(row.provider, row.method): row for row in routes}
    assert list(table) == [
        (MERCADOPAGO, BOLETO), (MERCADOPAGO, PIX), (PAYPAL, PaymentMethod.PAYPAL),
        (STRIPE, CARD), (None, CARD),
    ]  # fmt: skip
    # STRIPE card: P1-P6; settled all but P6 (5); succeeded P1-P4 (4, P4 refunded since);
    # credited after 2, 4, 7, 10 min → median (4 + 7) / 2 = 5.5.
    stripe = table[(STRIPE, CARD)]
    assert (stripe.payments, stripe.settled, stripe.succeeded) == (6, 5, 4)
    assert stripe.median_minutes_to_credit == Decimal("5.5")
    pix = table[(MERCADOPAGO, PIX)]
    assert (pix.payments, pix.settled, pix.succeeded) == (2, 2, 1)
    assert pix.median_minutes_to_credit == Decimal(30)
    boleto = table[(MERCADOPAGO, BOLETO)]
    assert (boleto.payments, boleto.succeeded, boleto.median_minutes_to_credit) == (1, 1, None)
    paypal = table[(PAYPAL, PaymentMethod.PAYPAL)]
    assert (paypal.payments, paypal.settled, paypal.succeeded) == (1, 1, 0)
    nobody = table[(None, CARD)]
    assert (nobody.payments, nobody.settled, nobody.succeeded) == (2, 2, 0)


async def test_outcomes_and_failures_match_the_history_by_hand(
    sessions: SessionFactory, make_user: UserFactory
) -> None:
    await history(sessions, await cast(sessions, make_user))
    await refresh(sessions)
    async with sessions() as session:
        outcomes, truncated = await outcome_sums(session, DAYS, limit=100)
        failures = await failure_counts(session, DAYS)
    assert not truncated
    assert [(r.provider, r.method, r.status, r.currency, r.payments, r.amount)
            for r in outcomes] == [
        (MERCADOPAGO, BOLETO, S.SUCCEEDED, "BRL", 1, Decimal(300)),
        (MERCADOPAGO, PIX, S.EXPIRED, "BRL", 1, Decimal(500)),
        (MERCADOPAGO, PIX, S.SUCCEEDED, "BRL", 1, Decimal(500)),
        (PAYPAL, PaymentMethod.PAYPAL, S.CANCELLED, "USD", 1, Decimal(100)),
        (STRIPE, CARD, S.FAILED, "USD", 1, Decimal(100)),
        (STRIPE, CARD, S.PENDING, "USD", 1, Decimal(100)),
        (STRIPE, CARD, S.REFUNDED, "USD", 1, Decimal(100)),
        (STRIPE, CARD, S.SUCCEEDED, "USD", 3, Decimal(500)),  # 100 + 250 + 150
        (None, CARD, S.FAILED, "USD", 2, Decimal(180)),  # 100 + 80
    ]  # fmt: skip
    assert [(r.provider, r.method, r.failure, r.payments) for r in failures] == [
        (MERCADOPAGO, BOLETO, PaymentFailure.NOT_CREDITED, 1),
        (MERCADOPAGO, PIX, PaymentFailure.HOLD_LAPSED, 1),
        (PAYPAL, PaymentMethod.PAYPAL, PaymentFailure.CANCELLED, 1),
        (STRIPE, CARD, PaymentFailure.DECLINED, 1),
        (None, CARD, PaymentFailure.NOT_STARTED, 2),
    ]
    async with sessions() as session:
        rows, truncated = await outcome_sums(session, DAYS, limit=3)
    assert (len(rows), truncated) == (3, True)


PAYMENTS = """
query($from: Date!, $to: Date!) {
  analytics(from: $from, to: $to) {
    payments {
      refreshedAt truncated
      routes { provider method payments settled succeeded successRate medianMinutesToCredit }
      outcomes { provider method status currency payments amount }
      failures { provider method failure payments }
    }
  }
}"""
OCTOBER = {"from": "2026-10-01", "to": "2026-10-31"}


async def test_admin_reads_the_report_over_graphql_and_as_csv(
    sessions: SessionFactory, make_user: UserFactory, gql: GraphQLClient, http: AsyncClient
) -> None:
    await history(sessions, await cast(sessions, make_user))
    tokens = await role_tokens(gql, make_user)
    await refresh_over_graphql(gql, tokens.admin)
    report = (await gql.execute(PAYMENTS, OCTOBER, token=tokens.admin)).ok()["analytics"][
        "payments"
    ]
    assert report["refreshedAt"] is not None
    assert report["truncated"] is False
    # test_routes_match_the_history_by_hand's figures; success rates 1/1, 1/2, 0/1, 4/5, 0/2.
    assert [tuple(route.values()) for route in report["routes"]] == [
        ("MERCADOPAGO", "BOLETO", 1, 1, 1, 1.0, None),
        ("MERCADOPAGO", "PIX", 2, 2, 1, 0.5, 30.0),
        ("PAYPAL", "PAYPAL", 1, 1, 0, 0.0, None),
        ("STRIPE", "CARD", 6, 5, 4, 0.8, 5.5),
        (None, "CARD", 2, 2, 0, 0.0, None),
    ]
    assert report["outcomes"][-2:] == [
        {"provider": "STRIPE", "method": "CARD", "status": "SUCCEEDED", "currency": "USD",
         "payments": 3, "amount": "500.00"},
        {"provider": None, "method": "CARD", "status": "FAILED", "currency": "USD",
         "payments": 2, "amount": "180.00"},
    ]  # fmt: skip
    assert len(report["outcomes"]) == 9
    assert [tuple(row.values()) for row in report["failures"]] == [
        ("MERCADOPAGO", "BOLETO", "NOT_CREDITED", 1),
        ("MERCADOPAGO", "PIX", "HOLD_LAPSED", 1),
        ("PAYPAL", "PAYPAL", "CANCELLED", 1),
        ("STRIPE", "CARD", "DECLINED", 1),
        (None, "CARD", "NOT_STARTED", 2),
    ]

    async def table(name: str) -> list[list[str]]:
        answer = await export(http, name, tokens.admin, **OCTOBER)
        assert answer.status_code == 200
        return list(csv.reader(io.StringIO(answer.text)))

    outcomes = await table("payments")
    assert outcomes[0] == ["provider", "method", "status", "currency", "payments", "amount"]
    assert outcomes[1] == ["MERCADOPAGO", "BOLETO", "SUCCEEDED", "BRL", "1", "300.00"]
    assert outcomes[-1] == ["", "CARD", "FAILED", "USD", "2", "180.00"]
    routes = await table("payment-routes")
    assert routes[0] == ["provider", "method", "payments", "settled", "succeeded",
                         "success_rate", "median_minutes_to_credit"]  # fmt: skip
    assert routes[4] == ["STRIPE", "CARD", "6", "5", "4", "0.8", "5.5"]
    failures = await table("payment-failures")
    assert failures[0] == ["provider", "method", "failure", "payments"]
    assert failures[-1] == ["", "CARD", "NOT_STARTED", "2"]


async def test_only_admin_reads_it(
    sessions: SessionFactory, make_user: UserFactory, gql: GraphQLClient, http: AsyncClient
) -> None:
    """docs/privacy.md §2.8: every payer's payments, by provider, together."""
    await history(sessions, await cast(sessions, make_user))
    tokens = await role_tokens(gql, make_user)
    await refresh_over_graphql(gql, tokens.admin)
    exports = [(name, OCTOBER) for name in ("payments", "payment-routes", "payment-failures")]
    secrets = ["MERCADOPAGO", "180.00", "NOT_STARTED"]
    await assert_admin_only(gql, http, tokens, PAYMENTS, OCTOBER, exports, secrets)


async def test_hostile_input_gets_typed_errors(
    sessions: SessionFactory, make_user: UserFactory, gql: GraphQLClient, http: AsyncClient
) -> None:
    await cast(sessions, make_user)
    admin = (await role_tokens(gql, make_user)).admin
    for variables in ({"from": "2026-10-31", "to": "2026-10-01"},
                      {"from": "1990-01-01", "to": "2026-10-01"}):  # fmt: skip
        assert (await gql.execute(PAYMENTS, variables, token=admin)).codes == ["BAD_USER_INPUT"]
    nonsense = await gql.execute(PAYMENTS, {"from": "yesterday", "to": "2026-10-01"}, token=admin)
    assert nonsense.errors
    assert nonsense.data is None
    for name in ("payments", "payment-routes", "payment-failures"):
        for params in ({**OCTOBER, "groupBy": "MONTH"}, {**OCTOBER, "provider": "STRIPE"},
                       {"from": "2026-10-01", "to": "2026-10-01T00:00"}):  # fmt: skip
            answer = await export(http, name, admin, **params)
            assert answer.status_code == 400, (name, params)


async def test_a_real_stripe_payment_fills_the_rollup_as_the_report_says(
    make_user: UserFactory, gql: GraphQLClient, http: AsyncClient
) -> None:
    """Started through the API (Stripe recorded), succeeded by its signed webhook: the
    columns the rollup reads (provider, status, credited_at) are the ones the code sets."""
    world = await make_world(gql, make_user)
    booking_id = await booked(gql, world)
    with stripe_api():
        started = await start_payment(gql, world.agency.token, booking_id)
    payment_id = started.ok()["startPayment"]["payment"]["id"]
    succeeded = stripe_event("payment_intent.succeeded", payment_id, amount=36000)
    delivered = await http.post("/webhooks/stripe", content=succeeded,
                                headers=stripe_signature(succeeded))  # fmt: skip
    assert delivered.json()["outcome"] == "APPLIED"
    await refresh_over_graphql(gql, world.admin.token)
    today = datetime.now(UTC).date().isoformat()
    answer = await gql.execute(PAYMENTS, {"from": today, "to": today}, token=world.admin.token)
    report = answer.ok()["analytics"]["payments"]
    (route,) = report["routes"]
    assert (route["provider"], route["method"], route["payments"], route["succeeded"]) == (
        "STRIPE", "CARD", 1, 1
    )  # fmt: skip
    assert 0 <= route["medianMinutesToCredit"] < 5
    assert report["outcomes"] == [
        {"provider": "STRIPE", "method": "CARD", "status": "SUCCEEDED", "currency": "USD",
         "payments": 1, "amount": "360.00"}
    ]  # fmt: skip
    assert report["failures"] == []


async def test_the_report_is_the_rollup_as_last_refreshed(
    sessions: SessionFactory, make_user: UserFactory
) -> None:
    await refresh(sessions)  # whatever an earlier test left in the views
    await history(sessions, await cast(sessions, make_user))
    async with sessions() as session:
        assert await route_counts(session, DAYS) == []
    await refresh(sessions)
    async with sessions() as session:
        assert sum(route.payments for route in await route_counts(session, DAYS)) == 12
