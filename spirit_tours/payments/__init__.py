"""Payment providers, each a package of its own (stripe, mercadopago, paypal, payu, offline:
``gateway.py`` calls the provider, ``webhook.py`` verifies and decodes its notifications,
``mapping.py`` turns its values into ours), behind the one interface of ``gateway.py``;
``providers.py`` builds the configured ones, ``routing.py`` picks one with fallbacks and a
circuit breaker, ``refusals.py`` counts refused webhooks. Nothing here touches the database."""
