"""Fixtures: a fresh database and Redis database per run, a live uvicorn server, clean state
before every test."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
import uvicorn
from argon2 import PasswordHasher
from pydantic import SecretStr
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from starlette.applications import Starlette

from spirit_tours.app import create_app
from spirit_tours.auth import passwords
from spirit_tours.config import Environment, Settings
from spirit_tours.core.crypto import Keyring, new_key_spec
from spirit_tours.core.enums import Locale, Role
from spirit_tours.dev import servers as services
from spirit_tours.dev.demo import DEMO_PASSWORD
from spirit_tours.edge.server import server_config
from spirit_tours.jobs.monitor import show_queues
from spirit_tours.logs.setup import QUIET_ALWAYS
from spirit_tours.persistence.accounts import User
from spirit_tours.persistence.database import SessionFactory, create_engine, create_session_factory
from spirit_tours.persistence.migrate import migrate
from spirit_tours.persistence.models import Base
from spirit_tours.resolvers.accounts import NewUser, create_user
from tests import paypal_pki
from tests.graphql_client import GraphQLClient
from tests.log_secrets import SecretWatch

TEST_JWT_SECRET = "test-secret-" + uuid.uuid4().hex
TEST_EMAIL_SECRET = "test-email-secret-" + uuid.uuid4().hex
METRICS_TOKEN = "test-metrics-" + uuid.uuid4().hex
# A key of this run's own: sensitive columns are encrypted in the tests as in production.
TEST_ENCRYPTION_KEYS = new_key_spec("test1")
TEST_KEYRING = Keyring.parse(TEST_ENCRYPTION_KEYS)
# Every payment provider configured with test credentials; the tests record their HTTP.
STRIPE_WEBHOOK_SECRET = "whsec_test_" + uuid.uuid4().hex
MERCADOPAGO_WEBHOOK_SECRET = "mp-test-" + uuid.uuid4().hex
PROVIDER_SETTINGS: dict[str, Any] = {
    "stripe_api_key": SecretStr("sk_test_spirit"),
    "stripe_webhook_secret": SecretStr(STRIPE_WEBHOOK_SECRET),
    "mercadopago_access_token": SecretStr("TEST-spirit-access-token"),
    "mercadopago_webhook_secret": SecretStr(MERCADOPAGO_WEBHOOK_SECRET),
    "paypal_client_id": "paypal-test-client",
    "paypal_client_secret": SecretStr("paypal-test-secret"),
    "paypal_webhook_id": "WH-TEST-SPIRIT",
    "payu_api_key": SecretStr("4Vj8eK4rloUd272L48hsrarnUA"),
    "payu_api_login": "pRRXKOl8ikMmt9u",
    "payu_merchant_id": "508029",
    "payu_account_ids": {"CO": "512321", "PE": "512323", "MX": "512324"},
    "payment_provider_timeout_seconds": 2.0,
}
PASSWORD = "correct horse battery"
# The test-only password profile: argon2id with the least work it accepts (production's costs
# ~0.4 s a hash and the suite signs in thousands of users). Only this process: the console
# script and server subprocesses hash as production does (test_cli checks the parameters).
TEST_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
passwords.use_hasher(TEST_HASHER)


def known_secrets() -> list[str]:
    """Every secret the tests use: none may reach a log line (tests/log_secrets.py)."""
    sealed = [value.get_secret_value() for value in PROVIDER_SETTINGS.values()
              if isinstance(value, SecretStr)]  # fmt: skip
    return [
        PASSWORD, DEMO_PASSWORD, "wrong-pass", "guess-123", "secret-pass-1",
        TEST_JWT_SECRET, TEST_EMAIL_SECRET, METRICS_TOKEN, TEST_ENCRYPTION_KEYS.partition(":")[2],
        STRIPE_WEBHOOK_SECRET, MERCADOPAGO_WEBHOOK_SECRET, *sealed,
    ]  # fmt: skip


@pytest.fixture(scope="session", autouse=True)
def no_secrets_in_logs() -> Iterator[None]:
    """Every log record of this test process, at DEBUG, rendered as production renders it:
    at the end of the session (of each xdist worker), one that shows a test's password, token,
    key or card number fails the run."""
    watch = SecretWatch(known_secrets())
    root = logging.getLogger()
    level = root.level
    quiet = {name: logging.getLogger(name).level for name in QUIET_ALWAYS}
    for name in QUIET_ALWAYS:  # as in production, SQLAlchemy's statement log stays off
        logging.getLogger(name).setLevel(logging.WARNING)
    root.setLevel(logging.DEBUG)
    root.addHandler(watch)
    yield
    root.removeHandler(watch)
    root.setLevel(level)
    for name, previous in quiet.items():
        logging.getLogger(name).setLevel(previous)
    assert not watch.found, "secrets in the logs:\n" + "\n".join(watch.found[:20])


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Files with a test marked ``slow`` first: in a parallel run (make test) they then overlap
    the many short ones instead of ending the run alone. A file's tests keep their order."""
    slow = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow)


@pytest.fixture(scope="session")
async def database_url() -> AsyncIterator[str]:
    """A database of its own for this test run, migrated to head, dropped afterwards."""
    url = await services.create_database("spirit_test")
    engine = create_engine(url, pool_size=1, keyring=TEST_KEYRING)
    await migrate(engine)
    await engine.dispose()
    try:
        yield url
    finally:
        await services.drop_database(url)


def worker_number() -> int:
    """This pytest-xdist worker's number (``gw3`` → 3); 0 without xdist."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return int(worker.removeprefix("gw"))


def worker_redis_url(url: str, worker: int) -> str:
    """``url`` with its database index lowered by ``worker``: each xdist worker flushes and
    queues (saq's keys carry only the queue's name) in a Redis database of its own."""
    parts = urlsplit(url)
    index = int(parts.path.lstrip("/") or 0) - worker
    assert index >= 0, f"{url}: no Redis database left for xdist worker {worker}"
    return urlunsplit(parts._replace(path=f"/{index}"))


@pytest.fixture(scope="session")
def redis_url() -> str:
    return worker_redis_url(services.redis_url(), worker_number())


@pytest.fixture(scope="session")
def settings(
    database_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Settings:
    return Settings(
        env=Environment.TEST,
        database_url=database_url,
        redis_url=redis_url,
        jwt_secret=SecretStr(TEST_JWT_SECRET),
        email_secret=SecretStr(TEST_EMAIL_SECRET),
        metrics_token=SecretStr(METRICS_TOKEN),
        encryption_keys=SecretStr(TEST_ENCRYPTION_KEYS),
        seed_demo=False,
        # PayPal's webhook certificates are issued by the tests' own CA (tests/paypal_pki.py).
        paypal_trust_store=str(paypal_pki.trust_store(tmp_path_factory.mktemp("paypal"))),
        # Property tests send thousands of operations a minute as one viewer; the rate limit
        # has its own server in test_request_guard.
        rate_limit_points=0,
        **PROVIDER_SETTINGS,
    )


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url, pool_size=5, keyring=TEST_KEYRING)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
def sessions(engine: AsyncEngine) -> SessionFactory:
    return create_session_factory(engine)


@pytest.fixture(scope="session")
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


@dataclass
class LiveServer:
    url: str
    server: uvicorn.Server
    app: Starlette


RUNNING: list[LiveServer] = []  # the servers running in this process, for clean_state and polls


@pytest.fixture(scope="session")
async def live_server(settings: Settings) -> AsyncIterator[LiveServer]:
    """The real ASGI app behind a real uvicorn server on a free loopback port."""
    async with serving(settings) as server:
        yield server


@contextlib.asynccontextmanager
async def serving(settings: Settings, port: int = 0) -> AsyncIterator[LiveServer]:
    """A server on ``port`` (0: a free one; a stopped server's, to restart it)."""
    app = create_app(settings)
    config = server_config(
        app,
        settings,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="on",
        log_config=None,  # the test process keeps pytest's logging (and the secrets check)
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    live = LiveServer(url=f"http://127.0.0.1:{port}", server=server, app=app)
    RUNNING.append(live)
    try:
        yield live
    finally:
        RUNNING.remove(live)
        if RUNNING:
            # saq's monitor lists the queues of the app that started last (a registry per
            # process): give it back to the server still running, as with one app per process.
            show_queues(RUNNING[-1].app.state.services.queues.values())
    server.should_exit = True
    with contextlib.suppress(asyncio.CancelledError):
        await task


def _emptying_statement() -> str:
    """One statement that empties every table and restarts their identity columns.

    What ``TRUNCATE … RESTART IDENTITY`` did, at a twentieth of its cost (~10 ms instead of
    ~250 ms, which a thousand tests paid): a truncation replaces every table's files, a DELETE
    of a few rows does not. The tables are locked first, as TRUNCATE locks them, so the live
    server's background work (the relay, job workers) cannot write between two DELETEs; they
    are emptied children first, so no foreign key is in the way.
    """
    tables = Base.metadata.sorted_tables
    names = ", ".join(f'"{table.name}"' for table in tables)
    order = list(reversed(tables))
    # A reference the order cannot honour (quotations ↔ hotel_offers) is cleared first.
    unlinks = []
    for table in order:
        for key in table.foreign_key_constraints:
            if order.index(key.referred_table) < order.index(table):
                assert all(column.nullable for column in key.columns), key
                sets = ", ".join(f'"{column.name}" = NULL' for column in key.columns)
                unlinks.append(f'UPDATE "{table.name}" SET {sets};')  # noqa: S608 - our tables
    delete = 'DELETE FROM "{}";'  # our own table names
    deletes = " ".join(unlinks + [delete.format(table.name) for table in order])
    restarts = " ".join(
        f"PERFORM setval(pg_get_serial_sequence('\"{table.name}\"', '{column.name}'), 1, false);"
        for table in tables
        for column in table.columns
        if column.identity is not None
    )
    return f"DO $$ BEGIN LOCK TABLE {names} IN EXCLUSIVE MODE; {deletes} {restarts} END $$"


EMPTY_TABLES = _emptying_statement()


async def empty_database(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.execute(text(EMPTY_TABLES))


@pytest.fixture(autouse=True)
async def clean_state(engine: AsyncEngine, redis: Redis) -> None:
    """Every test starts from empty tables and an empty Redis database."""
    await empty_database(engine)
    await redis.flushdb()
    for server in RUNNING:
        # The hubs start counting positions from the empty outbox now, not at their next poll.
        await server.app.state.services.hub._rewind_if_truncated()


@pytest.fixture
async def http(live_server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30) as client:
        yield client


@pytest.fixture
def gql(http: httpx.AsyncClient) -> GraphQLClient:
    return GraphQLClient(http)


UserFactory = Callable[..., Awaitable[User]]


@pytest.fixture
def make_user(sessions: SessionFactory) -> UserFactory:
    """Create a user through the same rules as ``spirit-tours create-user``."""

    async def make(
        email: str,
        role: Role = Role.ADMIN,
        *,
        password: str = PASSWORD,
        company: str | None = None,
        hotel: str | None = None,
        locale: Locale = Locale.ES,
    ) -> User:
        session: AsyncSession
        async with sessions() as session, session.begin():
            return await create_user(
                session,
                NewUser(email, password, role, company=company, hotel=hotel, locale=locale),
            )

    return make
