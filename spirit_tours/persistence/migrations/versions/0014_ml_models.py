"""ml_models: each trained model with its version, training date and held-out evaluation

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30

A new table; nothing existing changes.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'ml_models',
        sa.Column('kind', sa.String(length=40), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('trained_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('training_rows', sa.Integer(), nullable=False),
        sa.Column('evaluation', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column('payload', sa.LargeBinary(), nullable=False),
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.CheckConstraint('version > 0', name=op.f('ck_ml_models_version_positive')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_ml_models')),
        sa.UniqueConstraint('kind', 'version', name='uq_ml_models_kind_version'),
    )


def downgrade() -> None:
    op.drop_table('ml_models')
