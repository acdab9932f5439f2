"""/metrics: this process's HTTP traffic with bounded labels, and the shared state at scrape
time — job queue depths, undelivered mail, unpublished events."""

from __future__ import annotations

import uuid

import httpx
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from spirit_tours.core.clock import now_utc
from spirit_tours.core.enums import Role
from spirit_tours.emails.queueing import Queued, enqueue_messages
from spirit_tours.jobs.email import email_queues
from spirit_tours.persistence.database import SessionFactory
from tests.conftest import METRICS_TOKEN, PASSWORD, UserFactory
from tests.graphql_client import GraphQLClient

PROMETHEUS = {"Authorization": f"Bearer {METRICS_TOKEN}"}


def _samples(body: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(body)
        for sample in family.samples
    }


async def test_metrics_count_requests_and_report_queues_and_undelivered_mail(
    http: httpx.AsyncClient, sessions: SessionFactory, redis_url: str
) -> None:
    async with sessions() as session, session.begin():
        await session.execute(
            text(
                "INSERT INTO email_messages (id, template, locale, recipient, priority, context,"
                " status, message_id, created_at, scheduled_at, attempts, requeues, links,"
                " open_count, click_count) VALUES (gen_random_uuid(), 'welcome', 'en',"
                " 'a@example.com', 'NORMAL', '{}', 'FAILED', '<m@x>', now(), now(), 3, 0, '[]',"
                " 0, 0)"
            )
        )
    queues = email_queues(redis_url)
    try:
        await enqueue_messages(queues, [Queued(uuid.uuid4(), "BULK", now_utc()) for _ in range(3)])
    finally:
        await queues[next(iter(queues))].disconnect()
    # the server serves other tests too
    before = _samples((await http.get("/metrics", headers=PROMETHEUS)).text)
    await http.post("/graphql", json={"query": "{ __typename }"})
    await http.get(f"/e/c/{uuid.uuid4()}?u=https://x.example&s=nope")

    response = await http.get("/metrics", headers=PROMETHEUS)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples = _samples(response.text)
    graphql = (("method", "POST"), ("route", "/graphql"), ("status", "200"))
    requests = "spirit_http_requests_total"
    assert samples[(requests, graphql)] - before.get((requests, graphql), 0) == 1
    link = (("method", "GET"), ("route", "/e"), ("status", "400"))
    assert samples[(requests, link)] - before.get((requests, link), 0) == 1  # ids: no label
    assert not any("/e/c/" in str(key) for key in samples)
    assert samples[("spirit_email_messages", (("status", "FAILED"),))] == 1
    assert samples[("spirit_email_messages", (("status", "QUEUED"),))] == 0
    bulk = (("queue", "email-bulk"), ("state", "queued"))
    assert samples[("spirit_job_queue_jobs", bulk)] == 3
    assert ("spirit_outbox_unpublished_events", ()) in samples


async def test_metrics_need_the_metrics_token_or_an_admin(
    http: httpx.AsyncClient, gql: GraphQLClient, make_user: UserFactory
) -> None:
    await make_user("admin@op.example", Role.ADMIN)
    await make_user("maria@andes.example", Role.AGENCY, company="Andes Travel")
    admin = await gql.token_for("admin@op.example", PASSWORD)
    agency = await gql.token_for("maria@andes.example", PASSWORD)

    anonymous = await http.get("/metrics")
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"].startswith("Bearer")
    assert "spirit_" not in anonymous.text
    wrong = await http.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}x"})
    assert wrong.status_code == 401
    for token, status in ((agency, 403), (admin, 200)):
        answer = await http.get("/metrics", headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == status
    assert (await http.get("/metrics", headers=PROMETHEUS)).status_code == 200
