"""Encrypted columns: models stay declarative, repositories unchanged.

:class:`EncryptedJSON` and :class:`EncryptedText` store ``bytea`` sealed by
:mod:`spirit_tours.core.crypto`, bound to ``table.column`` (a value copied into another column does
not open). The keys belong to the engine, not to the process: :func:`bind_keyring` attaches a
:class:`~spirit_tours.core.crypto.Keyring` to an engine's dialect, which SQLAlchemy hands to every
bind and result processor — so two engines in one process (the tests, a rotation) can hold
different keys, and an engine with none fails loudly on the first sensitive value.

Values are not bound to their row id: rows are written by ``INSERT … ON CONFLICT`` and bulk
``UPDATE`` statements where a type never sees the row, and swapping two ciphertexts of one
column needs write access to the database, which at-rest encryption does not defend against.
"""

from __future__ import annotations

import json
import logging
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    Column,
    Dialect,
    LargeBinary,
    MetaData,
    Table,
    bindparam,
    func,
    select,
    update,
)
from sqlalchemy import column as sql_column
from sqlalchemy import table as sql_table
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.types import TypeDecorator

from spirit_tours.core.crypto import EncryptionError, Keyring

log = logging.getLogger(__name__)

_KEYRINGS: weakref.WeakKeyDictionary[Dialect, Keyring] = weakref.WeakKeyDictionary()


def bind_keyring(engine: AsyncEngine, keyring: Keyring) -> None:
    _KEYRINGS[engine.sync_engine.dialect] = keyring


def keyring_of(dialect: Dialect) -> Keyring:
    keyring = _KEYRINGS.get(dialect)
    if keyring is None:
        raise EncryptionError(
            "this database engine has no encryption keys "
            "(create_engine(..., keyring=settings.keyring()))"
        )
    return keyring


class _Encrypted(TypeDecorator[Any]):
    impl = LargeBinary
    cache_ok = True

    def __init__(self, context: str) -> None:
        """``context``: ``table.column``, sealed into every value as associated data."""
        super().__init__()
        self.context = context

    def _dump(self, value: Any) -> bytes:
        raise NotImplementedError

    def _load(self, data: bytes) -> Any:
        raise NotImplementedError

    def process_bind_param(self, value: Any, dialect: Dialect) -> bytes | None:
        if value is None:
            return None
        return keyring_of(dialect).encrypt(self._dump(value), self.context)

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        return self._load(keyring_of(dialect).decrypt(bytes(value), self.context))


class EncryptedJSON(_Encrypted):
    """A JSON document (dict or list) stored sealed."""

    cache_ok = True

    def _dump(self, value: Any) -> bytes:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()

    def _load(self, data: bytes) -> Any:
        return json.loads(data)


class EncryptedText(_Encrypted):
    """A string stored sealed."""

    cache_ok = True

    def _dump(self, value: Any) -> bytes:
        if not isinstance(value, str):
            raise TypeError(f"{self.context} takes text, not {type(value).__name__}")
        return value.encode()

    def _load(self, data: bytes) -> str:
        return data.decode()


def encrypted_columns(metadata: MetaData) -> Iterator[tuple[Table, Column[Any]]]:
    for table in metadata.sorted_tables:
        for column in table.columns:
            if isinstance(column.type, _Encrypted):
                yield table, column


@dataclass
class ColumnRotation:
    context: str
    rewrapped: int = 0
    current: int = 0  # already under the active key
    batches: int = 0
    left: int = 0  # rewritten meanwhile under an old key by a server not yet reconfigured


@dataclass
class RotationReport:
    active_key: str
    columns: list[ColumnRotation] = field(default_factory=list)

    @property
    def rewrapped(self) -> int:
        return sum(column.rewrapped for column in self.columns)

    @property
    def left(self) -> int:
        return sum(column.left for column in self.columns)


async def _count(connection: AsyncConnection, where: Any, condition: Any) -> int:
    found = await connection.scalar(select(func.count()).select_from(where).where(condition))
    await connection.commit()
    return int(found or 0)


async def _rotate_column(
    connection: AsyncConnection,
    keyring: Keyring,
    table: Table,
    column: Column[Any],
    batch_size: int,
) -> ColumnRotation:
    assert isinstance(column.type, _Encrypted)
    context = column.type.context
    (primary,) = table.primary_key.columns  # every encrypted table has a one-column key
    # The same table seen as raw bytes: the type's own processing stays out of the way.
    raw = sql_column(column.name, LargeBinary)
    key = sql_column(primary.name, primary.type)
    where = sql_table(table.name, raw, key)
    # Under an old KEK: the id in the value's header (see spirit_tours.core.crypto) differs.
    stale = raw.is_not(None) & (
        func.substring(raw, 3, func.get_byte(raw, 1)) != keyring.active_id.encode("ascii")
    )
    done = ColumnRotation(context)
    done.current = await _count(connection, where, raw.is_not(None) & ~stale)
    rewrite = (
        update(where)
        .where(key == bindparam("row_id"), raw == bindparam("old", type_=LargeBinary))
        .values({raw: bindparam("new", type_=LargeBinary)})
    )
    after: Any = None
    while True:
        # Keyset pagination over the rows still under an old key: each batch commits on its
        # own, and a rerun after a crash starts where the work is.
        query = select(key, raw).where(stale).order_by(key).limit(batch_size)
        if after is not None:
            query = query.where(key > after)
        rows = (await connection.execute(query)).all()
        if not rows:
            await connection.commit()
            done.left = await _count(connection, where, stale)
            return done
        changes = [
            {"row_id": row_id, "old": bytes(value), "new": keyring.rewrap(bytes(value), context)}
            for row_id, value in rows
        ]
        # Only where nobody rewrote the value meanwhile (the server writes under its active
        # key anyway): a concurrent update is never overwritten by an older value.
        await connection.execute(rewrite, changes)
        await connection.commit()
        done.rewrapped += len(changes)
        done.batches += 1
        after = rows[-1][0]


async def rotate_keys(
    engine: AsyncEngine, keyring: Keyring, metadata: MetaData, *, batch_size: int = 500
) -> RotationReport:
    """Re-wrap every data key under the active KEK, a batch per transaction; idempotent and
    resumable. A value under a key the keyring lacks raises
    :class:`~spirit_tours.core.crypto.UnknownKeyError` naming it (nothing after it is touched)."""
    report = RotationReport(keyring.active_id)
    async with engine.connect() as connection:
        for table, column in encrypted_columns(metadata):
            rotated = await _rotate_column(connection, keyring, table, column, batch_size)
            log.info("rotated %s: %d re-wrapped", rotated.context, rotated.rewrapped)
            report.columns.append(rotated)
    return report
