"""outbox events keep the trace of the request that caused them (OpenTelemetry)

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30

A nullable column: adding it rewrites nothing, and it stays empty while tracing is off.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('outbox_events', sa.Column('trace_parent', sa.String(length=64), nullable=True))


def downgrade() -> None:
    op.drop_column('outbox_events', 'trace_parent')
