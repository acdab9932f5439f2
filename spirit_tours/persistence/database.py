"""Engine and session factory."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from spirit_tours.core.crypto import Keyring
from spirit_tours.persistence.encryption import bind_keyring

SessionFactory = async_sessionmaker[AsyncSession]


def create_engine(
    url: str,
    *,
    pool_size: int = 10,
    pool_timeout: float = 10.0,
    keyring: Keyring | None = None,
) -> AsyncEngine:
    """``keyring`` opens and seals the encrypted columns; without one, reading or writing a
    sensitive value raises (a migration of an empty database needs none). Waiting more than
    ``pool_timeout`` seconds for a connection raises ``sqlalchemy.exc.TimeoutError``, which the
    API answers as SERVICE_UNAVAILABLE."""
    engine = create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_timeout=pool_timeout,
        pool_pre_ping=True,
        connect_args={"server_settings": {"application_name": "spirit-tours"}},
    )
    if keyring is not None:
        bind_keyring(engine, keyring)
    return engine


def create_session_factory(engine: AsyncEngine) -> SessionFactory:
    return async_sessionmaker(engine, expire_on_commit=False)
