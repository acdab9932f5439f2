"""Logs as operations reads them: one JSON object per line from every process of ``serve``,
each line of a request carrying its request id (and trace id), no secret anywhere."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import secrets
import signal
import socket
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags
from redis.asyncio import Redis
from sqlalchemy.exc import IntegrityError

from spirit_tours.config import Environment, Settings
from spirit_tours.core.enums import Locale, Role
from spirit_tours.jobs.queue import JobQueue
from spirit_tours.jobs.worker import _Worker
from spirit_tours.logs.context import bind_request_id
from spirit_tours.logs.setup import formatter
from spirit_tours.persistence.accounts import User
from spirit_tours.persistence.database import SessionFactory
from tests.cli import SCRIPT, clean_env
from tests.conftest import PASSWORD, TEST_ENCRYPTION_KEYS, UserFactory, known_secrets
from tests.log_secrets import leaks

TEST_CARD = "4242 4242 4242 4242"
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _json_lines(text: str) -> list[dict[str, Any]]:
    """Every line of ``text`` is one JSON object (anything else fails the test)."""
    lines = []
    for line in text.splitlines():
        if line.strip():
            try:
                lines.append(json.loads(line))
            except json.JSONDecodeError:
                raise AssertionError(f"not a JSON line: {line!r}") from None
    return lines


@pytest.mark.slow  # runs the console script's server with two worker processes
async def test_a_request_s_json_lines_carry_its_request_id_and_no_secret(
    database_url: str, redis_url: str, tmp_path: Path
) -> None:
    port = _free_port()
    webhook_secret = "whsec_" + secrets.token_hex(24)
    env = clean_env(
        SPIRIT_DATABASE_URL=database_url,
        SPIRIT_REDIS_URL=redis_url,
        SPIRIT_ENCRYPTION_KEYS=TEST_ENCRYPTION_KEYS,
        SPIRIT_JWT_SECRET=secrets.token_urlsafe(48),
        SPIRIT_EMAIL_SECRET=secrets.token_urlsafe(48),
        SPIRIT_STRIPE_API_KEY="sk_test_" + secrets.token_hex(12),
        SPIRIT_STRIPE_WEBHOOK_SECRET=webhook_secret,
        SPIRIT_PUBLIC_URL=f"http://127.0.0.1:{port}",
        SPIRIT_DATA_DIR=str(tmp_path),
        SPIRIT_WEB_WORKERS="2",  # each worker process must log as the parent does
        SPIRIT_LOG_FORMAT="json",
        # Tracing on (spans to stdout, which this test does not read): the request's lines
        # carry the trace id of the trace the request continues.
        OTEL_TRACES_EXPORTER="console",
    )
    request_id = "req-" + uuid.uuid4().hex
    signature = secrets.token_urlsafe(24)
    process = await asyncio.create_subprocess_exec(
        SCRIPT, "serve", "--port", str(port), env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            for _ in range(1200):  # the workers import the app: slow on a busy machine
                assert process.returncode is None, "serve exited early"
                with contextlib.suppress(httpx.TransportError):
                    if (await http.get("/readyz")).status_code == 200:
                        break
                await asyncio.sleep(0.1)
            else:
                raise AssertionError("serve did not become ready")
            # A forged webhook: refused (401) and logged by the app, with a card number and
            # a password in its body that must not reach the log.
            body = json.dumps({"card": {"number": TEST_CARD}, "password": PASSWORD})
            refused = await http.post(
                "/webhooks/stripe",
                content=body,
                headers={
                    "X-Request-ID": request_id,
                    "Stripe-Signature": f"t=1,v1={signature}",
                    "traceparent": f"00-{TRACE_ID}-00f067aa0ba902b7-01",
                    "Content-Type": "application/json",
                },
            )
            assert refused.status_code == 401
            assert refused.headers["X-Request-ID"] == request_id
            # An unsafe id is replaced by one of ours.
            replaced = await http.get("/healthz", headers={"X-Request-ID": "x" * 129})
            new_id = replaced.headers["X-Request-ID"]
            assert len(new_id) == 32
            assert new_id != "x" * 129
            # Secrets in a URL: a signed unsubscribe link, a token and GraphQL variables.
            variables = json.dumps({"input": {"email": "ana@example.com", "password": PASSWORD}})
            await http.get(f"/e/u/{uuid.uuid4()}/{signature}", params={"token": signature})
            await http.get(
                "/graphql", params={"query": "{ viewer { id } }", "variables": variables}
            )
            # A document with its literals inline (a mutation over GET is refused, but its
            # access line is written): the URL holds the password and the address.
            inline = (
                f'mutation {{ login(input: {{email: "ana@example.com", password: "{signature}"}})'
                " { accessToken } }"
            )
            await http.get("/graphql", params={"query": inline})
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), 120)
    text = stderr.decode()
    assert process.returncode == 0, text
    lines = _json_lines(text)
    for line in lines:
        assert {"timestamp", "level", "logger", "event"} <= line.keys(), line
        assert line["timestamp"].endswith("Z"), line  # ISO 8601, UTC
    ours = [line for line in lines if line.get("request_id") == request_id]
    access = [line for line in ours if line["logger"] == "uvicorn.access"]
    assert [(line["method"], line["path"], line["status"]) for line in access] == [
        ("POST", "/webhooks/stripe", 401)
    ], text
    assert any(line["logger"] == "spirit_tours.payments.refusals" for line in ours), text
    # Tracing is on: the request's lines carry the trace it continues, and no other.
    assert {line.get("trace_id") for line in ours} == {TRACE_ID}, text
    assert any(
        line.get("request_id") == new_id and line["logger"] == "uvicorn.access" for line in lines
    ), text
    assert "Finished server process" in text  # uvicorn's own lines, as JSON too
    assert not leaks(text, [*known_secrets(), signature, webhook_secret, "ana@example.com"]), text
    assert "ana%40example.com" not in text  # nor percent-encoded in a URL


@contextlib.contextmanager
def _rendered() -> Iterator[io.StringIO]:
    """What this process's log records look like in production (the JSON formatter)."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(formatter("json"))
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield out
    finally:
        root.removeHandler(handler)


async def test_a_line_carries_the_active_span_s_trace_id() -> None:
    span = NonRecordingSpan(
        SpanContext(int(TRACE_ID, 16), 0x00F067AA0BA902B7, False, TraceFlags(TraceFlags.SAMPLED))
    )
    log = logging.getLogger("spirit_tours.test")
    with _rendered() as out:
        with trace.use_span(span):
            log.warning("inside a span")
        log.warning("outside")
    inside, outside = _json_lines(out.getvalue())
    assert (inside["trace_id"], inside["span_id"]) == (TRACE_ID, "00f067aa0ba902b7")
    assert "trace_id" not in outside
    assert "span_id" not in outside


async def test_secrets_and_personal_data_are_scrubbed_by_key_and_by_look() -> None:
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"
    log = logging.getLogger("spirit_tours.test")
    with _rendered() as out:
        log.warning(
            "sign-in of ana.maria@example.com, Authorization: Bearer %s, card %s, body %s",
            jwt, TEST_CARD, '{"password": "hunter22", "cvc": "123"}',
            extra={"user": {"email": "bob@example.org", "Password": PASSWORD,
                            "sessions": [{"refreshToken": "r-" + "9" * 20}]},
                   "iban": "DE89370400440532013000", "at_ms": 1764498245123},
        )  # fmt: skip
        try:
            raise ValueError(f"provider said: token={jwt}")
        except ValueError:
            log.exception("a failure")
    text = out.getvalue()
    first, failure = _json_lines(text)
    for secret in (jwt, "4242", "hunter22", PASSWORD, "9" * 20, "DE89", "ana.maria", "bob@"):
        assert secret not in text, secret
    assert "a***@example.com" in first["event"]
    assert first["user"]["email"] == "b***@example.org"
    assert first["at_ms"] == 1764498245123  # a timestamp is no card number
    assert "ValueError: provider said: token=" in failure["exception"]


async def test_a_failed_statement_s_values_stay_out_of_its_logged_traceback(
    sessions: SessionFactory, make_user: UserFactory
) -> None:
    """An unexpected database error is logged with its traceback (``schema.errors``): the
    statement and the constraint it broke are there, but not the values it carried — neither
    SQLAlchemy's ``[parameters: …]`` nor PostgreSQL's DETAIL (the conflicting key, the failing
    row): a person's name, birth date, password hash or address."""
    taken = await make_user("ana.maria@example.com", Role.CLIENT)
    name = "Ana Maria Quispe-" + secrets.token_hex(4)
    password_hash = "$argon2id$v=19$m=65536,t=3,p=4$" + secrets.token_hex(16)
    log = logging.getLogger("spirit_tours.test")
    with _rendered() as out:
        for company_id in (None, uuid.uuid4()):  # a unique key, then a check: the failing row
            email = taken.email if company_id is None else f"{secrets.token_hex(6)}@example.com"
            try:
                async with sessions() as session, session.begin():
                    session.add(
                        User(email=email, password_hash=password_hash, full_name=name,
                             role=Role.CLIENT, company_id=company_id, locale=Locale.EN,
                             birth_date=date(1987, 6, 5))
                    )  # fmt: skip
            except IntegrityError:
                log.exception("unexpected error at %s", "createUser")
    text = out.getvalue()
    failures = _json_lines(text)
    assert len(failures) == 2, text
    assert "uq_users_email_lower" in failures[0]["exception"]
    assert "client_has_no_company" in failures[1]["exception"]
    assert all("INSERT INTO users" in line["exception"] for line in failures)
    for value in (name, password_hash, "1987", "ana.maria", email.split("@")[0]):
        assert value not in text, value


async def test_a_job_s_log_lines_carry_the_request_id_that_enqueued_it(redis_url: str) -> None:
    queue = JobQueue(Redis.from_url(redis_url), name=f"logs-{uuid.uuid4().hex}")
    await queue.connect()
    request_id = "req-" + uuid.uuid4().hex
    done = asyncio.Event()

    async def noted(ctx: dict[str, Any]) -> None:
        logging.getLogger("spirit_tours.jobs.test").warning("job ran")
        done.set()

    async def enqueue_as_a_request() -> None:
        bind_request_id(request_id)
        await queue.enqueue("noted")

    worker = _Worker(queue, functions=[("noted", noted)], dequeue_timeout=0.1)
    try:
        with _rendered() as out:
            await asyncio.create_task(enqueue_as_a_request())  # the request's own task
            started = asyncio.create_task(worker.start())
            await asyncio.wait_for(done.wait(), 10)
            await worker.stop()
            await started
        lines = _json_lines(out.getvalue())
        ran = [line for line in lines if line["event"] == "job ran"]
        assert [line.get("request_id") for line in ran] == [request_id]
        processing = [line for line in lines if line["event"].startswith("Processing")]
        assert [line.get("request_id") for line in processing] == [request_id]
    finally:
        await queue.disconnect()


def test_json_is_the_default_except_in_development() -> None:
    assert Settings(env=Environment.PRODUCTION).logs_as == "json"
    assert Settings(env=Environment.DEVELOPMENT).logs_as == "console"
    assert Settings(env=Environment.DEVELOPMENT, log_format="json").logs_as == "json"


@pytest.mark.slow  # runs the console script's job worker
async def test_the_worker_s_lines_stay_json_while_its_metrics_server_runs(
    database_url: str, redis_url: str, tmp_path: Path
) -> None:
    """The worker's /metrics is a uvicorn server inside the worker: its warnings (a request it
    cannot read) are JSON lines like the worker's own, not uvicorn's plain text."""
    port = _free_port()
    token = secrets.token_urlsafe(24)
    env = clean_env(
        SPIRIT_ENV="test",
        SPIRIT_DATABASE_URL=database_url,
        SPIRIT_REDIS_URL=redis_url,
        SPIRIT_DATA_DIR=str(tmp_path),
        SPIRIT_ENCRYPTION_KEYS=TEST_ENCRYPTION_KEYS,
        SPIRIT_JWT_SECRET=secrets.token_urlsafe(48),
        SPIRIT_EMAIL_SECRET=secrets.token_urlsafe(48),
        SPIRIT_METRICS_TOKEN=token,
        SPIRIT_WORKER_METRICS_PORT=str(port),
        SPIRIT_LOG_FORMAT="json",
    )
    worker = await asyncio.create_subprocess_exec(
        SCRIPT, "worker", "--concurrency", "1", env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            auth = {"Authorization": f"Bearer {token}"}
            for _ in range(1200):
                assert worker.returncode is None, "the worker exited early"
                with contextlib.suppress(httpx.TransportError):
                    if (await http.get("/metrics", headers=auth)).status_code == 200:
                        break
                await asyncio.sleep(0.1)
            else:
                raise AssertionError("the worker's /metrics did not answer")
        # A request the server cannot parse: uvicorn warns "Invalid HTTP request received."
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"NOT HTTP AT ALL\r\n\r\n")
        await writer.drain()
        await asyncio.wait_for(reader.read(), 10)
        writer.close()
    finally:
        worker.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(worker.communicate(), 60)
    text = stderr.decode()
    assert worker.returncode == 0, text
    lines = _json_lines(text)
    assert any(
        line["logger"] == "uvicorn.error" and line["level"] == "warning" for line in lines
    ), text
    assert not leaks(text, [*known_secrets(), token]), text
