"""Engine and session factory."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry

from spirit_tours.core.crypto import Keyring
from spirit_tours.core.tracing_setup import instrument_engine
from spirit_tours.persistence.encryption import bind_keyring

SessionFactory = async_sessionmaker[AsyncSession]
_CLOSING: set[asyncio.Task[None]] = set()


def create_engine(
    url: str,
    *,
    pool_size: int = 10,
    pool_timeout: float = 10.0,
    keyring: Keyring | None = None,
    ping_after_idle_seconds: float = 5.0,
) -> AsyncEngine:
    """``keyring`` opens and seals the encrypted columns; without one, reading or writing a
    sensitive value raises (a migration of an empty database needs none). Waiting more than
    ``pool_timeout`` seconds for a connection raises ``sqlalchemy.exc.TimeoutError``, which the
    API answers as SERVICE_UNAVAILABLE."""
    engine = create_async_engine(
        url,
        # Up to twice ``pool_size`` at once, all kept open. An overflow connection would be
        # closed as soon as load dips and opened again at the next burst: each reopening costs
        # a TLS attempt, the server's start-up, asyncpg's type introspection and preparing
        # every statement again (a twentieth of a webhook's CPU under bursty load).
        pool_size=2 * pool_size,
        max_overflow=0,
        # The most recently used first: light traffic keeps to a few warm connections, and
        # those a burst opened sit unused (pinged when next used, see below) instead of every
        # one being rotated through and going idle long enough to need a ping each time.
        pool_use_lifo=True,
        pool_timeout=pool_timeout,
        connect_args={"server_settings": {"application_name": "spirit-tours"}},
        # A failed statement's error (logged with its traceback, recorded by tracing) names the
        # statement, not the values bound to it: personal data, hashes, sealed values.
        hide_parameters=True,
    )
    _ping_when_idle(engine, ping_after_idle_seconds)
    instrument_engine(engine)  # only when tracing is on
    if keyring is not None:
        bind_keyring(engine, keyring)
    return engine


def _ping_when_idle(engine: AsyncEngine, idle_seconds: float) -> None:
    """Check a pooled connection before use only when it sat idle in the pool for a while.

    ``pool_pre_ping`` pings on every checkout: a round trip per request, which on a busy
    server costs as much CPU as a real query. A connection that was in use a moment ago is
    alive; one idle for ``idle_seconds`` may have been dropped (a database restart,
    a proxy's idle timeout) and is pinged, then replaced if dead (SQLAlchemy's
    ``DisconnectionError`` recipe). A restart while every connection is busy fails the
    statements then running; SQLAlchemy then replaces the whole pool.
    """
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "checkin")
    def remember_checkin(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info["checked_in_at"] = time.monotonic()

    @event.listens_for(sync_engine, "checkout")
    def ping_if_idle(dbapi_connection: Any, record: ConnectionPoolEntry, proxy: Any) -> None:
        checked_in_at = record.info.get("checked_in_at")
        if checked_in_at is None or time.monotonic() - checked_in_at < idle_seconds:
            return
        try:
            alive = sync_engine.dialect.do_ping(dbapi_connection)
        except Exception as error:
            raise DisconnectionError("idle connection is gone") from error
        if not alive:
            raise DisconnectionError("idle connection is gone")


def create_session_factory(engine: AsyncEngine) -> SessionFactory:
    return async_sessionmaker(engine, expire_on_commit=False)


def create_read_session_factory(engine: AsyncEngine) -> SessionFactory:
    """Sessions that only read, in autocommit: each query is its own transaction (what READ
    COMMITTED gives each statement anyway), without a BEGIN and a ROLLBACK round trip around
    the operation. Same pool and connections as ``engine``."""
    return async_sessionmaker(
        engine.execution_options(isolation_level="AUTOCOMMIT"), expire_on_commit=False
    )


class SharedReads:
    """One read session, and so one pooled connection, for all the reads of one GraphQL
    operation: its DataLoaders and page queries take turns on it (a connection runs one query
    at a time) instead of each checking out a connection of its own.

    Each read sees what is committed when it runs (READ COMMITTED, the identity map emptied
    after every use), so a mutation's answer reads what it just wrote. The owner calls
    :meth:`close` when the operation ends; a session left idle is released after
    ``IDLE_SECONDS`` anyway, so a long-lived owner (a WebSocket) never holds a connection
    between its operations.
    """

    IDLE_SECONDS = 0.05

    def __init__(self, sessions: SessionFactory) -> None:
        self._sessions = sessions
        self._session: AsyncSession | None = None
        self._lock = asyncio.Lock()
        self._idle: asyncio.TimerHandle | None = None

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """The shared session, for one read at a time; never await another read inside."""
        async with self._lock:
            if self._idle is not None:
                self._idle.cancel()
                self._idle = None
            if self._session is None:
                self._session = self._sessions()
            session = self._session
            try:
                yield session
            except BaseException:
                self._session = None  # a failed read may leave the transaction unusable
                await session.close()
                raise
            session.expunge_all()  # the next read loads rows afresh, never an older copy
            if self._idle is None:
                self._idle = asyncio.get_running_loop().call_later(
                    self.IDLE_SECONDS, self._release_when_idle
                )

    def _release_when_idle(self) -> None:
        self._idle = None
        if self._session is not None and not self._lock.locked():
            task = asyncio.create_task(self.close())
            _CLOSING.add(task)  # referenced until done
            task.add_done_callback(_CLOSING.discard)

    async def close(self) -> None:
        """End the session (its transaction and connection); the next read opens another."""
        async with self._lock:
            if self._idle is not None:
                self._idle.cancel()
                self._idle = None
            session, self._session = self._session, None
            if session is not None:
                await session.close()
