"""Alembic migrations and the SQLAlchemy models describe the same database."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from spirit_tours.dev import servers as services
from spirit_tours.persistence.database import create_engine
from spirit_tours.persistence.migrate import (
    alembic_config,
    current_revision,
    head_revision,
    migrate,
)
from spirit_tours.persistence.models import Base


def _diff(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_models_match_migrations(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        assert await connection.run_sync(_diff) == []
    assert await current_revision(engine) == head_revision()


@pytest.mark.slow  # a database of its own, migrated
async def test_migrations_downgrade_and_upgrade_again() -> None:
    url = await services.create_database("spirit_migrations")
    engine = create_engine(url)
    try:
        await migrate(engine)
        async with engine.begin() as connection:
            await connection.run_sync(lambda c: command.downgrade(alembic_config(c), "base"))
        assert await current_revision(engine) is None
        await migrate(engine)
        await migrate(engine)  # a second run is a no-op
        assert await current_revision(engine) == head_revision()
    finally:
        await engine.dispose()
        await services.drop_database(url)
