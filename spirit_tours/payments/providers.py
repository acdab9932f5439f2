"""The payment providers one process has credentials for, and the order to try them in."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from decimal import Decimal

from spirit_tours.config import Settings
from spirit_tours.core.enums import PaymentMethod, Provider
from spirit_tours.core.payment_routes import Route, parse_routes
from spirit_tours.payments.gateway import PaymentGateway
from spirit_tours.payments.routing import CircuitBreaker, candidates


class PaymentProviders:
    """Configured gateways, routing rules and a circuit breaker.

    A provider without credentials is simply absent. The offline gateway exists only in
    development, and there it is the last resort of every route.
    """

    def __init__(
        self,
        gateways: Mapping[Provider, PaymentGateway],
        routes: Sequence[Route],
        *,
        breaker: CircuitBreaker | None = None,
        call_timeout: float = 15.0,
        hold: timedelta = timedelta(minutes=30),
    ) -> None:
        self._gateways = dict(gateways)
        self.call_timeout = call_timeout  # a provider call never takes longer than this
        self.hold = hold  # how long an unpaid payment holds its booking
        self._routes = tuple(routes)
        self.breaker = breaker or CircuitBreaker()

    def get(self, provider: Provider) -> PaymentGateway | None:
        return self._gateways.get(provider)

    @property
    def configured(self) -> list[Provider]:
        return list(self._gateways)

    def plan(
        self, method: PaymentMethod, currency: str, country: str | None, amount: Decimal
    ) -> list[PaymentGateway]:
        """The gateways to try for one payment, in order; open circuits are skipped."""
        fallback = Provider.OFFLINE if Provider.OFFLINE in self._gateways else None
        chosen = []
        for provider in candidates(
            self._routes, method, currency, country, amount, fallback=fallback
        ):
            gateway = self._gateways.get(provider)
            if gateway is None or not gateway.supports(method, currency):
                continue
            if self.breaker.is_open(provider):
                continue
            chosen.append(gateway)
        return chosen

    @classmethod
    def from_settings(cls, settings: Settings) -> PaymentProviders:
        return cls(
            _gateways(settings),
            parse_routes(settings.payment_routes),
            call_timeout=settings.payment_provider_timeout_seconds + 5,
            hold=timedelta(minutes=settings.payment_hold_minutes),
        )


def _gateways(settings: Settings) -> dict[Provider, PaymentGateway]:
    # Imported here: each adapter pulls in its provider's SDK, needed only when configured.
    from spirit_tours.payments.mercadopago.gateway import MercadoPagoGateway
    from spirit_tours.payments.offline.gateway import OfflineGateway
    from spirit_tours.payments.paypal.gateway import PayPalGateway
    from spirit_tours.payments.paypal.webhook import load_trust_roots
    from spirit_tours.payments.payu.gateway import PayUGateway
    from spirit_tours.payments.stripe.gateway import StripeGateway

    timeout = settings.payment_provider_timeout_seconds
    tolerance = settings.payment_webhook_tolerance_seconds
    gateways: dict[Provider, PaymentGateway] = {}
    if settings.stripe_api_key and settings.stripe_webhook_secret:
        gateways[Provider.STRIPE] = StripeGateway(
            settings.stripe_api_key.get_secret_value(),
            settings.stripe_webhook_secret.get_secret_value(),
            use_checkout=settings.stripe_use_checkout,
            timeout_seconds=timeout,
            webhook_tolerance_seconds=tolerance,
        )
    if settings.mercadopago_access_token and settings.mercadopago_webhook_secret:
        gateways[Provider.MERCADOPAGO] = MercadoPagoGateway(
            settings.mercadopago_access_token.get_secret_value(),
            settings.mercadopago_webhook_secret.get_secret_value(),
            timeout_seconds=timeout,
            webhook_tolerance_seconds=tolerance,
        )
    if settings.paypal_client_id and settings.paypal_client_secret and settings.paypal_webhook_id:
        gateways[Provider.PAYPAL] = PayPalGateway(
            settings.paypal_client_id,
            settings.paypal_client_secret.get_secret_value(),
            settings.paypal_webhook_id,
            sandbox=settings.paypal_sandbox,
            timeout_seconds=timeout,
            webhook_tolerance_seconds=tolerance,
            trust_roots=load_trust_roots(settings.paypal_trust_store)
            if settings.paypal_trust_store
            else None,
        )
    if settings.payu_api_key and settings.payu_api_login and settings.payu_merchant_id:
        gateways[Provider.PAYU] = PayUGateway(
            settings.payu_api_key.get_secret_value(),
            settings.payu_api_login,
            settings.payu_merchant_id,
            settings.payu_account_ids,
            base_url=settings.payu_base_url,
            test=settings.payu_test,
            timeout_seconds=timeout,
            notify_url=f"{settings.public_url.rstrip('/')}/webhooks/payu",
        )
    if settings.is_development:
        gateways[Provider.OFFLINE] = OfflineGateway(
            settings.offline_payments_secret.get_secret_value(),
            settings.public_url,
            tolerance_seconds=tolerance,
        )
    return gateways
