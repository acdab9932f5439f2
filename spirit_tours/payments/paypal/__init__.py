"""PayPal: the gateway (Orders v2 through its SDK), its webhooks (certificate-signed, verified
here), the mapping of its orders and captures to ours."""
