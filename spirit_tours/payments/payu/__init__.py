"""PayU Latam: the gateway (its JSON API over HTTPX), its confirmations (signature check),
the mapping of its answers to ours."""
