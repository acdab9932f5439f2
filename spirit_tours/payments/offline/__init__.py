"""The offline gateway for development and the demo: the gateway and its checkout CSRF
tokens, its signed webhooks, the mapping of its event types."""
