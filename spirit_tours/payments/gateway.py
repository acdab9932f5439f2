"""The one interface every payment provider adapter implements, and the values it trades in.

Adapters translate between these values and a provider's SDK or REST API; they hold no state
of ours and never touch the database. Errors: :class:`ProviderUnavailableError` when trying another
provider may help (timeout, connection error, 5xx, 429), :class:`ProviderRejectedError` when it will
not (invalid request, card declined), :class:`InvalidSignatureError` for a webhook that fails its
provider's signature check (forged, tampered or stale).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable

from spirit_tours.core.enums import (
    NextActionKind,
    PaymentMethod,
    PaymentStatus,
    Provider,
    RefundOutcome,
)


@dataclass(frozen=True)
class NextAction:
    kind: NextActionKind = NextActionKind.NONE
    client_secret: str | None = None
    redirect_url: str | None = None
    qr_code: str | None = None
    qr_code_image: str | None = None
    voucher_url: str | None = None
    expires_at: datetime | None = None


@dataclass(frozen=True)
class Payer:
    email: str
    full_name: str
    country: str | None = None  # ISO 3166-1 alpha-2
    document: str | None = None  # tax id where a method requires it (CPF for PIX/boleto, CC…)
    phone: str | None = None
    ip_address: str | None = None


@dataclass(frozen=True)
class PaymentRequest:
    payment_id: uuid.UUID  # ours: sent as the provider's external reference / metadata
    description: str
    amount: Decimal
    currency: str  # ISO 4217
    method: PaymentMethod
    payer: Payer
    return_url: str
    idempotency_key: str  # passed to the provider's own idempotency mechanism
    installments: int | None = None
    bank_code: str | None = None  # PSE: the payer's bank (financialInstitutionCode)


@dataclass(frozen=True)
class ProviderPayment:
    """A provider's view of one payment."""

    reference: str  # the provider's id of the payment (PaymentIntent id, order id, …)
    status: PaymentStatus
    next_action: NextAction = NextAction()
    amount: Decimal | None = None
    currency: str | None = None
    card_last4: str | None = None
    failure_reason: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ProviderRefund:
    reference: str
    outcome: RefundOutcome
    amount: Decimal
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class WebhookEvent:
    """A verified provider notification, reduced to what moves our state."""

    event_id: str  # the provider's id of this notification: duplicates share it
    kind: str  # the provider's event type, for the record
    payment_reference: str | None = None  # the provider's payment id
    payment_id: uuid.UUID | None = None  # ours, when the provider echoes it back
    status: PaymentStatus | None = None
    amount: Decimal | None = None
    currency: str | None = None
    card_last4: str | None = None
    refunded_amount: Decimal | None = None  # total refunded so far, for refund events
    raw: Mapping[str, Any] = field(default_factory=dict)


class PaymentError(Exception):
    def __init__(self, provider: Provider, message: str) -> None:
        super().__init__(f"{provider.value}: {message}")
        self.provider = provider
        self.message = message


class ProviderUnavailableError(PaymentError):
    """Timeout, connection failure, 5xx or rate limit: another provider may take it."""


class ProviderRejectedError(PaymentError):
    """The provider refused the request itself: retrying elsewhere would not help."""


class InvalidSignatureError(PaymentError):
    """A webhook whose signature does not verify (forged, tampered, wrong secret or stale)."""


class PaymentGateway(Protocol):
    """What the payment service needs of a provider. Every method is async; adapters on
    synchronous SDKs run them in a worker thread so the event loop never blocks."""

    provider: Provider

    def supports(self, method: PaymentMethod, currency: str) -> bool: ...

    async def create_payment(self, request: PaymentRequest) -> ProviderPayment: ...

    async def get_payment(self, reference: str) -> ProviderPayment: ...

    async def refund(
        self, reference: str, amount: Decimal | None, currency: str, idempotency_key: str
    ) -> ProviderRefund:
        """Refund ``amount`` (None: the whole payment) of the payment ``reference``."""
        ...

    async def parse_webhook(
        self, body: bytes, headers: Mapping[str, str], *, check_freshness: bool = True
    ) -> WebhookEvent:
        """Verify the signature over the raw ``body`` (headers lower-cased), then decode it.

        Raises :class:`InvalidSignatureError` when it does not verify; ``check_freshness=False``
        (an operator replaying a stored webhook) skips only the timestamp tolerance.
        May call the provider's API when the notification carries only an id.
        """
        ...


@runtime_checkable
class CancellableGateway(Protocol):
    """An adapter that can also call off an unpaid payment at the provider (so that a payer
    can no longer complete a checkout whose hold on the booking lapsed)."""

    provider: Provider

    async def cancel_payment(self, reference: str) -> None:
        """Cancel the unpaid payment ``reference``; raises :class:`PaymentError` when the
        provider refuses (e.g. it is already being paid)."""
        ...
