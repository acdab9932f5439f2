"""analytics rollups: hotel performance, cancellations and refunds, payments

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30

Enum values are compared as text: a value added by an earlier migration of the same run
(payment_status EXPIRED) may not be used as an enum literal in that transaction.

Three materialized views, one row per fact (an invitation, a booking, a payment) with every
join and every derived figure already made, so that a report over a date range reads one
indexed table. Medians over an arbitrary range cannot be added up from per-month partial
sums, so the views keep the facts rather than totals; hotel performance (a hundred thousand
invitations in ten years) also has a monthly rollup of them whose medians are sorted arrays,
merged at query time. Each has a unique index: they are
refreshed CONCURRENTLY (readers never wait) with the other analytics rollups.
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# One row per hotel invitation. A response is the hotel's first offer (the offer row is
# created by the first submission and kept, even when withdrawn) or its decline (DECLINED is
# final: a declined hotel cannot bid, a bidding hotel cannot decline, so updated_at is the
# moment it declined). A win is the offer the quotation's selected_offer_id names (proposed by
# the operator and not rejected by the owner). The price gap compares an ACTIVE offer that
# lost with the selected one, in the same currency. The hotel's name is read at query time, for
# the few rows of the answer: the view stays narrow, its sorts in memory.
HOTEL_INVITATIONS = """
CREATE MATERIALIZED VIEW analytics_hotel_invitations AS
SELECT
    i.id AS invitation_id,
    i.hotel_id,
    q.destination,
    (i.created_at AT TIME ZONE 'UTC')::date AS invited_on,
    o.id IS NOT NULL AS offered,
    i.status::text = 'DECLINED' AS declined,
    EXTRACT(EPOCH FROM (
        COALESCE(o.created_at, CASE WHEN i.status::text = 'DECLINED' THEN i.updated_at END)
        - i.created_at
    )) / 3600 AS response_hours,
    (EXTRACT(EPOCH FROM (
        COALESCE(o.created_at, CASE WHEN i.status::text = 'DECLINED' THEN i.updated_at END)
        - i.created_at
    )) * 1000000)::bigint AS response_us,
    o.id IS NOT NULL AND o.id = q.selected_offer_id AS won,
    CASE
        WHEN o.status::text = 'ACTIVE' AND w.id <> o.id AND w.currency = o.currency
        THEN (o.net_price - w.net_price) * 100 / w.net_price
    END AS gap_percent
FROM hotel_invitations i
JOIN quotations q ON q.id = i.quotation_id
LEFT JOIN hotel_offers o ON o.quotation_id = i.quotation_id AND o.hotel_id = i.hotel_id
LEFT JOIN hotel_offers w ON w.id = q.selected_offer_id
"""

# Per month of invitation, hotel and destination: the counts of the invitations above, and their
# response times (microseconds, exact) and price gaps, each as a sorted array. A report over a
# range reads its whole months here (a few thousand rows for ten years instead of one per
# invitation) and only the days of its first and last partial month from the view above; the
# exact medians come from merging the sorted arrays (``persistence/analytics/medians.py``). The
# response times are packed as big-endian 8-byte integers (``int8send``): one ``bytea`` the
# server reads into numpy at once, where a ``bigint[]`` would be a Python int per value.
HOTEL_MONTHLY = """
CREATE MATERIALIZED VIEW analytics_hotel_monthly AS
SELECT
    date_trunc('month', invited_on)::date AS month,
    hotel_id,
    destination,
    count(*) AS invitations,
    count(*) FILTER (WHERE offered OR declined) AS responses,
    count(*) FILTER (WHERE offered) AS offers,
    count(*) FILTER (WHERE won) AS wins,
    COALESCE(string_agg(int8send(response_us), ''::bytea ORDER BY response_us), ''::bytea)
        AS response_us,
    COALESCE(array_agg(gap_percent ORDER BY gap_percent) FILTER (WHERE gap_percent IS NOT NULL),
             '{}') AS gap_percents
FROM analytics_hotel_invitations
GROUP BY 1, 2, 3
"""

# One row per booking. The cancellation's refund is the booking_refunds row the cancellation
# policy made due (payment_id IS NULL); an over-payment's refund (payment_id set) is money the
# booking never took and is no cancellation's.
BOOKING_CANCELLATIONS = """
CREATE MATERIALIZED VIEW analytics_booking_cancellations AS
SELECT
    b.id AS booking_id,
    (b.created_at AT TIME ZONE 'UTC')::date AS booked_on,
    b.destination,
    b.currency,
    b.status::text = 'CANCELLED' AS cancelled,
    CASE
        WHEN b.status::text = 'CANCELLED'
        THEN b.start_date - (b.cancelled_at AT TIME ZONE 'UTC')::date
    END AS days_before_start,
    COALESCE(r.refunds, 0) AS refunds,
    COALESCE(r.amount, 0) AS refund_amount,
    COALESCE(r.refunded, 0) AS refunded_amount,
    COALESCE(r.percent_sum, 0) AS refund_percent_sum
FROM bookings b
LEFT JOIN LATERAL (
    SELECT
        count(*) AS refunds,
        sum(amount) AS amount,
        sum(amount) FILTER (WHERE status::text = 'REFUNDED') AS refunded,
        sum(refund_percent) AS percent_sum
    FROM booking_refunds
    WHERE booking_id = b.id AND payment_id IS NULL
) r ON true
"""

# One row per payment. Succeeded: the provider took the money (SUCCEEDED, or refunded since,
# which only a succeeded payment can be). Settled: no longer open. The failure kind comes from
# the status and whether a provider took the payment, never from the free-text reason (provider
# messages and amounts).
PAYMENT_OUTCOMES = """
CREATE MATERIALIZED VIEW analytics_payment_outcomes AS
SELECT
    p.id AS payment_id,
    (p.created_at AT TIME ZONE 'UTC')::date AS created_on,
    p.provider::text AS provider,
    p.method::text AS method,
    p.status::text AS status,
    p.currency,
    p.amount,
    p.status::text IN ('SUCCEEDED', 'PARTIALLY_REFUNDED', 'REFUNDED') AS succeeded,
    p.status::text NOT IN ('CREATED', 'REQUIRES_ACTION', 'PENDING') AS settled,
    EXTRACT(EPOCH FROM (p.credited_at - p.created_at)) / 60 AS minutes_to_credit,
    CASE
        WHEN p.status::text = 'FAILED' AND p.provider IS NULL THEN 'NOT_STARTED'
        WHEN p.status::text = 'FAILED' THEN 'DECLINED'
        WHEN p.status::text = 'CANCELLED' THEN 'CANCELLED'
        WHEN p.status::text = 'EXPIRED' THEN 'HOLD_LAPSED'
        WHEN p.status::text IN ('SUCCEEDED', 'PARTIALLY_REFUNDED', 'REFUNDED')
             AND p.credited_at IS NULL THEN 'NOT_CREDITED'
    END AS failure
FROM payments p
"""

VIEWS = {
    'analytics_hotel_invitations': (
        HOTEL_INVITATIONS,
        ('invitation_id',),
        ('invited_on', 'hotel_id'),
    ),
    'analytics_hotel_monthly': (
        HOTEL_MONTHLY,
        ('month', 'hotel_id', 'destination'),
        ('month',),
    ),
    'analytics_booking_cancellations': (
        BOOKING_CANCELLATIONS,
        ('booking_id',),
        ('booked_on',),
    ),
    'analytics_payment_outcomes': (
        PAYMENT_OUTCOMES,
        ('payment_id',),
        ('created_on',),
    ),
}


def upgrade() -> None:
    for name, (sql, unique, ordered) in VIEWS.items():
        op.execute(sql)
        op.execute(f'CREATE UNIQUE INDEX uq_{name} ON {name} ({", ".join(unique)})')
        op.execute(f'CREATE INDEX ix_{name}_{ordered[0]} ON {name} ({", ".join(ordered)})')


def downgrade() -> None:
    for name in reversed(VIEWS):
        op.execute(f'DROP MATERIALIZED VIEW {name}')
