"""Payments for Prometheus: every move of a payment to a new status, by provider, and the
verified webhooks that failed to be processed.

``spirit_payment_outcomes_total{provider, outcome}``: ``outcome`` is the status a payment moved
to, in lower case (``requires_action``, ``pending``, ``succeeded``, ``failed``, ``cancelled``,
``expired``, ``partially_refunded``, ``refunded``); ``provider`` the provider's name, or
``none`` when no provider took the payment. Counted when the change is made, inside its
transaction (one that rolls back afterwards is counted all the same; rare: the row is locked),
or once its single statement has stored it (a started payment's provider answer).
"""

from __future__ import annotations

from prometheus_client import Counter

from spirit_tours.core.enums import PaymentStatus, Provider
from spirit_tours.core.metrics import PROCESS

OUTCOMES = Counter(
    "spirit_payment_outcomes", "Payments moved to a new status, by provider and status",
    ["provider", "outcome"], registry=PROCESS,
)  # fmt: skip
WEBHOOK_FAILURES = Counter(
    "spirit_webhook_failures", "Verified webhook deliveries whose processing failed (an error "
    "before their outcome was stored: the provider delivers them again)", ["provider"],
    registry=PROCESS,
)  # fmt: skip


def payment_moved(provider: Provider | None, status: PaymentStatus) -> None:
    OUTCOMES.labels(provider.value if provider else "none", status.value.lower()).inc()
