"""The payment routing rules: ordered rules over country, currency, amount and method, each
naming the providers to try in order. They are configuration (``SPIRIT_PAYMENT_ROUTES``, JSON,
checked when the settings load); :data:`DEFAULT_ROUTES` is the table the README shows. Which
provider then takes a payment is ``payments.routing``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from spirit_tours.core.enums import PaymentMethod, Provider


@dataclass(frozen=True)
class Route:
    providers: tuple[Provider, ...]
    methods: frozenset[PaymentMethod] | None = None
    currencies: frozenset[str] | None = None
    countries: frozenset[str] | None = None
    min_amount: Decimal | None = None
    max_amount: Decimal | None = None

    def matches(
        self, method: PaymentMethod, currency: str, country: str | None, amount: Decimal
    ) -> bool:
        return (
            (self.methods is None or method in self.methods)
            and (self.currencies is None or currency in self.currencies)
            and (self.countries is None or (country is not None and country in self.countries))
            and (self.min_amount is None or amount >= self.min_amount)
            and (self.max_amount is None or amount <= self.max_amount)
        )

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> Route:
        def optional(key: str) -> frozenset[str] | None:
            items = value.get(key)
            return frozenset(str(item).upper() for item in items) if items else None

        methods = optional("methods")
        return cls(
            providers=tuple(Provider(str(p).upper()) for p in value["providers"]),
            methods=frozenset(PaymentMethod(m) for m in methods) if methods else None,
            currencies=optional("currencies"),
            countries=optional("countries"),
            min_amount=Decimal(str(value["min_amount"])) if "min_amount" in value else None,
            max_amount=Decimal(str(value["max_amount"])) if "max_amount" in value else None,
        )


def _route(providers: Sequence[Provider], **conditions: Any) -> Route:
    return Route(providers=tuple(providers), **conditions)


S, MP, PP, PU = Provider.STRIPE, Provider.MERCADOPAGO, Provider.PAYPAL, Provider.PAYU
DEFAULT_ROUTES: tuple[Route, ...] = (
    _route([PP], methods=frozenset({PaymentMethod.PAYPAL})),
    _route([MP], methods=frozenset({PaymentMethod.PIX, PaymentMethod.BOLETO})),
    _route([PU], methods=frozenset({PaymentMethod.PSE, PaymentMethod.CASH})),
    _route([MP, S], currencies=frozenset({"BRL", "ARS", "CLP", "UYU"})),
    _route([PU, MP, S], currencies=frozenset({"COP", "PEN"})),
    _route([MP, S, PP], currencies=frozenset({"MXN"})),
    _route([S, PP], methods=frozenset({PaymentMethod.CARD}), currencies=frozenset({"USD", "EUR"})),
    _route([S, PP]),
)


def parse_routes(text: str | None) -> tuple[Route, ...]:
    """Rules from ``SPIRIT_PAYMENT_ROUTES`` (a JSON list), or the default table."""
    if not text:
        return DEFAULT_ROUTES
    try:
        rules = json.loads(text)
        if not isinstance(rules, list) or not rules:
            raise ValueError("not a non-empty JSON list")
        routes = tuple(Route.from_json(rule) for rule in rules)
    except (ValueError, KeyError, TypeError, ArithmeticError) as error:
        raise ValueError(
            f"SPIRIT_PAYMENT_ROUTES is not a list of routing rules: {error}"
        ) from error
    if not all(route.providers for route in routes):
        raise ValueError("SPIRIT_PAYMENT_ROUTES: every rule names at least one provider")
    return routes
