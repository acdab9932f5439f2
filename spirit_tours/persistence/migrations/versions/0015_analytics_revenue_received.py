"""analytics_revenue_daily: paid_total is the money received, before the refunds sent back

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30

``bookings.amount_paid`` is what a booking still holds: a completed refund takes its money off
(``resolvers.payments.refunds._count_refunds``). 0012 summed it as the money received and then
took the cancellations' refunds off again for ``net_revenue``, so a cancellation whose refund
had been sent counted twice (360 paid, 360 sent back: paid_total 0, net revenue -360), and a
refund the operator granted otherwise (goodwill) shrank the money "received" instead of
counting as a refund. Now ``paid_total`` is the money received: what the booking holds plus
the refunds sent back from it (an over-payment, never credited to it, is neither); and
``refunds_total`` is the refunds the cancellation policy made due (whatever their progress)
plus those the operator sent back otherwise. ``paid_total - refunds_total`` is what the
operator keeps. The view is recreated with the same columns.
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NETS = """
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
)"""

# A completed refund took min(its amount, what its payment still credited) off amount_paid:
# its amount, unless the operator sent back more of a payment than the payment credited (one
# that was partly an over-payment), which the tables no longer tell. An over-payment's own
# refund (its booking_refunds row names the payment) took nothing. ``granted``: the refunds the
# operator sent back of its own accord (no booking_refunds row: not a cancellation's).
SENT = """, sent AS (
    SELECT p.booking_id,
           sum(pr.amount) AS amount,
           sum(pr.amount) FILTER (WHERE pr.booking_refund_id IS NULL) AS granted
    FROM payment_refunds pr
    JOIN payments p ON p.id = pr.payment_id
    LEFT JOIN booking_refunds br ON br.id = pr.booking_refund_id
    WHERE pr.status::text = 'REFUNDED' AND br.payment_id IS NULL
    GROUP BY p.booking_id
)"""

SELECT = """
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
       COALESCE(sum(b.amount_paid + {sent}), 0) AS paid_total,
       COALESCE(sum(COALESCE(r.amount, 0) + {granted}), 0) AS refunds_total
FROM bookings b
LEFT JOIN nets n ON n.booking_id = b.id
LEFT JOIN refunds r ON r.booking_id = b.id{join}
GROUP BY 1, 2, 3
WITH DATA
"""

CREATE = 'CREATE MATERIALIZED VIEW analytics_revenue_daily AS'
RECEIVED = (
    CREATE + NETS + SENT
    + SELECT.format(sent='COALESCE(s.amount, 0)', granted='COALESCE(s.granted, 0)', join='\nLEFT JOIN sent s ON s.booking_id = b.id')
)  # fmt: skip
HELD = CREATE + NETS + SELECT.format(sent='0', granted='0', join='')


def _recreate(sql: str) -> None:
    op.execute('DROP MATERIALIZED VIEW analytics_revenue_daily')
    op.execute(sql)
    op.execute(
        'CREATE UNIQUE INDEX uq_analytics_revenue_daily_key '
        'ON analytics_revenue_daily (sold_on, destination, currency)'
    )
    # New contents: a new refresh time, so no server keeps an answer computed from the old.
    op.execute(
        "UPDATE analytics_refreshes SET refreshed_at = clock_timestamp() "
        "WHERE view_name = 'analytics_revenue_daily'"
    )


def upgrade() -> None:
    _recreate(RECEIVED)


def downgrade() -> None:
    _recreate(HELD)
