"""analytics rollups: materialized views the reports read, and when each was refreshed

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30

The reports (ADMIN) read these views, never the raw tables: the saq job ``refresh_analytics``
(and the ``refreshAnalytics`` mutation, ``spirit-tours refresh-analytics``) refreshes them with
``REFRESH MATERIALIZED VIEW CONCURRENTLY``, which needs a unique index on each, and records the
time in ``analytics_refreshes``. The views are created with their data, so a fresh database
answers at once; the SQL is written out here (a migration is a snapshot: the queries that read
the views live in ``spirit_tours/persistence/analytics``).

- ``analytics_quotation_funnel``: one row per quotation with the time it reached each step of
  the funnel (created, invited, offered, proposed, approved, booked, completed) and the hours
  since the step before, so the report aggregates one narrow table instead of joining five.
  A proposal counts from its first ``quotation.propose`` (a rejected one is reset on the row),
  an approval from ``quotation.approve`` (a later cancellation overwrites ``decided_at``); the
  quotation's own columns answer where the audit log has no entry.
- ``analytics_revenue_daily``: per UTC day of sale, destination and currency, the bookings'
  counts and sums (selling price, hotel net, markup, paid, cancellation refunds).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FUNNEL = """
CREATE MATERIALIZED VIEW analytics_quotation_funnel AS
WITH invited AS (
    SELECT quotation_id, min(created_at) AS at FROM hotel_invitations GROUP BY quotation_id
), offered AS (
    SELECT quotation_id, min(created_at) AS at FROM hotel_offers GROUP BY quotation_id
), decisions AS (
    SELECT object_id AS quotation_id,
           min(at) FILTER (WHERE action = 'quotation.propose') AS proposed_at,
           min(at) FILTER (WHERE action = 'quotation.approve') AS approved_at
    FROM audit_log
    WHERE action IN ('quotation.propose', 'quotation.approve') AND object_type = 'Quotation'
    GROUP BY object_id
), steps AS (
    SELECT q.id AS quotation_id,
           (q.created_at AT TIME ZONE 'UTC')::date AS created_on,
           q.destination,
           q.owner_company_id AS agency_id,
           agency.name AS agency_name,
           CASE WHEN q.owner_company_id IS NULL THEN q.owner_user_id END AS client_id,
           CASE WHEN q.owner_company_id IS NULL THEN client.full_name END AS client_name,
           q.created_at,
           invited.at AS invited_at,
           offered.at AS offered_at,
           COALESCE(d.proposed_at, q.proposed_at) AS proposed_at,
           COALESCE(
               d.approved_at,
               CASE WHEN b.id IS NOT NULL OR q.status IN ('APPROVED', 'BOOKED')
                      OR (q.status = 'EXPIRED' AND q.decided_at IS NOT NULL)
                    THEN q.decided_at END
           ) AS approved_at,
           b.created_at AS booked_at,
           b.completed_at
    FROM quotations q
    LEFT JOIN companies agency ON agency.id = q.owner_company_id
    LEFT JOIN users client ON client.id = q.owner_user_id
    LEFT JOIN invited ON invited.quotation_id = q.id
    LEFT JOIN offered ON offered.quotation_id = q.id
    LEFT JOIN decisions d ON d.quotation_id = q.id
    LEFT JOIN bookings b ON b.quotation_id = q.id
)
SELECT steps.*,
       (extract(epoch FROM invited_at - created_at) / 3600)::double precision AS invited_hours,
       (extract(epoch FROM offered_at - invited_at) / 3600)::double precision AS offered_hours,
       (extract(epoch FROM proposed_at - offered_at) / 3600)::double precision AS proposed_hours,
       (extract(epoch FROM approved_at - proposed_at) / 3600)::double precision AS approved_hours,
       (extract(epoch FROM booked_at - approved_at) / 3600)::double precision AS booked_hours,
       (extract(epoch FROM completed_at - booked_at) / 3600)::double precision AS completed_hours
FROM steps
WITH DATA
"""

REVENUE = """
CREATE MATERIALIZED VIEW analytics_revenue_daily AS
WITH nets AS (
    SELECT bh.booking_id, sum(bh.net_price) AS net
    FROM booking_hotels bh JOIN bookings b ON b.id = bh.booking_id
    WHERE bh.currency = b.currency
    GROUP BY bh.booking_id
), refunds AS (
    SELECT booking_id, sum(amount) AS amount
    FROM booking_refunds
    WHERE payment_id IS NULL
    GROUP BY booking_id
)
SELECT (b.created_at AT TIME ZONE 'UTC')::date AS sold_on,
       b.destination,
       b.currency,
       count(*) AS bookings,
       count(*) FILTER (WHERE b.status = 'CANCELLED') AS cancelled_bookings,
       COALESCE(sum(b.selling_price) FILTER (WHERE b.status <> 'CANCELLED'), 0) AS selling_total,
       COALESCE(sum(n.net) FILTER (WHERE b.status <> 'CANCELLED'), 0) AS hotel_net_total,
       COALESCE(sum((b.selling_price - n.net) * 100 / n.net)
                FILTER (WHERE b.status <> 'CANCELLED' AND n.net > 0), 0) AS markup_percent_sum,
       count(n.net) FILTER (WHERE b.status <> 'CANCELLED' AND n.net > 0) AS markup_count,
       COALESCE(sum(b.amount_paid), 0) AS paid_total,
       COALESCE(sum(r.amount), 0) AS refunds_total
FROM bookings b
LEFT JOIN nets n ON n.booking_id = b.id
LEFT JOIN refunds r ON r.booking_id = b.id
GROUP BY 1, 2, 3
WITH DATA
"""


def upgrade() -> None:
    op.create_table(
        'analytics_refreshes',
        sa.Column('view_name', sa.String(length=63), nullable=False),
        sa.Column('refreshed_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('duration_ms', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('view_name', name=op.f('pk_analytics_refreshes')),
    )
    op.execute(FUNNEL)
    op.execute(
        'CREATE UNIQUE INDEX uq_analytics_quotation_funnel_quotation '
        'ON analytics_quotation_funnel (quotation_id)'
    )
    op.execute(
        'CREATE INDEX ix_analytics_quotation_funnel_created_on '
        'ON analytics_quotation_funnel (created_on)'
    )
    op.execute(REVENUE)
    op.execute(
        'CREATE UNIQUE INDEX uq_analytics_revenue_daily_key '
        'ON analytics_revenue_daily (sold_on, destination, currency)'
    )
    op.execute(
        "INSERT INTO analytics_refreshes (view_name, refreshed_at, duration_ms) VALUES "
        "('analytics_quotation_funnel', now(), 0), ('analytics_revenue_daily', now(), 0)"
    )


def downgrade() -> None:
    op.execute('DROP MATERIALIZED VIEW analytics_revenue_daily')
    op.execute('DROP MATERIALIZED VIEW analytics_quotation_funnel')
    op.drop_table('analytics_refreshes')
