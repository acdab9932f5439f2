"""Payment rules: starting a payment once per idempotency key, applying provider webhooks
exactly once and only forward, refunding."""
