"""The history generator (``seed-demo --history N``): its rows obey every rule the application
keeps, leave nothing for the worker, repeat with a seed, and carry the patterns it promises."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import select, text

from spirit_tours.config import Settings
from spirit_tours.dev.history import seed_history
from spirit_tours.dev.history.catalogue import DESTINATIONS
from spirit_tours.persistence.database import SessionFactory
from spirit_tours.persistence.payments import Payment
from tests.cli import clean_env, run_cli
from tests.conftest import TEST_ENCRYPTION_KEYS, empty_database

TODAY = date(2026, 11, 30)


async def generate(
    sessions: SessionFactory, settings: Settings, count: int, seed: int = 7
) -> dict[str, int]:
    async with sessions() as session, session.begin():
        summary = await seed_history(session, settings, count, seed=seed, today=TODAY)
    return summary.counts


async def rows(sessions: SessionFactory, sql: str) -> list[Any]:
    async with sessions() as session:
        return list((await session.execute(text(sql))).all())


# Each query returns the offending rows: an empty answer means the rule holds.
INVARIANTS = {
    "booked quotations and bookings match one to one": """
        SELECT q.id FROM quotations q LEFT JOIN bookings b ON b.quotation_id = q.id
        WHERE (q.status = 'BOOKED') <> (b.id IS NOT NULL)""",
    "a booking copies its quotation's approved price, dates and owner": """
        SELECT b.id FROM bookings b JOIN quotations q ON q.id = b.quotation_id
        WHERE b.selling_price <> q.selling_price OR b.start_date <> q.start_date
           OR b.end_date <> q.end_date OR b.owner_user_id <> q.owner_user_id
           OR b.currency <> q.currency OR q.decided_at IS NULL""",
    "the booking's hotel line is the selected offer": """
        SELECT b.id FROM bookings b JOIN quotations q ON q.id = b.quotation_id
        LEFT JOIN booking_hotels bh ON bh.booking_id = b.id
        LEFT JOIN hotel_offers o ON o.id = bh.offer_id
        WHERE bh.id IS NULL OR o.id <> q.selected_offer_id OR bh.net_price <> o.net_price
           OR bh.hotel_id <> o.hotel_id""",
    "proposed, approved and booked quotations select one of their own active offers": """
        SELECT q.id FROM quotations q LEFT JOIN hotel_offers o ON o.id = q.selected_offer_id
        WHERE (q.selected_offer_id IS NOT NULL) <> (q.proposed_at IS NOT NULL)
           OR (q.status IN ('PROPOSED', 'APPROVED', 'BOOKED')
               AND (o.id IS NULL OR o.quotation_id <> q.id OR o.status <> 'ACTIVE'))
           OR (q.selected_offer_id IS NOT NULL AND (q.markup_percent IS NULL
               OR q.selling_price <> round(o.net_price * (1 + q.markup_percent / 100),
                                           CASE q.currency WHEN 'COP' THEN 0 ELSE 2 END)))""",
    "history is over: only final statuses": """
        SELECT id FROM quotations WHERE status NOT IN ('BOOKED', 'CANCELLED', 'EXPIRED')
        UNION ALL SELECT id FROM bookings WHERE status NOT IN ('COMPLETED', 'CANCELLED')
        UNION ALL SELECT id FROM payments
                  WHERE status IN ('CREATED', 'REQUIRES_ACTION', 'PENDING')
        UNION ALL SELECT id FROM booking_refunds WHERE status IN ('DUE', 'PROCESSING')
        UNION ALL SELECT id FROM payment_refunds WHERE status = 'PROCESSING'""",
    "every offer's hotel was invited, and answered": """
        SELECT o.id FROM hotel_offers o LEFT JOIN hotel_invitations i
          ON i.quotation_id = o.quotation_id AND i.hotel_id = o.hotel_id
        WHERE i.id IS NULL OR i.status <> 'RESPONDED' OR i.created_at >= o.created_at
           OR i.hotel_company_id <> o.hotel_company_id""",
    "a hotel of a destination is in that city": """
        SELECT i.id FROM hotel_invitations i JOIN quotations q ON q.id = i.quotation_id
        JOIN hotels h ON h.id = i.hotel_id WHERE h.city <> q.destination""",
    "offers keep every version, the last one being the offer": """
        SELECT o.id FROM hotel_offers o JOIN offer_revisions r ON r.offer_id = o.id
        GROUP BY o.id, o.revision, o.net_price, o.status
        HAVING count(*) <> o.revision OR max(r.revision) <> o.revision
           OR bool_or(r.revision = o.revision AND (r.net_price <> o.net_price
                                                   OR r.status <> o.status))""",
    "time runs forward": """
        SELECT q.id FROM quotations q
        WHERE EXISTS (SELECT 1 FROM hotel_invitations i WHERE i.quotation_id = q.id
                      AND (i.created_at <= q.created_at OR i.created_at >= q.offer_deadline))
           OR EXISTS (SELECT 1 FROM offer_revisions r JOIN hotel_offers o ON o.id = r.offer_id
                      WHERE o.quotation_id = q.id AND r.created_at >= q.offer_deadline)
           OR q.proposed_at <= q.offer_deadline OR q.decided_at <= q.proposed_at
           OR q.offer_deadline > q.start_date::timestamptz OR q.decided_at <= q.created_at
           OR EXISTS (SELECT 1 FROM bookings b WHERE b.quotation_id = q.id
                      AND (b.created_at <= q.decided_at OR b.created_at >= q.start_date))
        UNION ALL
        SELECT b.id FROM bookings b
        WHERE EXISTS (SELECT 1 FROM payments p WHERE p.booking_id = b.id
                      AND (p.created_at <= b.created_at OR p.created_at >= b.start_date
                           OR p.credited_at >= b.start_date OR p.credited_at < p.created_at))
           OR b.completed_at <= b.end_date OR b.cancelled_at >= b.start_date
           OR b.cancelled_at <= b.created_at OR b.confirmed_at < b.created_at
           OR b.completed_at >= now() OR b.updated_at >= now()""",
    "each payment is credited once, only if it succeeded, never beyond its amount": """
        SELECT id FROM payments
        WHERE (credited_at IS NOT NULL) <>
              (status IN ('SUCCEEDED', 'PARTIALLY_REFUNDED', 'REFUNDED'))
           OR credited_amount <> CASE WHEN credited_at IS NULL THEN 0
                                      ELSE amount - refunded_amount END
           OR refunded_amount <> (SELECT coalesce(sum(r.amount), 0) FROM payment_refunds r
                                  WHERE r.payment_id = payments.id AND r.status = 'REFUNDED')
           OR (status = 'REFUNDED') <> (refunded_amount = amount AND credited_at IS NOT NULL)
           OR (status = 'PARTIALLY_REFUNDED') <> (refunded_amount > 0 AND refunded_amount < amount)
           OR currency <> (SELECT currency FROM bookings WHERE id = payments.booking_id)""",
    "amount paid is what the credited payments still count": """
        SELECT b.id FROM bookings b
        WHERE b.amount_paid <> (SELECT coalesce(sum(p.credited_amount), 0) FROM payments p
                                WHERE p.booking_id = b.id)
           OR (b.status = 'COMPLETED' AND b.amount_paid <> b.selling_price
               AND NOT EXISTS (SELECT 1 FROM payment_refunds r JOIN payments p
                               ON p.id = r.payment_id WHERE p.booking_id = b.id))
           OR (b.confirmed_at IS NULL) <> (b.status = 'CANCELLED' AND NOT EXISTS (
                  SELECT 1 FROM payments p WHERE p.booking_id = b.id
                  AND p.credited_at IS NOT NULL AND p.credited_amount + p.refunded_amount
                      >= CASE WHEN b.deposit_percent IS NULL THEN b.selling_price
                         ELSE 0 END))""",
    "a cancellation refunds its tier's share of what was paid, from credited payments": """
        SELECT br.id FROM booking_refunds br JOIN bookings b ON b.id = br.booking_id
        WHERE b.status <> 'CANCELLED' OR br.status <> 'REFUNDED' OR br.amount > br.paid_amount
           OR br.amount <> (SELECT sum(r.amount) FROM payment_refunds r
                            WHERE r.booking_refund_id = br.id)
           OR br.days_before_start <> b.start_date - b.cancelled_at::date
           OR br.refund_percent <> (SELECT coalesce(max((t->>'refund_percent')::numeric), 0)
                                    FROM jsonb_array_elements(b.cancellation_tiers) t
                                    WHERE (t->>'days_before')::int <= br.days_before_start)""",
    "money has the currency's decimals": """
        SELECT id FROM hotel_offers WHERE currency = 'COP' AND net_price <> round(net_price)
        UNION ALL SELECT id FROM payments WHERE currency = 'COP' AND amount <> round(amount)""",
}


async def test_every_row_keeps_the_applications_rules(
    sessions: SessionFactory, settings: Settings
) -> None:
    counts = await generate(sessions, settings, 200)

    assert counts["quotations"] == 200
    assert counts["bookings"] > 50
    assert counts["payments"] >= counts["bookings"]
    assert counts["booking_refunds"] > 0
    assert counts["offer_revisions"] > counts["hotel_offers"]
    broken = {
        name: found for name, sql in INVARIANTS.items() if (found := await rows(sessions, sql))
    }
    assert broken == {}


async def test_nothing_is_left_for_the_worker(sessions: SessionFactory, settings: Settings) -> None:
    await generate(sessions, settings, 200)

    for table in ("outbox_events", "email_messages", "notifications", "payment_reminders"):
        assert await rows(sessions, f"SELECT 1 FROM {table}") == [], table  # noqa: S608
    due = await rows(sessions, """
        SELECT id FROM bookings WHERE status IN ('PENDING_PAYMENT', 'CONFIRMED')
        UNION ALL SELECT id FROM quotations WHERE start_date > now()""")  # fmt: skip
    assert due == []


async def snapshot(sessions: SessionFactory) -> list[Any]:
    return await rows(
        sessions,
        """
        SELECT q.id, q.destination, q.start_date, q.status, q.selling_price, o.net_price,
               b.status, b.amount_paid,
               (SELECT array_agg(p.amount || ' ' || p.status ORDER BY p.created_at)
                FROM payments p WHERE p.booking_id = b.id)
        FROM quotations q LEFT JOIN hotel_offers o ON o.id = q.selected_offer_id
        LEFT JOIN bookings b ON b.quotation_id = q.id ORDER BY q.created_at, q.id""",
    )


async def test_a_seed_repeats_the_history_and_a_second_run_adds_another(
    sessions: SessionFactory, settings: Settings, engine: Any
) -> None:
    await generate(sessions, settings, 60, seed=3)
    first = await snapshot(sessions)
    await empty_database(engine)
    await generate(sessions, settings, 60, seed=3)
    again = await snapshot(sessions)
    await empty_database(engine)
    await generate(sessions, settings, 60, seed=4)
    other = await snapshot(sessions)
    await generate(sessions, settings, 60, seed=4)
    both = await snapshot(sessions)

    assert first == again
    assert first != other
    assert len(both) == 120
    assert len({row[0] for row in both}) == 120
    hotels = await rows(sessions, "SELECT count(*) FROM hotels")
    assert hotels[0][0] == sum(destination.hotels for destination in DESTINATIONS)


async def test_encrypted_columns_are_sealed_and_read_through_the_orm(
    sessions: SessionFactory, settings: Settings
) -> None:
    await generate(sessions, settings, 100)

    async with sessions() as session:
        payments = (await session.scalars(select(Payment).limit(20))).all()
    assert payments
    for payment in payments:
        assert len(payment.request_hash) == 64
        assert payment.attempts
        assert payment.attempts[-1]["provider"]
        assert isinstance(payment.next_action, dict)
    raw = await rows(sessions, "SELECT request_hash, attempts FROM payments LIMIT 20")
    for request_hash, attempts in raw:
        assert payments[0].request_hash.encode() not in bytes(request_hash)
        assert b"provider" not in bytes(attempts)


async def test_the_patterns_are_there(sessions: SessionFactory, settings: Settings) -> None:
    """What the analytics and the models are meant to find (see the package docstring)."""
    await generate(sessions, settings, 1500, seed=11)

    # The same hotel asks more per night and traveller in its destination's high season.
    season = await rows(
        sessions,
        """
        WITH ratios AS (
          SELECT avg(o.net_price / ((q.end_date - q.start_date) * q.travellers))
                   FILTER (WHERE extract(month FROM q.start_date) IN (6, 7, 8))
                 / avg(o.net_price / ((q.end_date - q.start_date) * q.travellers))
                   FILTER (WHERE extract(month FROM q.start_date) IN (11, 1, 2)) AS ratio
          FROM hotel_offers o JOIN quotations q ON q.id = o.quotation_id
          WHERE q.destination IN ('Lisbon', 'Barcelona') AND q.travellers BETWEEN 2 AND 12
          GROUP BY o.hotel_id)
        SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY ratio), count(ratio) FROM ratios""",
    )
    assert season[0][0] > 1.2, season
    assert season[0][1] >= 10, season
    # Hotels that answer more often in one half of the history do so in the other too.
    halves = await rows(
        sessions,
        """
        WITH rates AS (
          SELECT i.hotel_id, (extract(epoch FROM q.created_at)::bigint % 2) AS half,
                 avg((i.status = 'RESPONDED')::int) AS answered
          FROM hotel_invitations i JOIN quotations q ON q.id = i.quotation_id
          GROUP BY 1, 2 HAVING count(*) >= 15)
        SELECT corr(a.answered, b.answered) FROM rates a JOIN rates b
          ON a.hotel_id = b.hotel_id AND a.half = 0 AND b.half = 1""",
    )
    assert halves[0][0] > 0.6, halves
    # Some hotels that answer small requests well hardly answer big groups (their capacity).
    groups = await rows(
        sessions,
        """
        WITH rates AS (
          SELECT i.hotel_id,
                 avg((i.status = 'RESPONDED')::int) FILTER (WHERE q.travellers <= 6) AS small,
                 avg((i.status = 'RESPONDED')::int) FILTER (WHERE q.travellers >= 30) AS big
          FROM hotel_invitations i JOIN quotations q ON q.id = i.quotation_id
          GROUP BY i.hotel_id)
        SELECT count(*) FILTER (WHERE small > 0.45 AND big < 0.2),
               count(*) FILTER (WHERE small > 0.45 AND big > 0.4) FROM rates""",
    )
    assert groups[0][0] >= 3, groups
    assert groups[0][1] >= 3, groups
    # The cheapest offer usually wins, but not always.
    cheapest = await rows(
        sessions,
        """
        SELECT avg((o.net_price = (SELECT min(x.net_price) FROM hotel_offers x
                                   WHERE x.quotation_id = q.id AND x.status = 'ACTIVE'))::int)
        FROM quotations q JOIN hotel_offers o ON o.id = q.selected_offer_id""",
    )
    assert 0.6 < cheapest[0][0] < 0.95, cheapest
    # Owners who book far ahead cancel more often.
    cancels = await rows(
        sessions,
        """
        SELECT avg((status = 'CANCELLED')::int) FILTER (WHERE start_date - created_at::date > 120),
               avg((status = 'CANCELLED')::int) FILTER (WHERE start_date - created_at::date < 40)
        FROM bookings""",
    )
    assert cancels[0][0] > cancels[0][1], cancels


@pytest.mark.slow  # runs the console script
async def test_the_command_takes_a_history_size(database_url: str, redis_url: str) -> None:
    env = clean_env(SPIRIT_DATABASE_URL=database_url, SPIRIT_REDIS_URL=redis_url,
                    SPIRIT_ENCRYPTION_KEYS=TEST_ENCRYPTION_KEYS)  # fmt: skip

    nothing = await run_cli("seed-demo", "--history", "0", "--seed", "5", env=env)
    negative = await run_cli("seed-demo", "--history", "-3", env=env)
    lonely_seed = await run_cli("seed-demo", "--seed", "5", env=env)

    assert nothing.code == 0, nothing.stderr
    assert "History: 0 quotations (seed 5" in nothing.stdout
    assert "Demo logins" in nothing.stdout
    assert negative.code == 2
    assert "-3 is not in the range x>=0" in negative.stderr
    assert lonely_seed.code == 2
    assert "--seed goes with --history N" in lonely_seed.stderr
