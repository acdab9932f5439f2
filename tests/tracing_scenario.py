"""One traced scenario, run in a process of its own by tests/test_tracing.py (tracing is
process-wide: switched on in the test process it would trace every other test).

Tracing is configured as the app does it, with an in-memory exporter; a real server signs a
user in (the password once as a variable, once written into the document), asks for a
password reset (SQL, Redis, a saq job) and, as an agency, creates a quotation (an outbox
event, which the relay publishes and the e-mail feed turns into a job); then a worker
process's runner sends both e-mails. The finished spans are printed as JSON lines for the
test to read.

Input (environment): TRACE_DATABASE_URL, TRACE_REDIS_URL, TRACE_DATA_DIR, TRACE_PASSWORD,
SPIRIT_ENCRYPTION_KEYS.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from typing import Any

import httpx
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pydantic import SecretStr

from spirit_tours.config import Environment, Settings
from spirit_tours.core.enums import Locale, Role
from spirit_tours.core.tracing_setup import configure_tracing, flush_tracing
from spirit_tours.jobs.worker import JobRunner
from spirit_tours.persistence.database import create_engine, create_session_factory
from spirit_tours.resolvers.accounts import NewUser, create_user
from tests.conftest import serving
from tests.live_client import live
from tests.quotation_flows import quotation_input

EMAIL = "traced@example.com"
AGENCY = "agency@trace.example"
LOGIN_VARIABLES = """
mutation SignIn($input: LoginInput!) { login(input: $input) { accessToken } }"""
REQUEST_RESET = "mutation RequestReset($e: String!) { requestPasswordReset(email: $e) }"
WS_QUERY = "query WsQuotation($id: ID!) { quotation(id: $id) { id destination } }"
GET_QUERY = "query OverGet($id: ID!) { quotation(id: $id) { id } }"
WS_SUBSCRIPTION = """
subscription WsEvents($id: ID!) { quotationEvents(quotationId: $id) { __typename } }"""
CREATE_QUOTATION = """
mutation CreateQuotation($input: CreateQuotationInput!) {
  createQuotation(input: $input) { quotation { id } }
}"""


def _span(span: ReadableSpan) -> dict[str, Any]:
    context = span.get_span_context()
    assert context is not None
    return {
        "name": span.name,
        "kind": span.kind.name,
        "trace_id": f"{context.trace_id:032x}",
        "span_id": f"{context.span_id:016x}",
        "parent_id": f"{span.parent.span_id:016x}" if span.parent else None,
        "attributes": {key: str(value) for key, value in (span.attributes or {}).items()},
        "events": [
            {key: str(value) for key, value in (event.attributes or {}).items()}
            for event in span.events
        ],
        "service": str(span.resource.attributes.get("service.name")),
        "links": [f"{link.context.trace_id:032x}" for link in span.links],
    }


async def scenario(exporter: InMemorySpanExporter) -> None:
    password = os.environ["TRACE_PASSWORD"]
    settings = Settings(
        env=Environment.TEST,
        database_url=os.environ["TRACE_DATABASE_URL"],
        redis_url=os.environ["TRACE_REDIS_URL"],
        jwt_secret=SecretStr("trace-jwt-secret-" + "x" * 32),
        email_secret=SecretStr("trace-email-secret-" + "x" * 32),
        encryption_keys=SecretStr(os.environ["SPIRIT_ENCRYPTION_KEYS"]),
        data_dir=os.environ["TRACE_DATA_DIR"],
        seed_demo=False,
        run_workers=False,
        rate_limit_points=0,
    )
    assert settings.database_url
    assert settings.redis_url
    engine = create_engine(settings.database_url, keyring=settings.keyring())
    async with create_session_factory(engine)() as session, session.begin():
        await create_user(session, NewUser(EMAIL, password, Role.CLIENT, locale=Locale.EN))
        await create_user(session, NewUser(AGENCY, password, Role.AGENCY, company="Trace Tours"))
    await engine.dispose()

    async with serving(settings) as server, httpx.AsyncClient(base_url=server.url) as http:
        # A client of no trace: the server's span is the root of each request's trace.
        HTTPXClientInstrumentor.uninstrument_client(http)
        answers = [
            await http.post(
                "/graphql",
                json={
                    "query": LOGIN_VARIABLES,
                    "variables": {"input": {"email": EMAIL, "password": password}},
                },
            ),
            await http.post(
                "/graphql",
                json={
                    "query": f"mutation Inline {{ login(input: {{email: {json.dumps(EMAIL)}, "
                    f"password: {json.dumps(password)}}}) {{ accessToken }} }}"
                },
            ),
            await http.post("/graphql", json={"query": REQUEST_RESET, "variables": {"e": EMAIL}}),
        ]
        signed_in = await http.post(
            "/graphql",
            json={
                "query": LOGIN_VARIABLES,
                "variables": {"input": {"email": AGENCY, "password": password}},
            },
        )
        token = signed_in.json()["data"]["login"]["accessToken"]
        answers.append(
            await http.post(
                "/graphql",
                json={"query": CREATE_QUOTATION, "variables": {"input": quotation_input()}},
                headers={"Authorization": f"Bearer {token}"},
            )
        )
        for answer in answers:
            assert answer.status_code == 200, answer.text
            assert "errors" not in answer.json(), answer.text
        quotation_id = answers[-1].json()["data"]["createQuotation"]["quotation"]["id"]
        # Paths and query strings that carry what a trace must not: an e-mail link's signature,
        # a GET query's variables; and a path no route knows.
        await http.get(f"/e/o/{uuid.uuid4()}/sig-{password}")
        variables = json.dumps({"id": password})
        await http.get("/graphql", params={"query": GET_QUERY, "variables": variables})
        await http.get(f"/no-such-page-{password}")
        # A Host header that names a probe's path: the request is traced all the same.
        hidden = await http.post(
            "/graphql",
            json={"query": "query BehindProbeHost { __typename }"},
            headers={"Host": "api.example/healthz"},
        )
        assert hidden.status_code == 200, hidden.text
        # An operation sent as a WebSocket message: no HTTP span wraps it.
        async with live(server.url, token) as socket:
            await socket.subscribe("1", WS_QUERY, {"id": quotation_id})
            assert (await socket.data("1"))["quotation"]["id"] == quotation_id
            # A subscription: its operation span ends when it does.
            await socket.subscribe("2", WS_SUBSCRIPTION, {"id": quotation_id})
            await asyncio.sleep(0.5)
            await socket.stop("2")
            await asyncio.sleep(0.5)

        runner = JobRunner(settings, settings.database_url, settings.redis_url, concurrency=1)
        await runner.start()
        try:
            # The reset e-mail (queued by the request) and the quotation's (queued by the
            # feed for the outbox event), each sent in a job that continues a request's trace.
            for _ in range(600):
                flush_tracing()
                continued = [
                    span
                    for span in exporter.get_finished_spans()
                    if span.name == "process send_email" and span.parent is not None
                ]
                if len(continued) >= 2:
                    break
                await asyncio.sleep(0.1)
            else:
                raise AssertionError("the e-mails were not sent in their requests' traces")
        finally:
            await runner.stop()
    flush_tracing()


def main() -> None:
    exporter = InMemorySpanExporter()
    assert configure_tracing("spirit-tours-api", exporters=[exporter], environ={})
    asyncio.run(scenario(exporter))
    for span in exporter.get_finished_spans():
        sys.stdout.write(json.dumps(_span(span)) + "\n")


if __name__ == "__main__":
    main()
