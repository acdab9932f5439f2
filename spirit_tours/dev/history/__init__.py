"""A generated past: ``spirit-tours seed-demo --history N`` adds N quotations of the last
three years with everything that followed them, for the analytics reports and the models.

It is history, so nothing in it is left for the worker: every quotation ends BOOKED,
CANCELLED or EXPIRED, every trip has ended (bookings COMPLETED or CANCELLED), every payment
has settled (no open payment, no hold), every refund is REFUNDED, and no outbox event,
e-mail, notification or payment reminder is written. What the application would have
written in the audit log for proposals, approvals, rejections and cancellations is there
(``audit_log``: ``quotation.propose|approve|reject|cancel``, ``booking.cancel``,
``payment.refund``): a rejected proposal leaves no other trace in the tables.

Tables filled: companies, hotels, users (the catalogue, once), quotations,
hotel_invitations, hotel_offers, offer_revisions, bookings, booking_hotels, payments,
booking_refunds, payment_refunds, audit_log. Generated quotations carry
``idempotency_key = 'history-<seed>.<run>-<n>'``, so they can be told from real ones.

The world (``catalogue``, fixed whatever the seed)
    12 destinations (Lima, Arequipa, Rio de Janeiro, Salvador, Foz do Iguaçu, Buenos Aires,
    Mendoza, Cartagena, Cancún, Lisbon, Barcelona, Rome), each with a currency (USD, BRL,
    EUR; COP, without minor units, for Cartagena), a base nightly rate, high-season months
    and a price uplift for them (x1.2-1.5; the months next to the high season get half),
    a share of the requests and the operator's usual markup (11-22 %). 5-10 hotels each,
    ``hotels.city == quotations.destination``; hotel companies own 1-3 hotels (chains may
    span destinations), one HOTEL user per company submits its offers. Every hotel has
    latent traits from one of four archetypes — ``budget_slow`` (price level 0.7-0.9,
    answers 35-55 % of invitations, median delay 30-72 h), ``premium_fast`` (1.2-1.5,
    82-95 %, 2-8 h), ``balanced`` (0.9-1.2, 60-85 %, 8-30 h), ``flaky`` (0.8-1.1,
    25-45 %, 12-48 h) — stars mostly following the price level, a reputation (-1..1), a
    popularity (how readily it is invited), and traits that interact with the request: a
    group capacity (group hotels 25-60 rooms and a 0.85 price factor from 10 rooms, 25 % of
    premium and 45 % of the others; the rest 6-16 rooms at full price) and a high-season
    busyness (4-5 stars keep 50-70 % of their answer rate in high season, 3 stars 75-95 %).
    8 agencies (1-3 AGENCY users each) and 40 CLIENT users, each with an approval rate
    (agencies 0.45-0.85, clients 0.3-0.6), a markup shift (agencies -3 to +5 points,
    clients +3 to +8), a cancellation factor (0.6-1.6 and 0.8-2.0) and a share of the
    requests. Three ADMIN users of Spirit Tours.

A request (``simulation``)
    Destination by share; trip start over the last three years (15 days to 3 years ago),
    1.7x as likely in high season and growing ~12 % a year; 2-10 nights; lead time
    lognormal (median 55 days, 10-420); 1-45 travellers in rooms of the API's shape
    (``[{"type": "DOUBLE", "count": 3}, …]``: singles, doubles, twins for groups, triples,
    suites); extra services; competitor visibility HIDDEN 60 %, RANK_ONLY 25 %, OPEN 15 %.
    3 % are drafts never sent (cancelled or expired).

Invitations and offers
    The operator invites 3-7 of the destination's hotels (weighted by popularity) 1-30 h
    after the request; bidding lasts 20 % of the lead time (2-10 days). A hotel answers with
    probability responsiveness x its busyness in high season x 0.25 when asked for more
    rooms than its capacity x 0.85 when bidding is under 3 days, after its median delay x
    lognormal(sigma 0.6): an answer after the deadline is lost (invitation VIEWED). Otherwise
    it declines (always when over capacity; else 65 % in high season, mostly "Fully
    booked", 45 % else) or stays silent (VIEWED or INVITED).
    When fewer than two offers arrive by half-time, 60 % of the time 1-2 more hotels are
    invited then. The net price is

        base rate x season factor x hotel level x room units x nights x lead factor
        x hotel's group factor (from 10 rooms) x lognormal(sigma 0.10)

    with room units SINGLE 0.8, DOUBLE/TWIN 1, TRIPLE 1.3, SUITE 2.2; lead factor 1.08
    under 21 days, 0.95 beyond 180. Revisions lower the
    price 2-8 % (chance 12 %, +20 % when competitors' prices are visible, +15 % more for a
    hotel that is not the cheapest; a second one at a third of that); 4 % of offers are
    withdrawn before the deadline.

Winner, proposal, decision
    55 % of the time the operator proposes the cheapest active offer; otherwise the lowest
    log(price) - 0.10 (stars - 4) - 0.12 reputation + noise(0.03): a dearer, better hotel
    sometimes wins. Markup = destination's + customer's shift + 2 in high season + N(0, 1.5),
    8-30 %, in half points; selling price by ``proposals.selling_price``. The owner approves
    with probability approval rate - 0.02 (markup - 15) (+0.15 per earlier rejection); 6 %
    never answer (EXPIRED while PROPOSED). After a rejection, 55 % of the time the operator
    proposes again (40 %: the next best offer, else 3-6 points less markup), up to three
    proposals; otherwise the owner cancels (60 %) or it expires. 4 % of owners cancel while
    hotels bid; a quotation without an offer expires (70 %) or the operator cancels it.

Booking and money
    93 % of approvals are booked, with the configured payment and cancellation policies
    (``core.booking_policies``): deposit (or, too close to the trip, the full price; 12 %
    pay everything at once) by the deposit due date, the balance around its due date (5 %
    late). Methods by currency (BRL: PIX, boleto, card; COP: PSE, cash, card; USD/EUR: card,
    PayPal), providers by the default routing table (4 % find the first one unavailable
    and the next one takes it). Failures by method (card 8 % declined — 30 % of them
    refused at once without a provider —, boleto 15 % and cash 18 % expire unpaid, PayPal 6 %
    cancelled, PIX 5 %, PSE 7 %) are retried up to three times, sometimes by another method.
    3 % never pay the deposit and 3 % never the balance: the operator cancels. Owners cancel
    with probability (3 % + 14 % x lead/300 days) x their factor; the refund is
    ``refund_due`` over the booking's tiers and sent back from the credited payments, newest
    first. Trips that happen are COMPLETED 6-96 h after they end; 2 % get a goodwill refund.
    As in the application, ``payments.credited_amount`` is what the payment still counts
    toward its booking and ``bookings.amount_paid`` is their sum (credited payments less the
    refunds taken from them); ``payments.refunded_amount`` sums its REFUNDED refunds.

Determinism
    The rows (ids included) follow from the seed, the number of generated quotations already
    in the database (a second run draws another, different history and adds it) and the day
    the run is anchored on (default today; trips end at least 12 days before it).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from spirit_tours.config import Settings
from spirit_tours.core.cancellation import parse_cancellation_policy
from spirit_tours.core.clock import today_utc
from spirit_tours.dev.history.catalogue import ensure_catalogue
from spirit_tours.dev.history.simulation import YEARS, Policies, Simulation
from spirit_tours.dev.history.writer import write_rows
from spirit_tours.persistence.quotations import Quotation

DEFAULT_SEED = 19
KEY_PREFIX = "history-"


@dataclass(frozen=True)
class HistorySummary:
    quotations: int
    seed: int
    run: int  # generated quotations already there before this run
    counts: dict[str, int]
    seconds: float

    def format(self) -> str:
        lines = [
            f"History: {self.quotations} quotations (seed {self.seed}, after {self.run} "
            f"generated before) in {self.seconds:.1f} s:"
        ]
        lines += [f"  {table:<18} {count:>8}" for table, count in self.counts.items()]
        return "\n".join(lines)


def policies_of(settings: Settings) -> Policies:
    return Policies(
        deposit_percent=settings.deposit_percent,
        deposit_due_days=settings.deposit_due_days,
        balance_due_days_before_start=settings.balance_due_days_before_start,
        tiers=tuple(parse_cancellation_policy(settings.cancellation_policy)),
        hold=timedelta(minutes=settings.payment_hold_minutes),
    )


async def generated_before(session: AsyncSession) -> int:
    found = await session.scalar(
        select(func.count())
        .select_from(Quotation)
        .where(Quotation.idempotency_key.like(f"{KEY_PREFIX}%"))
    )
    return int(found or 0)


async def seed_history(
    session: AsyncSession,
    settings: Settings,
    count: int,
    *,
    seed: int = DEFAULT_SEED,
    today: date | None = None,
) -> HistorySummary:
    """Add ``count`` past quotations and what followed them, in the caller's transaction."""
    if count < 0:
        raise ValueError("the number of quotations is 0 or more")
    began = time.perf_counter()
    today = today or today_utc()
    since = datetime.combine(today, datetime.min.time(), tzinfo=UTC) - timedelta(
        days=365 * YEARS + 450
    )
    catalogue = await ensure_catalogue(session, since)
    run = await generated_before(session)
    simulation = Simulation(catalogue, policies_of(settings), f"{seed}:{run}", today,
                            tag=f"{seed}.{run}")  # fmt: skip
    for index in range(count):
        simulation.simulate(index)
    counts = await write_rows(session, simulation.rows)
    return HistorySummary(count, seed, run, counts, time.perf_counter() - began)
