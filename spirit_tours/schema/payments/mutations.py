"""Payment mutations: start, refund, replay a stored webhook (ADMIN)."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.scalars import JSON

from spirit_tours.context import Context
from spirit_tours.core.enums import Provider
from spirit_tours.core.errors import bad_input
from spirit_tours.permissions.classes import IsAdmin, IsAuthenticated
from spirit_tours.permissions.payments import payment_scope
from spirit_tours.persistence.payments import PaymentRefund as RefundRow
from spirit_tours.resolvers.payments import refunds, start, webhooks
from spirit_tours.resolvers.payments.rules import visible_payment
from spirit_tours.schema.ids import parse_id
from spirit_tours.schema.payments.inputs import RefundPaymentInput, StartPaymentInput
from spirit_tours.schema.payments.types import (
    Payment,
    PaymentRefund,
    PaymentWebhookPayload,
    RefundPaymentPayload,
    StartPaymentPayload,
    load_payment_for,
)

Info = strawberry.Info[Context, None]


@strawberry.type
class PaymentMutations:
    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="The booking's owner (or ADMIN) starts a payment; the server picks the "
        "provider. The same idempotencyKey with the same input returns the same payment.",
    )
    async def start_payment(
        self,
        info: Info,
        input: Annotated[
            StartPaymentInput,
            strawberry.argument(description="The booking, the method and the payer's details."),
        ],
    ) -> StartPaymentPayload:
        viewer = info.context.require_viewer()
        order = start.PaymentOrder(
            booking_id=parse_id(input.booking_id, "bookingId"),
            method=input.method,
            return_url=input.return_url,
            idempotency_key=input.idempotency_key,
            amount=input.amount,
            installments=input.installments,
            country=input.country.upper() if input.country else None,
            document=input.payer_document,
            bank_code=input.bank_code,
            ip_address=info.context.client_ip,
        )
        services = info.context.services
        started = await start.start_payment(services.sessions, services.payments, viewer, order)
        if started.stored is not None and started.booking is not None:
            # What this request stored is the answer: no read back, the same visibility rule.
            payment = Payment.build(info, visible_payment(viewer, started.stored, started.booking))
        else:
            payment = await load_payment_for(info, started.payment_id)
        info.context.loaders.forget_booking(order.booking_id)
        return StartPaymentPayload(payment=payment, next_action=payment.next_action)

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="ADMIN refunds all or part of a succeeded payment through its "
        "provider; the same idempotencyKey never refunds twice.",
    )
    async def refund_payment(
        self,
        info: Info,
        input: Annotated[
            RefundPaymentInput,
            strawberry.argument(description="The payment, the amount and the idempotency key."),
        ],
    ) -> RefundPaymentPayload:
        viewer = info.context.require_viewer()
        order = refunds.RefundOrder(
            payment_id=parse_id(input.payment_id, "paymentId"),
            amount=input.amount,
            reason=input.reason,
            idempotency_key=input.idempotency_key,
        )
        services = info.context.services
        refund_id = await refunds.refund_payment(
            services.sessions, services.payments, viewer, order
        )
        async with info.context.session() as session:
            row = await session.get_one(RefundRow, refund_id)
        payment = await load_payment_for(info, row.payment_id)
        return RefundPaymentPayload(
            refund=PaymentRefund.build(row, payment_scope(viewer)),
            payment=payment,
        )

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="Replay a provider webhook (e.g. a stored one): verified like "
        "/webhooks/{provider} except for its age, applied once.",
    )
    async def payment_webhook(
        self,
        info: Info,
        provider: Annotated[
            Provider, strawberry.argument(description="The provider that sent the webhook.")
        ],
        payload: Annotated[
            str, strawberry.argument(description="The raw body, exactly as the provider sent it.")
        ],
        headers: Annotated[
            JSON,
            strawberry.argument(
                description="The HTTP headers it came with (the signature among them), a JSON "
                "object of strings."
            ),
        ],
    ) -> PaymentWebhookPayload:
        viewer = info.context.require_viewer()
        if not isinstance(headers, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
        ):
            raise bad_input("headers", "Headers are a JSON object of strings.")
        services = info.context.services
        result = await webhooks.receive_webhook(
            services.sessions, services.payments, provider, payload.encode(), headers,
            replayed_by=viewer,
        )  # fmt: skip
        payment = await load_payment_for(info, result.payment_id) if result.payment_id else None
        return PaymentWebhookPayload(
            outcome=result.outcome,
            event_id=result.event_id,
            detail=result.detail,
            payment=payment,
        )
