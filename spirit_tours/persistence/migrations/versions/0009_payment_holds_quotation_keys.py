"""payment holds (one open payment per booking), over-payment refunds, quotation keys

Revision ID: 0009
Revises: 0007
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = "status IN ('CREATED', 'REQUIRES_ACTION', 'PENDING')"


def upgrade() -> None:
    # Not used in this transaction (PostgreSQL forbids that), only added.
    op.execute("ALTER TYPE payment_status ADD VALUE IF NOT EXISTS 'EXPIRED'")
    op.add_column('payments', sa.Column('credited_amount', sa.Numeric(precision=14, scale=2), nullable=True))
    op.add_column('payments', sa.Column('hold_until', sa.DateTime(timezone=True), nullable=True))
    # What each credited payment counts in its booking today: its amount less the refunds
    # that completed (those took the money off the booking's amount paid).
    op.execute(
        "UPDATE payments p SET credited_amount = CASE WHEN p.credited_at IS NULL THEN 0 ELSE "
        "GREATEST(p.amount - COALESCE((SELECT sum(r.amount) FROM payment_refunds r "
        "WHERE r.payment_id = p.id AND r.status = 'REFUNDED'), 0), 0) END"
    )
    op.alter_column('payments', 'credited_amount', nullable=False)
    op.create_check_constraint(
        op.f('ck_payments_credited_within_amount'), 'payments',
        'credited_amount >= 0 AND credited_amount <= amount',
    )
    # Payments already open before this revision: the oldest keeps its booking, the others
    # (the very duplicates this revision forbids) expire; a late payment of them still counts.
    op.execute(
        f"UPDATE payments SET status = 'CANCELLED', failure_reason = COALESCE(failure_reason, "
        f"'Superseded: one open payment per booking.') WHERE {OPEN} AND id NOT IN ("
        f"SELECT DISTINCT ON (booking_id) id FROM payments WHERE {OPEN} "
        f"ORDER BY booking_id, created_at, id)"
    )
    op.execute(f"UPDATE payments SET hold_until = now() + interval '30 minutes' WHERE {OPEN}")
    op.create_check_constraint(op.f('ck_payments_open_has_hold'), 'payments',
                               f'hold_until IS NOT NULL OR NOT ({OPEN})')
    op.create_index('uq_payments_open_per_booking', 'payments', ['booking_id'], unique=True,
                    postgresql_where=sa.text(OPEN))
    op.create_index('ix_payments_open_hold_until', 'payments', ['hold_until'], unique=False,
                    postgresql_where=sa.text(OPEN))

    op.add_column('booking_refunds', sa.Column('payment_id', sa.Uuid(), nullable=True))
    op.alter_column('booking_refunds', 'requested_by_id', existing_type=sa.Uuid(), nullable=True)
    op.create_foreign_key(op.f('fk_booking_refunds_payment_id_payments'), 'booking_refunds',
                          'payments', ['payment_id'], ['id'])
    op.create_index('uq_booking_refunds_payment_id', 'booking_refunds', ['payment_id'],
                    unique=True, postgresql_where=sa.text('payment_id IS NOT NULL'))

    op.add_column('quotations', sa.Column('idempotency_key', sa.String(length=200), nullable=True))
    op.add_column('quotations', sa.Column('request_hash', sa.String(length=64), nullable=True))
    op.create_unique_constraint('uq_quotations_idempotency', 'quotations',
                                ['owner_user_id', 'idempotency_key'])


def downgrade() -> None:
    op.drop_constraint('uq_quotations_idempotency', 'quotations', type_='unique')
    op.drop_column('quotations', 'request_hash')
    op.drop_column('quotations', 'idempotency_key')

    op.drop_index('uq_booking_refunds_payment_id', table_name='booking_refunds')
    op.execute(
        "UPDATE booking_refunds b SET requested_by_id = p.payer_user_id FROM payments p "
        "WHERE b.payment_id = p.id AND b.requested_by_id IS NULL"
    )
    op.alter_column('booking_refunds', 'requested_by_id', existing_type=sa.Uuid(), nullable=False)
    op.drop_constraint(op.f('fk_booking_refunds_payment_id_payments'), 'booking_refunds',
                       type_='foreignkey')
    op.drop_column('booking_refunds', 'payment_id')

    op.drop_index('ix_payments_open_hold_until', table_name='payments')
    op.drop_index('uq_payments_open_per_booking', table_name='payments')
    op.drop_constraint(op.f('ck_payments_open_has_hold'), 'payments', type_='check')
    op.drop_constraint(op.f('ck_payments_credited_within_amount'), 'payments', type_='check')
    op.drop_column('payments', 'hold_until')
    op.drop_column('payments', 'credited_amount')
    # An enum value cannot be dropped: EXPIRED payments read as CANCELLED before this revision.
    op.execute("UPDATE payments SET status = 'CANCELLED' WHERE status::text = 'EXPIRED'")
