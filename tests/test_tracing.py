"""OpenTelemetry tracing: one trace from the HTTP request through the GraphQL operation, its SQL
and Redis calls, to the saq job it queued and that job's own SQL; no secret in any span;
real OTLP export from `spirit-tours serve` (two worker processes) and `spirit-tours worker`, one
trace across them; nothing at all when off."""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from opentelemetry import trace
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from starlette.applications import Starlette
from starlette.routing import Route

from spirit_tours.config import Settings
from spirit_tours.core import tracing
from spirit_tours.core.enums import Role
from spirit_tours.core.tracing_setup import configure_tracing, exporters_wanted
from spirit_tours.dev import servers as services
from spirit_tours.emails.queueing import enqueue_messages, queue_email
from spirit_tours.jobs.email import email_queues
from spirit_tours.persistence.database import SessionFactory, create_engine
from spirit_tours.persistence.migrate import migrate
from spirit_tours.schema.tracing import OperationTracing
from tests.cli import SCRIPT, clean_env
from tests.conftest import TEST_ENCRYPTION_KEYS, TEST_KEYRING, LiveServer, UserFactory
from tests.email_flows import Inbox
from tests.test_cli import free_port

REPOSITORY = Path(__file__).resolve().parent.parent
Span = dict[str, Any]


def _run_scenario(database_url: str, redis_url: str, data_dir: Path, password: str) -> list[Span]:
    env = clean_env(
        TRACE_DATABASE_URL=database_url,
        TRACE_REDIS_URL=redis_url,
        TRACE_DATA_DIR=str(data_dir),
        TRACE_PASSWORD=password,
        SPIRIT_ENCRYPTION_KEYS=TEST_ENCRYPTION_KEYS,
    )
    env = {key: value for key, value in env.items() if not key.startswith("OTEL_")}
    done = subprocess.run(
        [sys.executable, "-m", "tests.tracing_scenario"],
        cwd=REPOSITORY,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    # Every span's context was put back as it was (the operation's spans a generator hook).
    assert "Failed to detach context" not in done.stderr, done.stderr[-4000:]
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


@pytest.fixture(scope="module")
async def scenario_database() -> AsyncIterator[str]:
    """A database of the scenario's own: the worker's shared one may hold rows other tests
    wrote with other encryption keys (a development server's), which the scenario's server
    would read and fail on."""
    url = await services.create_database("spirit_trace")
    engine = create_engine(url, pool_size=1, keyring=TEST_KEYRING)
    await migrate(engine)
    await engine.dispose()
    try:
        yield url
    finally:
        await services.drop_database(url)


@pytest.fixture(scope="module")
def traced(
    scenario_database: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> tuple[list[Span], str]:
    password = "tr4ce-" + secrets.token_hex(8)
    spans = _run_scenario(scenario_database, redis_url, tmp_path_factory.mktemp("traced"), password)
    return spans, password


def _ancestors(span: Span, by_id: dict[str, Span]) -> Iterator[Span]:
    while span["parent_id"] is not None and span["parent_id"] in by_id:
        span = by_id[span["parent_id"]]
        yield span


@pytest.mark.slow  # a server and a job runner in a process of their own
def test_one_trace_links_the_request_the_operation_sql_redis_and_the_job(
    traced: tuple[list[Span], str],
) -> None:
    spans, _ = traced
    (operation,) = [s for s in spans if s["name"] == "mutation RequestReset"]
    assert operation["attributes"]["graphql.operation.type"] == "mutation"
    assert operation["attributes"]["graphql.operation.name"] == "RequestReset"
    trace_id = operation["trace_id"]
    in_trace = [s for s in spans if s["trace_id"] == trace_id]
    by_id = {s["span_id"]: s for s in in_trace}

    # The HTTP server span is the root, the operation its child.
    (server,) = [s for s in in_trace if s["parent_id"] is None]
    assert server["kind"] == "SERVER"
    assert server["attributes"]["http.method"] == "POST"
    assert server["attributes"]["http.target"] == "/graphql"
    assert server["service"] == "spirit-tours-api"
    assert [a["span_id"] for a in _ancestors(operation, by_id)] == [server["span_id"]]
    assert operation["kind"] == "INTERNAL"

    # The root field under the operation; SQL and Redis below it.
    (field,) = [s for s in in_trace if s["name"] == "GraphQL field requestPasswordReset"]
    assert field["parent_id"] == operation["span_id"]
    sql = [s for s in in_trace if s["attributes"].get("db.system") == "postgresql"]
    assert any(field in _ancestors(s, by_id) for s in sql), "no statement under the field"
    assert any("INSERT INTO email_messages" in s["attributes"]["db.statement"] for s in sql)
    redis = [s for s in in_trace if s["attributes"].get("db.system") == "redis"]
    assert redis, "no Redis command in the request's trace"

    # The job: queued under a producer span of the request, run under a consumer span that
    # continues it, with the job's own SQL below.
    (producer,) = [s for s in in_trace if s["name"] == "send send_email"]
    assert producer["kind"] == "PRODUCER"
    assert operation in _ancestors(producer, by_id)
    assert producer["attributes"]["messaging.destination.name"] == "email-high"
    (job,) = [s for s in in_trace if s["name"] == "process send_email"]
    assert job["kind"] == "CONSUMER"
    assert job["parent_id"] == producer["span_id"]
    assert any(job in _ancestors(s, by_id) for s in sql), "no statement under the job"
    # Redis commands of the enqueue sit under the producer span.
    assert any(producer in _ancestors(s, by_id) for s in redis)


@pytest.mark.slow
def test_the_outbox_event_carries_the_trace_to_the_relay_the_feed_and_the_job(
    traced: tuple[list[Span], str],
) -> None:
    spans, _ = traced
    (operation,) = [s for s in spans if s["name"] == "mutation CreateQuotation"]
    in_trace = [s for s in spans if s["trace_id"] == operation["trace_id"]]
    by_id = {s["span_id"]: s for s in in_trace}
    (field,) = [s for s in in_trace if s["name"] == "GraphQL field createQuotation"]
    # The event's row is written with the field's span as its trace parent.
    inserts = [
        s
        for s in in_trace
        if "INSERT INTO outbox_events" in s["attributes"].get("db.statement", "")
    ]
    assert inserts
    assert all(field in _ancestors(s, by_id) for s in inserts)

    # The worker's feed turns the event into mail inside the same trace: e-mail span →
    # producer → the job, whose statements are below it.
    (feed,) = [s for s in in_trace if s["name"] == "e-mail for quotation.created"]
    assert feed["parent_id"] == field["span_id"]
    assert any(
        feed in _ancestors(s, by_id)
        for s in in_trace
        if "INSERT INTO email_messages" in s["attributes"].get("db.statement", "")
    )
    (producer,) = [s for s in in_trace if s["name"] == "send send_email"]
    assert producer["parent_id"] == feed["span_id"]
    (job,) = [s for s in in_trace if s["name"] == "process send_email"]
    assert job["parent_id"] == producer["span_id"]
    assert job["attributes"]["messaging.destination.name"] == "email-normal"

    # The relay publishes events in batches: its span is its own, linked to the request.
    relays = [s for s in spans if s["name"] == "publish outbox events"]
    linked = [s for s in relays if operation["trace_id"] in s["links"]]
    assert linked, relays
    assert all(s["trace_id"] != operation["trace_id"] for s in linked)


@pytest.mark.slow
def test_an_operation_over_the_websocket_is_a_trace_of_its_own(
    traced: tuple[list[Span], str],
) -> None:
    spans, _ = traced
    (operation,) = [s for s in spans if s["name"] == "query WsQuotation"]
    assert operation["parent_id"] is None
    assert operation["kind"] == "SERVER"
    in_trace = [s for s in spans if s["trace_id"] == operation["trace_id"]]
    assert any(s["attributes"].get("db.system") == "postgresql" for s in in_trace)
    assert not any(s["attributes"].get("http.method") for s in in_trace)
    # A subscription's span lasts as long as it, and ended with it.
    (subscription,) = [s for s in spans if s["name"] == "subscription WsEvents"]
    assert subscription["parent_id"] is None


@pytest.mark.slow
def test_no_span_records_a_password_an_address_or_the_document(
    traced: tuple[list[Span], str],
) -> None:
    spans, password = traced
    assert any(s["name"] == "mutation SignIn" for s in spans)
    assert any(s["name"] == "mutation Inline" for s in spans)  # the password in the document
    for span in spans:
        values = [span["name"], *span["attributes"].values()]
        values += [value for event in span["events"] for value in event.values()]
        for value in values:
            assert password not in value, (span["name"], value)
            assert "traced@example.com" not in value, (span["name"], value)  # nor the address
        assert not any(key.startswith("graphql.param") for key in span["attributes"])
        assert "query" not in span["attributes"]  # strawberry's own records the document
    # The statements are there, without their parameters (the address was one of them).
    assert any("FROM users" in s["attributes"].get("db.statement", "") for s in spans)


@pytest.mark.slow
def test_server_spans_are_named_by_route_without_parameters_or_query(
    traced: tuple[list[Span], str],
) -> None:
    spans, _ = traced
    servers = [s for s in spans if s["kind"] == "SERVER" and "http.method" in s["attributes"]]
    (pixel,) = [s for s in servers if s["name"] == "GET /e/o/{message_id}/{signature}"]
    assert pixel["attributes"]["http.route"] == "/e/o/{message_id}/{signature}"
    assert pixel["attributes"]["http.target"] == "/e/o/{message_id}/{signature}"
    assert pixel["attributes"]["http.url"].endswith("/e/o/{message_id}/{signature}")
    (get_query,) = [s for s in servers if s["name"] == "GET /graphql"]
    assert "?" not in get_query["attributes"]["http.url"]
    (unknown,) = [s for s in servers if s["name"] == "GET"]  # no route: not the path
    # Only the probes' own paths go untraced, not a request whose Host header names one.
    (behind,) = [s for s in spans if s["name"] == "query BehindProbeHost"]
    assert behind["kind"] == "INTERNAL"  # under the request's server span
    assert unknown["attributes"]["http.target"] == "/{unmatched}"
    assert {s["name"] for s in servers} <= {
        "POST /graphql",
        "GET /graphql",
        "GET /e/o/{message_id}/{signature}",
        "GET",
    }


@pytest.mark.slow
def test_background_polling_leaves_no_orphan_client_spans(traced: tuple[list[Span], str]) -> None:
    """The relay, the hub and the workers poll PostgreSQL and Redis several times a second:
    a statement or command outside a request or a job is not traced."""
    spans, _ = traced
    for span in spans:
        if span["kind"] in ("CLIENT", "PRODUCER"):
            assert span["parent_id"] is not None, span["name"]


# --- off by default ---------------------------------------------------------------------------


def test_tracing_is_off_unless_the_environment_asks_for_it() -> None:
    assert exporters_wanted({}) == []
    assert exporters_wanted({"OTEL_SERVICE_NAME": "x", "OTEL_TRACES_SAMPLER": "always_on"}) == []
    assert exporters_wanted({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}) == ["otlp"]
    assert exporters_wanted({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/v1/traces"}) == [
        "otlp"
    ]
    assert exporters_wanted({"OTEL_TRACES_EXPORTER": "console"}) == ["console"]
    assert exporters_wanted({"OTEL_TRACES_EXPORTER": "none"}) == []
    assert (
        exporters_wanted(
            {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_SDK_DISABLED": "true"}
        )
        == []
    )
    assert configure_tracing("spirit-tours-api", environ={}) is False


def test_with_nothing_set_nothing_is_instrumented(live_server: LiveServer) -> None:
    """The test process never configures tracing: its server is what production runs with no
    OTEL_* variable."""
    assert not tracing.enabled()
    assert not isinstance(trace.get_tracer_provider(), _sdk_provider())
    app: Starlette = live_server.app
    stack = app.build_middleware_stack()
    assert type(stack).__module__.startswith("spirit_tours"), type(stack)
    (graphql,) = [r for r in app.routes if isinstance(r, Route) and r.path == "/graphql"]
    schema = graphql.endpoint.schema  # type: ignore[attr-defined]
    assert schema.extensions  # the guards are there
    assert not any(
        extension is OperationTracing or isinstance(extension, OperationTracing)
        for extension in schema.extensions
    )
    from redis.asyncio import Redis

    assert not hasattr(Redis.execute_command, "__wrapped__")  # RedisInstrumentor's wrapper
    assert not hasattr(httpx.AsyncHTTPTransport.handle_async_request, "__wrapped__")


def _sdk_provider() -> type:
    from opentelemetry.sdk.trace import TracerProvider

    return TracerProvider


# --- OTLP export from the real server ---------------------------------------------------------


@contextlib.contextmanager
def collector() -> Iterator[tuple[int, list[ExportTraceServiceRequest]]]:
    """A tiny OTLP/HTTP collector: POST /v1/traces with a protobuf body."""
    received: list[ExportTraceServiceRequest] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if self.path == "/v1/traces":
                received.append(ExportTraceServiceRequest.FromString(body))
            self.send_response(200 if self.path == "/v1/traces" else 404)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], received
    finally:
        server.shutdown()
        server.server_close()


def _spans_of(requests: list[ExportTraceServiceRequest]) -> list[tuple[str, str, str]]:
    """(service name, span name, trace id) of every span the collector received."""
    found = []
    for request in requests:
        for resource in request.resource_spans:
            names = [
                a.value.string_value
                for a in resource.resource.attributes
                if a.key == "service.name"
            ]
            service = names[0] if names else ""
            for scope in resource.scope_spans:
                found += [(service, span.name, span.trace_id.hex()) for span in scope.spans]
    return found


async def _start(*args: str, env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        SCRIPT, *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )


async def _stop(process: asyncio.subprocess.Process) -> str:
    if process.returncode is None:
        process.terminate()
    output, _ = await asyncio.wait_for(process.communicate(), 120)
    return output.decode()


@pytest.mark.slow  # runs the console script's server (two worker processes) and its worker
async def test_serve_and_worker_export_one_trace_over_otlp(
    database_url: str, redis_url: str, tmp_path: Path, make_user: UserFactory
) -> None:
    await make_user("otlp@example.com", Role.CLIENT)
    port = free_port()
    with collector() as (collector_port, received):
        env = clean_env(
            SPIRIT_ENV="test",  # the worker writes its mail to the data folder's outbox
            SPIRIT_DATABASE_URL=database_url,
            SPIRIT_REDIS_URL=redis_url,
            SPIRIT_ENCRYPTION_KEYS=TEST_ENCRYPTION_KEYS,
            SPIRIT_JWT_SECRET=secrets.token_urlsafe(48),
            SPIRIT_EMAIL_SECRET=secrets.token_urlsafe(48),
            SPIRIT_PUBLIC_URL=f"http://127.0.0.1:{port}",
            SPIRIT_DATA_DIR=str(tmp_path),
            SPIRIT_WEB_WORKERS="2",
            OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{collector_port}",
            OTEL_RESOURCE_ATTRIBUTES="deployment.environment=test",
            OTEL_BSP_SCHEDULE_DELAY="100",
        )
        server = await _start("serve", "--port", str(port), env=env)
        worker = await _start("worker", "--concurrency", "1", env=env)
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
                for _ in range(1200):  # the server's processes import the app: slow when busy
                    assert server.returncode is None, "serve exited early"
                    with contextlib.suppress(httpx.TransportError):
                        if (await http.get("/readyz")).status_code == 200:
                            break
                    await asyncio.sleep(0.1)
                else:
                    raise AssertionError("serve did not become ready")
                for _ in range(5):
                    answer = await http.post(
                        "/graphql", json={"query": "query Ping { __typename }"}
                    )
                    assert answer.status_code == 200
                reset = await http.post(
                    "/graphql",
                    json={
                        "query": "mutation Reset($e: String!) { requestPasswordReset(email: $e) }",
                        "variables": {"e": "otlp@example.com"},
                    },
                )
                assert reset.json() == {"data": {"requestPasswordReset": True}}
            for _ in range(600):  # until the worker ran the job and exported its span
                assert worker.returncode is None, "worker exited early"
                if any(s[1] == "process send_email" for s in _spans_of(received)):
                    break
                await asyncio.sleep(0.1)
        finally:
            server_output = await _stop(server)
            worker_output = await _stop(worker)
    spans = _spans_of(received)
    assert server.returncode == 0, server_output[-3000:]
    assert worker.returncode == 0, worker_output[-3000:]
    assert len([s for s in spans if s[1] == "query Ping"]) == 5, spans
    assert not any("readyz" in s[1] for s in spans)  # the probes polled above are not traced
    # One trace across the processes: the API's request and operation, the worker's job.
    (operation,) = [s for s in spans if s[1] == "mutation Reset"]
    assert operation[0] == "spirit-tours-api"
    trace_spans = {(s[0], s[1]) for s in spans if s[2] == operation[2]}
    assert ("spirit-tours-api", "POST /graphql") in trace_spans, trace_spans
    assert ("spirit-tours-api", "send send_email") in trace_spans, trace_spans
    assert ("spirit-tours-worker", "process send_email") in trace_spans, trace_spans


class _Greylisting(Inbox):
    """A relay that greylists every recipient, naming it in its answer as Postfix does."""

    async def handle_RCPT(  # noqa: N802
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        return f"450 4.2.0 <{address}>: Recipient address rejected: Greylisted"


def _span_texts(requests: list[ExportTraceServiceRequest], name: str) -> list[str]:
    """The status message and every event attribute of the exported spans named ``name``."""
    texts = []
    for request in requests:
        for resource in request.resource_spans:
            for scope in resource.scope_spans:
                for span in scope.spans:
                    if span.name == name:
                        texts.append(span.status.message)
                        texts += [
                            a.value.string_value for event in span.events for a in event.attributes
                        ]
    return texts


@pytest.mark.slow  # runs the console script's worker against a local relay and collector
async def test_a_failed_job_s_span_names_its_error_not_the_recipient(
    settings: Settings, sessions: SessionFactory, tmp_path: Path
) -> None:
    """A relay refusing a recipient says its address; the job's span is failed, described by
    the error's class, without that answer (which the worker's log scrubs)."""
    assert settings.database_url
    assert settings.redis_url
    recipient = f"greylisted-{secrets.token_hex(4)}@example.com"
    inbox = _Greylisting()
    smtp_port = free_port()
    relay = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    relay.start()
    try:
        with collector() as (collector_port, received):
            env = clean_env(
                SPIRIT_ENV="test",
                SPIRIT_DATABASE_URL=settings.database_url,
                SPIRIT_REDIS_URL=settings.redis_url,
                SPIRIT_ENCRYPTION_KEYS=TEST_ENCRYPTION_KEYS,
                SPIRIT_JWT_SECRET=secrets.token_urlsafe(48),
                SPIRIT_EMAIL_SECRET=secrets.token_urlsafe(48),
                SPIRIT_DATA_DIR=str(tmp_path),
                SPIRIT_SMTP_URL=f"smtp://127.0.0.1:{smtp_port}",
                OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{collector_port}",
                OTEL_BSP_SCHEDULE_DELAY="100",
            )
            worker = await _start("worker", "--concurrency", "1", env=env)
            try:
                async with sessions() as session, session.begin():
                    queued = await queue_email(
                        session, template="welcome", to=recipient, locale="en",
                        context={"name": "Ana", "login_url": "https://app.example/login"},
                        message_id_domain="spirit-tours.example",
                    )  # fmt: skip
                assert queued is not None
                queues = email_queues(settings.redis_url)
                try:
                    await enqueue_messages(queues, [queued])
                finally:
                    for queue in queues.values():
                        await queue.disconnect()
                for _ in range(1200):  # until the worker ran the job and exported its span
                    assert worker.returncode is None, "worker exited early"
                    if _span_texts(received, "process send_email"):
                        break
                    await asyncio.sleep(0.1)
                else:
                    raise AssertionError("the job's span did not arrive")
            finally:
                output = await _stop(worker)
    finally:
        relay.stop()
    assert worker.returncode == 0, output[-3000:]
    texts = _span_texts(received, "process send_email")
    assert "SMTPRecipientsRefused" in texts, texts
    assert not any(recipient in text or "Greylisted" in text for text in texts), texts
