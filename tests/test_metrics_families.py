"""The metric families of the alerts and the dashboard, after the flows they count: GraphQL
operations by name (their label bounded against a client inventing names), job durations and
e-mail outcomes after a real delivery, payment outcomes after a payment with the offline
gateway."""

from __future__ import annotations

import uuid

import httpx
from prometheus_client.parser import text_string_to_metric_families

from spirit_tours.config import Settings
from spirit_tours.core.enums import EmailStatus
from spirit_tours.core.metrics import PROCESS
from spirit_tours.persistence.database import SessionFactory
from spirit_tours.schema.operation_metrics import MAX_OPERATION_NAMES
from tests.conftest import METRICS_TOKEN
from tests.email_flows import Inbox, message_row, queue_now, running_jobs, settled, smtp, until

__all__ = ["smtp"]

PROMETHEUS = {"Authorization": f"Bearer {METRICS_TOKEN}"}
Key = tuple[str, tuple[tuple[str, str], ...]]


async def _scrape(http: httpx.AsyncClient) -> dict[Key, float]:
    response = await http.get("/metrics", headers=PROMETHEUS)
    assert response.status_code == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def _key(name: str, **labels: str) -> Key:
    return name, tuple(sorted(labels.items()))


def _delta(before: dict[Key, float], after: dict[Key, float], key: Key) -> float:
    return after.get(key, 0) - before.get(key, 0)


COUNT = "spirit_graphql_operation_duration_seconds_count"
ERRORS = "spirit_graphql_operation_errors_total"


async def test_graphql_operations_are_timed_and_their_errors_counted_by_name(
    http: httpx.AsyncClient,
) -> None:
    before = await _scrape(http)
    for query in ("query MetricsProbe { __typename }", "{ __typename }",
                  "query MetricsNeedsLogin { viewer { id } }",
                  "query MetricsBroken { noSuchField }", "query {"):  # fmt: skip
        assert (await http.post("/graphql", json={"query": query})).status_code == 200
    after = await _scrape(http)
    assert _delta(before, after, _key(COUNT, operation="MetricsProbe", type="query")) == 1
    assert _delta(before, after, _key(COUNT, operation="anonymous", type="query")) == 1
    needs_login = _key(ERRORS, operation="MetricsNeedsLogin", code="UNAUTHENTICATED")
    assert _delta(before, after, needs_login) == 1
    # A document that does not validate or parse keeps its name out of the labels.
    invalid = _key(ERRORS, operation="invalid", code="GRAPHQL_VALIDATION_FAILED")
    assert _delta(before, after, invalid) == 1
    parse_failed = _key(ERRORS, operation="invalid", code="GRAPHQL_PARSE_FAILED")
    assert _delta(before, after, parse_failed) == 1
    internal = [k for k in after if k[0] == ERRORS and ("code", "INTERNAL_SERVER_ERROR") in k[1]]
    assert not [k for k in internal if _delta(before, after, k)]  # a client's error is no bug
    assert not any(dict(labels).get("operation") == "MetricsBroken" for _, labels in after)
    assert not any(dict(labels).get("operation") == "MetricsProbe" for name, labels in after
                   if name == ERRORS)  # fmt: skip


async def test_invented_operation_names_collapse_into_other(http: httpx.AsyncClient) -> None:
    before = await _scrape(http)
    names = [f"Hostile{uuid.uuid4().hex}" for _ in range(MAX_OPERATION_NAMES + 20)]
    for name in names:
        query = {"query": f"query {name} {{ __typename }}"}
        assert (await http.post("/graphql", json=query)).status_code == 200
    after = await _scrape(http)
    labelled = {dict(labels)["operation"] for name, labels in after if name == COUNT}
    assert len(labelled - {"anonymous", "invalid", "other"}) <= MAX_OPERATION_NAMES
    assert _delta(before, after, _key(COUNT, operation="other", type="query")) >= 20
    counted = sum(_delta(before, after, _key(COUNT, operation=n, type="query")) for n in names)
    other = _delta(before, after, _key(COUNT, operation="other", type="query"))
    assert counted + other == len(names)
    # Over the length bound, even a first name is "other".
    long_name = "L" * 101
    await http.post("/graphql", json={"query": f"query {long_name} {{ __typename }}"})
    assert _key(COUNT, operation=long_name, type="query") not in await _scrape(http)


WELCOME = {"name": "Ana", "login_url": "https://app.spirit-tours.example/login"}


def _value(name: str, **labels: str) -> float:
    return PROCESS.get_sample_value(name, labels) or 0.0


async def test_a_delivered_message_counts_its_outcome_and_its_job_duration(
    smtp: tuple[Inbox, int], settings: Settings, sessions: SessionFactory
) -> None:
    inbox, port = smtp
    sent_before = _value("spirit_email_outcomes_total", template="welcome", outcome="sent")
    async with running_jobs(settings, port) as runner:
        queues = [queue.name for queue in runner.email_queues.values()]
        jobs_before = sum(_value("spirit_job_duration_seconds_count", queue=q) for q in queues)
        queued = await queue_now(sessions, runner, "welcome", "ana@example.com", "en", WELCOME)
        await until(lambda: inbox.received, 20, "the message")
        await settled(runner, sessions)
        jobs_after = sum(_value("spirit_job_duration_seconds_count", queue=q) for q in queues)
    assert (await message_row(sessions, queued.id)).status == EmailStatus.SENT
    sent_after = _value("spirit_email_outcomes_total", template="welcome", outcome="sent")
    assert sent_after - sent_before == 1
    assert jobs_after - jobs_before >= 1
