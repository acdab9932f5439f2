"""Which provider takes a payment: the first routing rule that matches decides
(``core.payment_routes``: the rules are configuration, checked when the settings load); its
providers are tried in order, skipping those not configured, not supporting the method and
currency, or whose circuit is open (a circuit breaker per provider).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from decimal import Decimal

from spirit_tours.core.enums import PaymentMethod, Provider
from spirit_tours.core.payment_routes import Route


class CircuitBreaker:
    """Stop calling a provider after ``threshold`` failures in a row, for ``cooldown``
    seconds; then let one call through to probe it. Per process: each API replica learns on
    its own, which is enough to stop hammering a provider that is down."""

    def __init__(
        self,
        threshold: int = 3,
        cooldown_seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._threshold = threshold
        self._cooldown = cooldown_seconds
        self._clock = clock
        self._failures: dict[Provider, int] = {}
        self._opened_at: dict[Provider, float] = {}

    def is_open(self, provider: Provider) -> bool:
        opened = self._opened_at.get(provider)
        if opened is None:
            return False
        if self._clock() - opened >= self._cooldown:
            del self._opened_at[provider]  # half-open: the next call probes
            self._failures[provider] = self._threshold - 1
            return False
        return True

    def failed(self, provider: Provider) -> None:
        self._failures[provider] = self._failures.get(provider, 0) + 1
        if self._failures[provider] >= self._threshold:
            self._opened_at[provider] = self._clock()

    def succeeded(self, provider: Provider) -> None:
        self._failures.pop(provider, None)
        self._opened_at.pop(provider, None)


def candidates(
    routes: Sequence[Route],
    method: PaymentMethod,
    currency: str,
    country: str | None,
    amount: Decimal,
    *,
    fallback: Provider | None = None,
) -> list[Provider]:
    """The providers to try, in order, for one payment (``fallback`` last, if given)."""
    chosen: list[Provider] = []
    for route in routes:
        if route.matches(method, currency, country, amount):
            chosen = list(route.providers)
            break
    if fallback is not None and fallback not in chosen:
        chosen.append(fallback)
    return chosen
