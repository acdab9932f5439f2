"""encrypt sensitive columns at rest (envelope encryption, bytea)

Revision ID: 0010
Revises: 0007
Create Date: 2026-11-29

Each column becomes ``bytea`` holding a value sealed by ``spirit_tours.crypto`` with the
engine's keyring (``SPIRIT_ENCRYPTION_KEYS``). Existing rows are encrypted here, in the
migration's one transaction: the database never holds a mix of plaintext and ciphertext, and
a failure leaves it as it was. An empty database needs no key; one with rows refuses to
migrate without one. Password-reset links of mail already sent or dead are wiped first.
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0010'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SPENT_LINK = "(link removed after delivery)"
BATCH = 1000

# table, column, primary key, plaintext type (for the downgrade), is JSON
COLUMNS: list[tuple[str, str, str, Any, bool]] = [
    ("email_messages", "context", "id", postgresql.JSONB(astext_type=sa.Text()), True),
    ("webhook_deliveries", "headers", "id", postgresql.JSONB(astext_type=sa.Text()), True),
    ("webhook_deliveries", "body", "id", sa.Text(), False),
    ("payments", "next_action", "id", postgresql.JSONB(astext_type=sa.Text()), True),
    ("payments", "attempts", "id", postgresql.JSONB(astext_type=sa.Text()), True),
    ("payments", "request_hash", "id", sa.String(length=64), False),
]


def _keyring(connection: sa.Connection) -> Any:
    from spirit_tours.persistence.encryption import keyring_of

    return keyring_of(connection.dialect)  # raises, naming the setting, when none is bound


def _batches(connection: sa.Connection, query: str) -> Any:
    """Rows ``(id, value)`` in primary-key order, a batch at a time."""
    after: Any = None
    while True:
        bound = sa.text(query + (" AND id > :after" if after is not None else "")
                        + " ORDER BY id LIMIT :limit")  # fmt: skip
        rows = connection.execute(bound, {"after": after, "limit": BATCH}
                                  if after is not None else {"limit": BATCH}).all()  # fmt: skip
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
    for table, column, _key, _plain, is_json in COLUMNS:
        sealed = f"{column}_sealed"
        op.add_column(table, sa.Column(sealed, sa.LargeBinary(), nullable=True))
        source = f'SELECT id, "{column}"{"::text" if is_json else ""} FROM {table} WHERE TRUE'
        keyring = None
        for rows in _batches(connection, source):
            keyring = keyring or _keyring(connection)
            context = f"{table}.{column}"
            connection.execute(
                sa.text(f'UPDATE {table} SET "{sealed}" = :value WHERE id = :id').bindparams(
                    sa.bindparam("value", type_=sa.LargeBinary)
                ),
                [{"id": row_id, "value": keyring.encrypt(value.encode(), context)}
                 for row_id, value in rows],
            )  # fmt: skip
        op.drop_column(table, column)
        op.alter_column(table, sealed, new_column_name=column, nullable=False)


def downgrade() -> None:
    connection = op.get_bind()
    for table, column, _key, plain, is_json in COLUMNS:
        opened = f"{column}_plain"
        op.add_column(table, sa.Column(opened, plain, nullable=True))
        keyring = None
        for rows in _batches(connection, f'SELECT id, "{column}" FROM {table} WHERE TRUE'):
            keyring = keyring or _keyring(connection)
            context = f"{table}.{column}"
            value = "CAST(:value AS jsonb)" if is_json else ":value"
            connection.execute(
                sa.text(f'UPDATE {table} SET "{opened}" = {value} WHERE id = :id'),
                [{"id": row_id, "value": keyring.decrypt(bytes(data), context).decode()}
                 for row_id, data in rows],
            )  # fmt: skip
        op.drop_column(table, column)
        op.alter_column(table, opened, new_column_name=column, nullable=False)
