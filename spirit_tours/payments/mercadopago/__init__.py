"""MercadoPago: the gateway (SDK calls in worker threads), its webhooks (x-signature), the
mapping of its payments to ours."""
