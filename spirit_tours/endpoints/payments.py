"""HTTP endpoints of payments: provider webhooks and the offline gateway's checkout page."""

from __future__ import annotations

import html
import logging
import uuid
from urllib.parse import urlencode

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from spirit_tours.core.enums import PaymentStatus, Provider
from spirit_tours.core.errors import DomainError, ErrorCode
from spirit_tours.forms import read_form
from spirit_tours.payments.gateway import PaymentError
from spirit_tours.payments.offline.gateway import (
    CSRF_COOKIE,
    CSRF_FIELD,
    CSRF_TTL_SECONDS,
    OfflineGateway,
)
from spirit_tours.persistence.bookings import Booking
from spirit_tours.persistence.payments import Payment
from spirit_tours.resolvers.payments.webhooks import (
    MAX_BODY_BYTES,
    WebhookOutcome,
    receive_webhook,
)
from spirit_tours.security_headers import form_page_policy, origin_of
from spirit_tours.services import Services

log = logging.getLogger(__name__)


def _provider(name: str) -> Provider | None:
    try:
        return Provider(name.upper())
    except ValueError:
        return None


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def webhook(request: Request) -> Response:
    """``POST /webhooks/{provider}``: verified on the raw body; 401 (counted, not stored,
    nothing changed) when the signature fails, 429 once an address has had too many refused,
    200 once applied or recognised as a duplicate, 503 when the provider must retry later.
    The body's size is bounded at the edge (``spirit_tours.edge.body``) and again here."""
    services: Services = request.app.state.services
    provider = _provider(request.path_params["provider"])
    if provider is None:
        return JSONResponse({"error": "unknown provider"}, status_code=404)
    refusals = services.webhook_refusals
    client = _client(request)
    wait = await refusals.retry_after(client)
    if wait is not None:
        refusals.limited(provider)
        return JSONResponse(
            {"error": "too many refused deliveries"},
            status_code=429,
            headers={"Retry-After": str(wait)},
        )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return JSONResponse({"error": "body too large"}, status_code=413)
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            return JSONResponse({"error": "body too large"}, status_code=413)
    try:
        result = await receive_webhook(
            services.sessions, services.payments, provider, body, dict(request.headers)
        )
    except DomainError as error:
        status = 404 if error.code == ErrorCode.NOT_FOUND else 413
        return JSONResponse({"error": error.message}, status_code=status)
    except PaymentError as error:
        log.warning("webhook %s not processed: %s", provider.value, error)
        return JSONResponse({"error": "try again later"}, status_code=503)
    if result.outcome == WebhookOutcome.REJECTED:
        await refusals.record(provider, client, result.detail or "invalid signature")
        return JSONResponse({"error": "invalid signature"}, status_code=401)
    return JSONResponse({"outcome": result.outcome.value, "eventId": result.event_id})


_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Spirit Tours test checkout</title>
<style>body{{font-family:system-ui;max-width:32rem;margin:3rem auto}}button{{font-size:1.1rem;
margin-right:1rem;padding:.5rem 1.5rem}}</style></head><body>
<h1>Test checkout</h1>
<p>Development only: no money moves. Booking <b>{reference}</b> — {destination}.</p>
<p style="font-size:1.5rem">{amount} {currency}</p>
<form method="post"><input type="hidden" name="csrf" value="{csrf}">
<button name="decision" value="approve">Pay</button>
<button name="decision" value="decline">Decline</button></form></body></html>"""


async def _offline_payment(
    request: Request,
) -> tuple[Services, OfflineGateway, Payment, Booking] | Response:
    services: Services = request.app.state.services
    gateway = services.payments.get(Provider.OFFLINE)
    try:
        payment_id = uuid.UUID(request.path_params["payment_id"])
    except ValueError:
        return HTMLResponse("Not found", status_code=404)
    if not isinstance(gateway, OfflineGateway):
        return HTMLResponse("Not found", status_code=404)
    async with services.sessions() as session:
        payment = await session.get(Payment, payment_id)
        booking = await session.get(Booking, payment.booking_id) if payment else None
    if payment is None or booking is None or payment.provider != Provider.OFFLINE:
        return HTMLResponse("Not found", status_code=404)
    return services, gateway, payment, booking


async def offline_checkout(request: Request) -> Response:
    """The offline gateway's checkout page: approving sends its signed webhook through the
    same pipeline as the real providers, then returns the payer to the payment's returnUrl.
    A POST without the page's CSRF token (hidden field + cookie) is refused with 403."""
    found = await _offline_payment(request)
    if isinstance(found, Response):
        return found
    services, gateway, payment, booking = found
    if request.method == "GET":
        token, nonce = gateway.checkout_token(payment.id)
        # The form's answer redirects to the returnUrl: the policy lets the form go there.
        return_origin = origin_of(payment.return_url)
        policy = form_page_policy([return_origin] if return_origin else [])
        page = HTMLResponse(
            _PAGE.format(
                reference=html.escape(booking.reference),
                destination=html.escape(booking.destination),
                amount=payment.amount,
                currency=payment.currency,
                csrf=html.escape(token),
            ),
            headers={"Cache-Control": "no-store", "Content-Security-Policy": policy},
        )
        page.set_cookie(CSRF_COOKIE, nonce, max_age=CSRF_TTL_SECONDS, path=request.url.path,
                        secure=request.url.scheme == "https", httponly=True,
                        samesite="strict")  # fmt: skip
        return page
    form = await read_form(request)
    cookie = request.cookies.get(CSRF_COOKIE, "")
    if not gateway.valid_checkout_token(payment.id, form.get(CSRF_FIELD, ""), cookie):
        return HTMLResponse(
            "Forbidden: this form expired or was not sent by its page; reload it.",
            status_code=403,
        )
    if payment.status == PaymentStatus.REQUIRES_ACTION:
        decision = form.get("decision", "")
        body = gateway.event_body(
            payment.id, approved=decision == "approve", amount=payment.amount,
            currency=payment.currency,
        )  # fmt: skip
        await receive_webhook(
            services.sessions, services.payments, Provider.OFFLINE, body, gateway.sign(body)
        )
    async with services.sessions() as session:
        status = await session.scalar(select(Payment.status).where(Payment.id == payment.id))
    query = urlencode({"payment": str(payment.id), "status": str(status)})
    separator = "&" if "?" in payment.return_url else "?"
    return RedirectResponse(f"{payment.return_url}{separator}{query}", status_code=303)
