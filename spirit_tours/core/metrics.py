"""The process's Prometheus registry. Counters are defined beside what they count (HTTP traffic
in ``metrics``, refused webhooks in ``payments.refusals``) and all register here, so the
``/metrics`` endpoint at the top serves them without the layers below importing it."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

PROCESS = CollectorRegistry()
