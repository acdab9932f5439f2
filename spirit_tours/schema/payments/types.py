"""Payments as the operator and the payer see them (docs/privacy.md §1, §2.1): provider
references and raw webhook payloads for the operator only (``permissions.payments``)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, cast

import strawberry
from strawberry.scalars import JSON

from spirit_tours.context import Context
from spirit_tours.core.enums import (
    NextActionKind,
    PaymentMethod,
    PaymentStatus,
    Provider,
    RefundStatus,
)
from spirit_tours.permissions import pricing_fields as can
from spirit_tours.permissions.payments import PaymentScope, payment_scope
from spirit_tours.permissions.pricing_fields import guarded
from spirit_tours.persistence import payments as models
from spirit_tours.resolvers.payments.rules import load_payment
from spirit_tours.schema.bookings.types import Booking, booking_for_viewer
from spirit_tours.schema.common import Money, Node, PageInfo

Info = strawberry.Info[Context, None]


@strawberry.type(description="What the client does next; only the fields of its kind are set.")
class NextAction:
    kind: NextActionKind
    client_secret: str | None = strawberry.field(description="Stripe.js confirmCardPayment.")
    redirect_url: str | None = strawberry.field(description="Send the payer there.")
    qr_code: str | None = strawberry.field(description="PIX copy-and-paste code.")
    qr_code_image: str | None = strawberry.field(description="PIX QR code, base64 PNG.")
    voucher_url: str | None = strawberry.field(description="Boleto or cash voucher.")
    expires_at: datetime | None

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> NextAction:
        expires = value.get("expires_at")
        return cls(
            kind=NextActionKind(value.get("kind") or NextActionKind.NONE.value),
            client_secret=value.get("client_secret"),
            redirect_url=value.get("redirect_url"),
            qr_code=value.get("qr_code"),
            qr_code_image=value.get("qr_code_image"),
            voucher_url=value.get("voucher_url"),
            expires_at=datetime.fromisoformat(expires) if expires else None,
        )


@strawberry.type(description="A provider tried for the payment (operator only).")
class PaymentAttempt:
    provider: str
    outcome: str = strawberry.field(description="ACCEPTED, UNAVAILABLE or REJECTED.")
    message: str | None
    at: str


@strawberry.type(description="A webhook as received (operator only).")
class WebhookDeliveryRecord:
    id: int
    provider: Provider
    received_at: datetime
    signature_valid: bool
    event_id: str | None
    kind: str | None
    outcome: str
    detail: str | None
    headers: JSON
    body: str


@strawberry.type(description="Money sent back to the payer.")
class PaymentRefund:
    id: strawberry.ID
    amount: Money
    status: RefundStatus
    reason: str
    failure_reason: str | None
    created_at: datetime
    scope: strawberry.Private[PaymentScope]
    row: strawberry.Private[models.PaymentRefund]

    @guarded(can.CanSeeProviderDetails)
    def provider_reference(self) -> str | None:
        return self.row.provider_reference

    @classmethod
    def build(cls, row: models.PaymentRefund, scope: PaymentScope) -> PaymentRefund:
        return cls(
            id=strawberry.ID(str(row.id)),
            amount=Money(amount=row.amount, currency=row.currency),
            status=row.status,
            reason=row.reason,
            failure_reason=row.failure_reason
            if scope.sees_provider_details
            else ("The refund could not be completed." if row.failure_reason else None),
            created_at=row.created_at,
            scope=scope,
            row=row,
        )


@strawberry.type(description="A payment of a booking.")
class Payment(Node):
    status: PaymentStatus
    method: PaymentMethod
    amount: Money
    refunded_amount: Money
    installments: int | None
    card_last4: str | None
    failure_reason: str | None
    next_action: NextAction
    hold_expires_at: datetime | None = strawberry.field(
        description="While it is open, the booking takes no other payment until then; "
        "after that it EXPIRES (money still arriving for it is credited or refunded)."
    )
    created_at: datetime
    updated_at: datetime
    scope: strawberry.Private[PaymentScope]
    row: strawberry.Private[models.Payment]

    @strawberry.field
    async def booking(self, info: Info) -> Booking | None:
        row = await info.context.loaders.booking.load(self.row.booking_id)
        return await booking_for_viewer(info, row) if row else None

    @strawberry.field
    async def refunds(self, info: Info) -> list[PaymentRefund]:
        rows = await info.context.loaders.payment_refunds.load(self.row.id)
        return [PaymentRefund.build(row, self.scope) for row in rows]

    @guarded(can.CanSeeProviderDetails, description="Operator only.")
    def provider(self) -> Provider | None:
        return self.row.provider

    @guarded(can.CanSeeProviderDetails, description="The provider's id of it (operator only).")
    def provider_reference(self) -> str | None:
        return self.row.provider_reference

    @guarded(can.CanSeeProviderDetails, description="Providers tried, in order (operator).")
    def attempts(self) -> list[PaymentAttempt] | None:
        return [
            PaymentAttempt(
                provider=str(item.get("provider")),
                outcome=str(item.get("outcome")),
                message=item.get("message"),
                at=str(item.get("at")),
            )
            for item in self.row.attempts
        ]

    @guarded(can.CanSeeProviderDetails, description="Webhooks received about it (operator).")
    async def webhooks(self, info: Info) -> list[WebhookDeliveryRecord] | None:
        rows = await info.context.loaders.webhook_deliveries.load(self.row.id)
        return [webhook_record(row) for row in rows]

    @classmethod
    def build(cls, info: Info, row: models.Payment) -> Payment:
        scope = payment_scope(info.context.require_viewer())
        return cls(
            id=strawberry.ID(str(row.id)),
            status=row.status,
            method=row.method,
            amount=Money(amount=row.amount, currency=row.currency),
            refunded_amount=Money(amount=row.refunded_amount, currency=row.currency),
            installments=row.installments,
            card_last4=row.card_last4,
            failure_reason=_reason(row.failure_reason, scope),
            next_action=NextAction.from_json(row.next_action),
            hold_expires_at=row.hold_until,
            created_at=row.created_at,
            updated_at=row.updated_at,
            scope=scope,
            row=row,
        )


def _reason(reason: str | None, scope: PaymentScope) -> str | None:
    """Provider messages can name the provider or carry its references (docs/privacy.md §1:
    operator only); the payer gets a plain reason."""
    if reason is None or scope.sees_failure_reason:
        return reason
    return "The payment could not be completed; try again or choose another method."


def webhook_record(row: models.WebhookDelivery) -> WebhookDeliveryRecord:
    return WebhookDeliveryRecord(
        id=row.id,
        provider=row.provider,
        received_at=row.received_at,
        signature_valid=row.signature_valid,
        event_id=row.event_id,
        kind=row.kind,
        outcome=row.outcome,
        detail=row.detail,
        headers=cast(JSON, row.headers),
        body=row.body,
    )


async def load_payment_for(info: Info, payment_id: uuid.UUID) -> Payment:
    """A payment the viewer may see, freshly read; NOT_FOUND otherwise."""
    async with info.context.session() as session:
        row, _ = await load_payment(session, info.context.require_viewer(), payment_id)
    return Payment.build(info, row)


@strawberry.type
class PaymentEdge:
    cursor: str
    node: Payment


@strawberry.type
class PaymentConnection:
    edges: list[PaymentEdge]
    page_info: PageInfo
    total_count: int

    @strawberry.field(description="The edges' nodes, for a client that needs no cursor.")
    def nodes(self) -> list[Payment]:
        return [edge.node for edge in self.edges]


@strawberry.type
class StartPaymentPayload:
    payment: Payment
    next_action: NextAction


@strawberry.type
class RefundPaymentPayload:
    refund: PaymentRefund
    payment: Payment


@strawberry.type
class PaymentWebhookPayload:
    outcome: str = strawberry.field(description="APPLIED, DUPLICATE, IGNORED or REJECTED.")
    event_id: str | None
    detail: str | None
    payment: Payment | None
