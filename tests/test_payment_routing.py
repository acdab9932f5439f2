"""Routing rules: the default table, rules from configuration, the circuit breaker, and what
the configured providers of a process make of them."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from pydantic import SecretStr

from spirit_tours.config import Environment, Settings
from spirit_tours.core.enums import PaymentMethod, Provider
from spirit_tours.core.payment_routes import DEFAULT_ROUTES, parse_routes
from spirit_tours.payments.providers import PaymentProviders
from spirit_tours.payments.routing import CircuitBreaker, candidates

CARD, PIX, PSE, PAYPAL = (
    PaymentMethod.CARD,
    PaymentMethod.PIX,
    PaymentMethod.PSE,
    PaymentMethod.PAYPAL,
)
S, MP, PP, PU, OFF = (Provider.STRIPE, Provider.MERCADOPAGO, Provider.PAYPAL, Provider.PAYU,
                      Provider.OFFLINE)  # fmt: skip


@pytest.mark.parametrize(
    ("method", "currency", "expected"),
    [
        (CARD, "BRL", [MP, S]),
        (PIX, "BRL", [MP]),
        (CARD, "COP", [PU, MP, S]),
        (PSE, "COP", [PU]),
        (CARD, "PEN", [PU, MP, S]),
        (CARD, "USD", [S, PP]),
        (CARD, "EUR", [S, PP]),
        (PAYPAL, "USD", [PP]),
        (CARD, "MXN", [MP, S, PP]),
        (CARD, "GBP", [S, PP]),
    ],
)
def test_the_default_table(method: PaymentMethod, currency: str, expected: list[Provider]) -> None:
    assert candidates(DEFAULT_ROUTES, method, currency, None, Decimal(100)) == expected


def test_rules_from_configuration_match_country_and_amount_in_order() -> None:
    routes = parse_routes(json.dumps([
        {"countries": ["br"], "min_amount": "5000", "providers": ["stripe"]},
        {"currencies": ["BRL"], "max_amount": "4999.99", "providers": ["MERCADOPAGO", "STRIPE"]},
        {"providers": ["PAYPAL"]},
    ]))  # fmt: skip
    assert candidates(routes, CARD, "BRL", "BR", Decimal(5000)) == [S]
    assert candidates(routes, CARD, "BRL", "AR", Decimal(5000)) == [PP]
    assert candidates(routes, CARD, "BRL", None, Decimal("4999.99")) == [MP, S]
    assert candidates(routes, CARD, "USD", None, Decimal(1), fallback=OFF) == [PP, OFF]
    for bad in (
        "[]",
        "{}",
        "nonsense",
        '[{"providers": ["VENMO"]}]',
        '[{"providers": []}]',
        '[{"methods": ["CHEQUE"], "providers": ["STRIPE"]}]',
    ):
        with pytest.raises(ValueError, match="SPIRIT_PAYMENT_ROUTES"):
            parse_routes(bad)
    with pytest.raises(ValueError, match="SPIRIT_PAYMENT_ROUTES"):
        Settings(payment_routes='[{"providers": ["VENMO"]}]')


def test_the_breaker_opens_after_three_failures_and_probes_after_the_cooldown() -> None:
    now = [1000.0]
    breaker = CircuitBreaker(threshold=3, cooldown_seconds=30, clock=lambda: now[0])
    breaker.failed(S)
    breaker.failed(S)
    assert not breaker.is_open(S)
    breaker.failed(S)
    assert breaker.is_open(S)
    assert not breaker.is_open(MP)  # per provider
    now[0] += 29.9
    assert breaker.is_open(S)  # still cooling down
    now[0] += 0.2
    assert not breaker.is_open(S)  # cooled down: one probe may go through...
    breaker.failed(S)
    assert breaker.is_open(S)  # ...and its failure opens the circuit again at once
    breaker.succeeded(S)
    assert not breaker.is_open(S)


def test_only_configured_providers_are_planned_and_offline_only_in_development() -> None:
    bare = Settings(env=Environment.PRODUCTION, jwt_secret=SecretStr("x" * 40))
    assert PaymentProviders.from_settings(bare).configured == []
    development = Settings(env=Environment.DEVELOPMENT)
    providers = PaymentProviders.from_settings(development)
    assert providers.configured == [OFF]
    assert [g.provider for g in providers.plan(CARD, "USD", None, Decimal(1))] == [OFF]
    with_stripe = Settings(env=Environment.TEST, stripe_api_key=SecretStr("sk_test_x"),
                           stripe_webhook_secret=SecretStr("whsec_x"))  # fmt: skip
    planned = PaymentProviders.from_settings(with_stripe).plan(CARD, "BRL", None, Decimal(1))
    assert [g.provider for g in planned] == [S]
    assert PaymentProviders.from_settings(with_stripe).plan(PIX, "BRL", None, Decimal(1)) == []
