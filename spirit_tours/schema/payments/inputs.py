"""What a client sends to start, refund and filter payments."""

from __future__ import annotations

from decimal import Decimal

import strawberry

from spirit_tours.core.enums import PaymentMethod, PaymentStatus


@strawberry.input(description="Narrows a list of payments; every condition given must hold.")
class PaymentFilter:
    booking_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only the payments of this booking."
    )
    statuses: list[PaymentStatus] | None = strawberry.field(
        default=None, description="Only payments in one of these states; null: any."
    )


@strawberry.input(description="A payment to start for a booking.")
class StartPaymentInput:
    booking_id: strawberry.ID = strawberry.field(description="The booking to pay, by its id.")
    method: PaymentMethod = strawberry.field(
        description="How the payer pays; with country and currency it decides the provider."
    )
    return_url: str = strawberry.field(description="Where the payer comes back to (http/https).")
    idempotency_key: str = strawberry.field(
        description="One per payment attempt (e.g. a UUID): retries with it never pay twice."
    )
    amount: Decimal | None = strawberry.field(
        default=None, description="Default: what is due now (the deposit, then the balance)."
    )
    installments: int | None = strawberry.field(
        default=None, description="Card installments, 1 to 24; more than 1 for CARD only."
    )
    country: str | None = strawberry.field(
        default=None, description="The payer's ISO 3166-1 country; it helps pick the provider."
    )
    payer_document: str | None = strawberry.field(
        default=None, description="Tax id (CPF, CC…), required by PIX, boleto and PSE."
    )
    bank_code: str | None = strawberry.field(default=None, description="PSE: the payer's bank.")


@strawberry.input(description="A full or partial refund of a payment.")
class RefundPaymentInput:
    payment_id: strawberry.ID = strawberry.field(description="The payment to refund, by its id.")
    idempotency_key: str = strawberry.field(
        description="One per refund (e.g. a UUID): retries with it never refund twice."
    )
    reason: str = strawberry.field(default="", description="Why; shown to the payer.")
    amount: Decimal | None = strawberry.field(
        default=None,
        description="How much, an exact decimal string in the payment's currency; default: all "
        "that is left to refund.",
    )
