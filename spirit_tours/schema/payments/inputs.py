"""What a client sends to start, refund and filter payments."""

from __future__ import annotations

from decimal import Decimal

import strawberry

from spirit_tours.core.enums import PaymentMethod, PaymentStatus


@strawberry.input
class PaymentFilter:
    booking_id: strawberry.ID | None = None
    statuses: list[PaymentStatus] | None = None


@strawberry.input
class StartPaymentInput:
    booking_id: strawberry.ID
    method: PaymentMethod
    return_url: str = strawberry.field(description="Where the payer comes back to (http/https).")
    idempotency_key: str = strawberry.field(
        description="One per payment attempt (e.g. a UUID): retries with it never pay twice."
    )
    amount: Decimal | None = strawberry.field(
        default=None, description="Default: what is due now (the deposit, then the balance)."
    )
    installments: int | None = None
    country: str | None = strawberry.field(
        default=None, description="The payer's ISO 3166-1 country; it helps pick the provider."
    )
    payer_document: str | None = strawberry.field(
        default=None, description="Tax id (CPF, CC…), required by PIX, boleto and PSE."
    )
    bank_code: str | None = strawberry.field(default=None, description="PSE: the payer's bank.")


@strawberry.input
class RefundPaymentInput:
    payment_id: strawberry.ID
    idempotency_key: str
    reason: str = ""
    amount: Decimal | None = strawberry.field(default=None, description="Default: all left.")
