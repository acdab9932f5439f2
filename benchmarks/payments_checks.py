# ruff: noqa: S608 - the SQL is built from this module's constants only, never from input
"""The payment benchmark's integrity checks, counted from the database after the run.

What must hold whatever the webhooks did: every payment started was credited exactly once
(none lost, none twice), no booking took more than its selling price or more than its
payments brought, and each provider event was applied exactly once however often it was
delivered. Each line prints a count and whether it passed; the test of the benchmark parses
these lines, so their wording is part of its interface.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

# The seeded payers' addresses (benchmarks.payments_seed writes them). Not imported from there:
# that module sets SPIRIT_ENCRYPTION_KEYS (benchmarks.keys) in whatever process imports it, and
# the test suite imports this one.
PAYER_DOMAIN = "payers.bench.example"
# Every query is scoped to the benchmark's payers (the demo's own paid booking is left out).
_PAYERS = f"SELECT id FROM users WHERE email LIKE '%@{PAYER_DOMAIN}'"
_PAYMENTS = f"SELECT * FROM payments WHERE payer_user_id IN ({_PAYERS})"
_BOOKINGS = f"SELECT * FROM bookings WHERE owner_user_id IN ({_PAYERS})"
_EVENTS = f"""SELECT w.* FROM webhook_deliveries w JOIN ({_PAYMENTS}) p ON p.id = w.payment_id"""

QUERIES: dict[str, str] = {
    "payments started": f"SELECT count(*) FROM ({_PAYMENTS}) p",
    "credited exactly once": f"""SELECT count(*) FROM ({_PAYMENTS}) p
        WHERE p.status = 'SUCCEEDED' AND p.credited_at IS NOT NULL
          AND p.credited_amount = p.amount
          AND (SELECT count(*) FROM audit_log a WHERE a.action = 'booking.payment'
               AND a.object_id = p.booking_id) = 1""",
    "lost payments": f"""SELECT count(*) FROM ({_PAYMENTS}) p
        WHERE p.credited_at IS NULL OR p.status <> 'SUCCEEDED'""",
    "double credits": f"""SELECT count(*) FROM ({_BOOKINGS}) b
        WHERE b.amount_paid <> (SELECT coalesce(sum(p.credited_amount), 0) FROM payments p
                                WHERE p.booking_id = b.id AND p.credited_at IS NOT NULL)
           OR (SELECT count(*) FROM audit_log a WHERE a.action = 'booking.payment'
               AND a.object_id = b.id) > 1""",
    "over-credited bookings": f"""SELECT count(*) FROM ({_BOOKINGS}) b
        WHERE b.amount_paid > b.selling_price""",
    "duplicate webhook applications": f"""SELECT count(*) FROM (
        SELECT w.provider, w.event_id FROM ({_EVENTS}) w WHERE w.outcome = 'APPLIED'
        GROUP BY w.provider, w.event_id HAVING count(*) > 1) d""",
    "events processed without one APPLIED delivery": f"""SELECT count(*) FROM processed_webhooks
        pw WHERE pw.event_id IN (SELECT event_id FROM ({_EVENTS}) e)
        AND (SELECT count(*) FROM webhook_deliveries w WHERE w.provider = pw.provider
             AND w.event_id = pw.event_id AND w.outcome = 'APPLIED') <> 1""",
    "payment.succeeded events not exactly one per payment": f"""SELECT count(*) FROM
        ({_PAYMENTS}) p WHERE (SELECT count(*) FROM outbox_events o
        WHERE o.kind = 'payment.succeeded' AND o.aggregate_id = p.id) <> 1""",
}
_INFORMATION: dict[str, str] = {
    "webhook deliveries stored": f"SELECT count(*) FROM ({_EVENTS}) w",
    "deliveries APPLIED": f"SELECT count(*) FROM ({_EVENTS}) w WHERE w.outcome = 'APPLIED'",
    "deliveries DUPLICATE": f"SELECT count(*) FROM ({_EVENTS}) w WHERE w.outcome = 'DUPLICATE'",
    "bookings CONFIRMED": f"SELECT count(*) FROM ({_BOOKINGS}) b WHERE b.status = 'CONFIRMED'",
}
MAILS = f"""SELECT count(*), count(DISTINCT m.source_key) FROM email_messages m
    WHERE m.template = 'payment_received' AND m.user_id IN ({_PAYERS})"""


@dataclass(frozen=True)
class Integrity:
    counts: dict[str, int]
    information: dict[str, int]
    expected: int  # payments the load generator started and saw answered

    def failures(self) -> list[str]:
        counts = self.counts
        failed = [name for name in QUERIES if name not in ("payments started",
                  "credited exactly once") and counts[name] != 0]  # fmt: skip
        if counts["payments started"] != self.expected:
            failed.append("payments started")
        if counts["credited exactly once"] != counts["payments started"]:
            failed.append("credited exactly once")
        return failed

    def lines(self) -> list[str]:
        failed = set(self.failures())
        lines = [
            f"  {name}: {value} {'FAIL' if name in failed else 'ok'}"
            for name, value in self.counts.items()
        ]
        lines += [f"  {name}: {value}" for name, value in self.information.items()]
        return lines


async def check(session: AsyncSession, expected: int) -> Integrity:
    counts = {name: int(await session.scalar(text(sql)) or 0) for name, sql in QUERIES.items()}
    information = {
        name: int(await session.scalar(text(sql)) or 0) for name, sql in _INFORMATION.items()
    }
    return Integrity(counts, information, expected)


async def mails(session: AsyncSession) -> tuple[int, int]:
    """``payment_received`` messages queued for the payers: rows, and distinct sources."""
    row = (await session.execute(text(MAILS))).one()
    return int(row[0]), int(row[1])
