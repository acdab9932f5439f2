"""Find PostgreSQL and Redis servers for the test suite and the benchmarks.

``SPIRIT_TEST_EMBEDDED=1`` forces the embedded servers (what `make run` uses) in a temporary
folder; otherwise ``SPIRIT_TEST_DATABASE_URL`` / ``SPIRIT_TEST_REDIS_URL`` win; otherwise the local
servers on 127.0.0.1:5432 / 6379 when they answer; otherwise the embedded servers.
"""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import tempfile
import uuid
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from spirit_tours.dev.embedded import EmbeddedPostgres, EmbeddedRedis, data_dir_lock

LOCAL_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
LOCAL_REDIS = "redis://127.0.0.1:6379/15"

_embedded_dir: Path | None = None
_embedded_urls: dict[str, str] = {}


def force_embedded() -> bool:
    return os.environ.get("SPIRIT_TEST_EMBEDDED", "").lower() in {"1", "true", "yes"}


def _reachable(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def _embedded() -> Path:
    global _embedded_dir
    if _embedded_dir is None:
        _embedded_dir = Path(tempfile.mkdtemp(prefix="spirit-tests-"))
        # Registered before the servers' own stop handlers, so it runs after them (atexit is LIFO).
        atexit.register(_remove, _embedded_dir)
    return _embedded_dir


def _remove(folder: Path) -> None:
    """Delete the temporary folder under its lock, so its watchdog cannot write in it again."""
    with data_dir_lock(folder):
        shutil.rmtree(folder, ignore_errors=True)


def embedded_postgres_url() -> str:
    if "postgres" not in _embedded_urls:
        _embedded_urls["postgres"] = EmbeddedPostgres(_embedded()).start()
    return _embedded_urls["postgres"]


def embedded_redis_url() -> str:
    """The embedded server's database 15, like the local one's."""
    if "redis" not in _embedded_urls:
        url = EmbeddedRedis(_embedded()).start()
        _embedded_urls["redis"] = url.rsplit("/", 1)[0] + "/15"
    return _embedded_urls["redis"]


def admin_database_url() -> str:
    """A URL to a database from which test databases can be created."""
    if force_embedded():
        return embedded_postgres_url()
    if url := os.environ.get("SPIRIT_TEST_DATABASE_URL"):
        return url
    if _reachable(5432):
        return LOCAL_POSTGRES
    return embedded_postgres_url()


def redis_url() -> str:
    if force_embedded():
        return embedded_redis_url()
    if url := os.environ.get("SPIRIT_TEST_REDIS_URL"):
        return url
    if _reachable(6379):
        return LOCAL_REDIS
    return embedded_redis_url()


def _admin_dsn() -> str:
    url = make_url(admin_database_url())
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


async def create_database(prefix: str) -> str:
    """A new, empty database on the admin server; returns its asyncpg URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(_admin_dsn())
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return make_url(admin_database_url()).set(database=name).render_as_string(hide_password=False)


async def drop_database(url: str) -> None:
    admin = await asyncpg.connect(_admin_dsn())
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')
    finally:
        await admin.close()
