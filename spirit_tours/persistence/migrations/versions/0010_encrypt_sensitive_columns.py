"""encrypt sensitive columns at rest (envelope encryption, bytea)

Revision ID: 0010
Revises: 0007
Create Date: 2026-11-29

Each column becomes ``bytea`` holding a value sealed by ``spirit_tours.core.crypto`` with the
engine's keyring (``SPIRIT_ENCRYPTION_KEYS``), bound to ``table.column``. Existing rows are
encrypted here, in the migration's one transaction: the database never holds a mix of
plaintext and ciphertext, and a failure leaves it as it was. An empty database needs no key;
one with rows refuses to migrate without one. Password-reset links of mail already sent or
dead are wiped first (they must not survive anywhere, even sealed).
"""

from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SPENT_LINK = "(link removed after delivery)"
BATCH = 1000
_JSONB = postgresql.JSONB(astext_type=sa.Text())

# table -> its sensitive columns: (name, plaintext type for the downgrade, is JSON)
TABLES: dict[str, list[tuple[str, Any, bool]]] = {
    "email_messages": [("context", _JSONB, True)],
    "webhook_deliveries": [("headers", _JSONB, True), ("body", sa.Text(), False)],
    "payments": [
        ("next_action", _JSONB, True),
        ("attempts", _JSONB, True),
        ("request_hash", sa.String(length=64), False),
    ],
}


def _keyring(connection: sa.Connection) -> Any:
    from spirit_tours.persistence.encryption import keyring_of

    return keyring_of(connection.dialect)  # raises, naming the setting, when none is bound


def _batches(connection: sa.Connection, table: str, columns: str) -> Iterator[Sequence[Any]]:
    """The rows ``(id, *columns)`` of a table in primary-key order, a batch at a time."""
    after: Any = None
    while True:
        where = "WHERE id > :after " if after is not None else ""
        rows = connection.execute(
            sa.text(f"SELECT id, {columns} FROM {table} {where}ORDER BY id LIMIT {BATCH}"),
            {"after": after} if after is not None else {},
        ).all()
        if not rows:
            return
        yield rows
        after = rows[-1][0]


def upgrade() -> None:
    connection = op.get_bind()
    connection.execute(sa.text(
        "UPDATE email_messages SET context = jsonb_set(context, '{reset_url}', to_jsonb("
        "CAST(:spent AS text))) WHERE template = 'password_reset' AND status IN ('SENT', "
        "'FAILED') AND context ->> 'reset_url' IS NOT NULL"), {"spent": SPENT_LINK})  # fmt: skip
    for table, columns in TABLES.items():
        for name, _plain, _json in columns:
            op.add_column(table, sa.Column(f"{name}_sealed", sa.LargeBinary(), nullable=True))
        sealed = [f"{name}_sealed" for name, _plain, _json in columns]
        read = ", ".join(f'"{name}"{"::text" if is_json else ""}'
                         for name, _plain, is_json in columns)  # fmt: skip
        # One UPDATE per row for all of its columns: each row is rewritten once.
        sets = ", ".join(f'"{name}" = :{name}' for name in sealed)
        update = sa.text(f"UPDATE {table} SET {sets} WHERE id = :id").bindparams(
            *(sa.bindparam(name, type_=sa.LargeBinary) for name in sealed)
        )
        keyring = None
        for rows in _batches(connection, table, read):
            keyring = keyring or _keyring(connection)
            connection.execute(update, [
                {"id": row[0], **{
                    f"{name}_sealed": keyring.encrypt(value.encode(), f"{table}.{name}")
                    for (name, _plain, _json), value in zip(columns, row[1:], strict=True)}}
                for row in rows
            ])  # fmt: skip
        for name, _plain, _json in columns:
            op.drop_column(table, name)
            op.alter_column(table, f"{name}_sealed", new_column_name=name, nullable=False)


def downgrade() -> None:
    connection = op.get_bind()
    for table, columns in TABLES.items():
        for name, plain, _json in columns:
            op.add_column(table, sa.Column(f"{name}_plain", plain, nullable=True))
        read = ", ".join(f'"{name}"' for name, _plain, _json in columns)
        sets = ", ".join(
            f'"{name}_plain" = ' + (f"CAST(:{name} AS jsonb)" if is_json else f":{name}")
            for name, _plain, is_json in columns
        )
        update = sa.text(f"UPDATE {table} SET {sets} WHERE id = :id")
        keyring = None
        for rows in _batches(connection, table, read):
            keyring = keyring or _keyring(connection)
            connection.execute(update, [
                {"id": row[0], **{
                    name: keyring.decrypt(bytes(value), f"{table}.{name}").decode()
                    for (name, _plain, _json), value in zip(columns, row[1:], strict=True)}}
                for row in rows
            ])  # fmt: skip
        for name, _plain, _json in columns:
            op.drop_column(table, name)
            op.alter_column(table, f"{name}_plain", new_column_name=name, nullable=False)
