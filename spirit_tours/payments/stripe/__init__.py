"""Stripe: the gateway (SDK calls), its webhooks (signature check, decoding) and the mapping
of its statuses to ours."""
