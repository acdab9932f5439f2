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
    AttemptOutcome,
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
from spirit_tours.resolvers.payments.webhooks import WebhookOutcome
from spirit_tours.schema.bookings.types import Booking, booking_for_viewer
from spirit_tours.schema.common import Money, Node, PageInfo, money

Info = strawberry.Info[Context, None]


@strawberry.type(description="What the client does next; only the fields of its kind are set.")
class NextAction:
    kind: NextActionKind = strawberry.field(
        description="What to do; it says which of the other fields is set."
    )
    client_secret: str | None = strawberry.field(description="Stripe.js confirmCardPayment.")
    redirect_url: str | None = strawberry.field(description="Send the payer there.")
    qr_code: str | None = strawberry.field(description="PIX copy-and-paste code.")
    qr_code_image: str | None = strawberry.field(description="PIX QR code, base64 PNG.")
    voucher_url: str | None = strawberry.field(description="Boleto or cash voucher.")
    expires_at: datetime | None = strawberry.field(
        description="When the code, voucher or link stops working (ISO 8601, UTC); null if "
        "the provider gave no limit."
    )

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
    provider: Provider = strawberry.field(description="The provider tried, e.g. STRIPE.")
    outcome: AttemptOutcome = strawberry.field(description="What the provider answered.")
    message: str | None = strawberry.field(
        description="Why it was not accepted, in the provider's words; null when accepted."
    )
    at: datetime = strawberry.field(description="When the provider answered (ISO 8601, UTC).")


@strawberry.type(description="A webhook as received (operator only).")
class WebhookDeliveryRecord:
    id: strawberry.ID = strawberry.field(
        description="Opaque identifier of the delivery as stored, as every id of the API."
    )
    provider: Provider = strawberry.field(description="The provider that sent it.")
    received_at: datetime = strawberry.field(description="When it was received (ISO 8601, UTC).")
    signature_valid: bool = strawberry.field(
        description="Whether its signature verified against the provider's secret."
    )
    event_id: str | None = strawberry.field(
        description="The provider's id of the event, used to apply it once; null if unreadable."
    )
    kind: str | None = strawberry.field(
        description="The provider's own name of the event, e.g. payment_intent.succeeded "
        "(Stripe): its vocabulary, not ours, so a string; null if unreadable."
    )
    outcome: WebhookOutcome = strawberry.field(description="What became of it.")
    detail: str | None = strawberry.field(
        description="A short explanation of the outcome; null when there is none."
    )
    headers: JSON = strawberry.field(
        description="The HTTP headers as received, a JSON object of strings."
    )
    body: str = strawberry.field(description="The raw body as received.")


@strawberry.type(description="Money sent back to the payer.")
class PaymentRefund:
    id: strawberry.ID = strawberry.field(description="Stable identifier, a UUID.")
    amount: Money = strawberry.field(
        description="How much is sent back, in the payment's currency."
    )
    status: RefundStatus = strawberry.field(description="Where the refund stands.")
    reason: str = strawberry.field(description="Why it was refunded; may be empty.")
    failure_reason: str | None = strawberry.field(
        description="Why it failed: the provider's words for the operator, a plain sentence for "
        "the payer; null unless it failed."
    )
    created_at: datetime = strawberry.field(
        description="When the refund was asked for (ISO 8601, UTC)."
    )
    scope: strawberry.Private[PaymentScope]
    row: strawberry.Private[models.PaymentRefund]

    @guarded(
        can.CanSeeProviderDetails,
        description="The provider's id of the refund: for the operator only; null otherwise.",
    )
    def provider_reference(self) -> str | None:
        return self.row.provider_reference

    @classmethod
    def build(cls, row: models.PaymentRefund, scope: PaymentScope) -> PaymentRefund:
        return cls(
            id=strawberry.ID(str(row.id)),
            amount=money(row.amount, row.currency),
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
    status: PaymentStatus = strawberry.field(description="Where the payment stands.")
    method: PaymentMethod = strawberry.field(description="How the payer pays.")
    amount: Money = strawberry.field(description="The amount charged, in the booking's currency.")
    refunded_amount: Money = strawberry.field(
        description="How much of it has been refunded so far; zero when nothing."
    )
    installments: int | None = strawberry.field(
        description="Card installments asked for (1 to 24); null when not given."
    )
    card_last4: str | None = strawberry.field(
        description="The card's last four digits, once the provider tells them; null otherwise."
    )
    failure_reason: str | None = strawberry.field(
        description="Why it failed: the provider's words for the operator, a plain sentence for "
        "the payer; null unless it failed."
    )
    next_action: NextAction = strawberry.field(
        description="What the payer does next to pay; kind NONE when nothing."
    )
    hold_expires_at: datetime | None = strawberry.field(
        description="While it is open, the booking takes no other payment until then; "
        "after that it EXPIRES (money still arriving for it is credited or refunded)."
    )
    created_at: datetime = strawberry.field(
        description="When the payment was started (ISO 8601, UTC)."
    )
    updated_at: datetime = strawberry.field(description="When it last changed (ISO 8601, UTC).")
    scope: strawberry.Private[PaymentScope]
    row: strawberry.Private[models.Payment]

    @strawberry.field(description="The booking it pays, as the viewer may see it.")
    async def booking(self, info: Info) -> Booking | None:
        row = await info.context.loaders.booking.load(self.row.booking_id)
        return await booking_for_viewer(info, row) if row else None

    @strawberry.field(description="Its refunds, oldest first; empty when none.")
    async def refunds(self, info: Info) -> list[PaymentRefund]:
        rows = await info.context.loaders.payment_refunds.load(self.row.id)
        return [PaymentRefund.build(row, self.scope) for row in rows]

    @guarded(
        can.CanSeeProviderDetails,
        description="The provider that took it: for the operator only; null otherwise.",
    )
    def provider(self) -> Provider | None:
        return self.row.provider

    @guarded(
        can.CanSeeProviderDetails,
        description="The provider's id of it: for the operator only; null otherwise.",
    )
    def provider_reference(self) -> str | None:
        return self.row.provider_reference

    @guarded(
        can.CanSeeProviderDetails,
        description="Providers tried, in order: for the operator only; null otherwise.",
    )
    def attempts(self) -> list[PaymentAttempt] | None:
        return [
            PaymentAttempt(
                provider=Provider(item["provider"]),
                outcome=AttemptOutcome(item["outcome"]),
                message=item.get("message"),
                at=datetime.fromisoformat(item["at"]),
            )
            for item in self.row.attempts
        ]

    @guarded(
        can.CanSeeProviderDetails,
        description="Webhooks received about it: for the operator only; null otherwise.",
    )
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
            amount=money(row.amount, row.currency),
            refunded_amount=money(row.refunded_amount, row.currency),
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
        id=strawberry.ID(str(row.id)),
        provider=row.provider,
        received_at=row.received_at,
        signature_valid=row.signature_valid,
        event_id=row.event_id,
        kind=row.kind,
        outcome=WebhookOutcome(row.outcome),
        detail=row.detail,
        headers=cast(JSON, row.headers),
        body=row.body,
    )


async def load_payment_for(info: Info, payment_id: uuid.UUID) -> Payment:
    """A payment the viewer may see, freshly read; NOT_FOUND otherwise. One autocommit read
    (no BEGIN and ROLLBACK around it): a mutation's answer, after its own transaction."""
    async with info.context.services.reads() as session:
        row, _ = await load_payment(session, info.context.require_viewer(), payment_id)
    return Payment.build(info, row)


@strawberry.type(description="One payment of a page, with its cursor.")
class PaymentEdge:
    cursor: str = strawberry.field(
        description="Opaque cursor of this payment; pass it as `after` to read on from it."
    )
    node: Payment = strawberry.field(description="The payment.")


@strawberry.type(description="A page of payments, newest first.")
class PaymentConnection:
    edges: list[PaymentEdge] = strawberry.field(
        description="The payments of this page, newest first."
    )
    page_info: PageInfo = strawberry.field(description="Whether and how to read the next page.")
    total_count: int = strawberry.field(
        description="How many payments the viewer may see that match the filter, on every page."
    )

    @strawberry.field(description="The edges' nodes, for a client that needs no cursor.")
    def nodes(self) -> list[Payment]:
        return [edge.node for edge in self.edges]


@strawberry.type(description="The payment started, and what the payer does next.")
class StartPaymentPayload:
    payment: Payment = strawberry.field(description="The payment as stored.")
    next_action: NextAction = strawberry.field(
        description="What the client does next to pay (the same as payment.nextAction)."
    )


@strawberry.type(description="The refund asked for, and its payment.")
class RefundPaymentPayload:
    refund: PaymentRefund = strawberry.field(description="The refund.")
    payment: Payment = strawberry.field(description="The payment refunded, as now stored.")


@strawberry.type(description="What a replayed webhook did.")
class PaymentWebhookPayload:
    outcome: WebhookOutcome = strawberry.field(description="What became of the webhook.")
    event_id: str | None = strawberry.field(
        description="The provider's id of the event; null if unreadable."
    )
    detail: str | None = strawberry.field(
        description="A short explanation of the outcome; null when there is none."
    )
    payment: Payment | None = strawberry.field(
        description="The payment it concerns; null when it concerns none."
    )
