"""The simulation: one quotation's life at a time, from the request to the trip or its end.

Pure Python over a seeded :class:`random.Random`: the same catalogue, seed and anchor day give
the same rows (ids included). Every row is a dict of column values, ready for the bulk writer;
money is Decimal rounded to the currency's minor units (``core.money``), the payment and
cancellation policies are the application's own (``core.booking_policies``), and the selling
price is the proposal's own formula (``resolvers.quotations.proposals.selling_price``).
The package docstring (``spirit_tours.dev.history``) states the patterns drawn here.
"""

from __future__ import annotations

import hashlib
import math
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from spirit_tours.core.booking_policies import PaymentPolicy, default_payment_policy, refund_due
from spirit_tours.core.cancellation import CancellationTier
from spirit_tours.core.enums import (
    AttemptOutcome,
    BookingStatus,
    CompetitorPrices,
    ExtraService,
    InvitationStatus,
    OfferStatus,
    PaymentMethod,
    PaymentStatus,
    Provider,
    QuotationStatus,
    RefundStatus,
    Role,
    RoomType,
)
from spirit_tours.core.money import round_to_currency
from spirit_tours.core.payment_routes import DEFAULT_ROUTES
from spirit_tours.dev.history.catalogue import DESTINATIONS, Catalogue, HotelTraits, Owner
from spirit_tours.resolvers.quotations.invitations import alias_for
from spirit_tours.resolvers.quotations.proposals import selling_price

Row = dict[str, Any]
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
YEARS = 3
ROOM_FACTOR = {
    RoomType.SINGLE: 0.8,
    RoomType.DOUBLE: 1.0,
    RoomType.TWIN: 1.0,
    RoomType.TRIPLE: 1.3,
    RoomType.SUITE: 2.2,
}
PRICE_NOISE = 0.10  # sigma of the lognormal noise on every offer
CHEAPEST_FIRST = 0.55  # the operator picks the cheapest offer outright this often
DECLINE_REASONS = (
    "Fully booked on those dates.",
    "We cannot hold that many rooms.",
    "Closed for renovation that week.",
    "The rate would not work for us.",
)
NEXT_ACTION = {
    PaymentMethod.CARD: "CLIENT_SECRET",
    PaymentMethod.PIX: "QR_CODE",
    PaymentMethod.BOLETO: "VOUCHER",
    PaymentMethod.CASH: "VOUCHER",
    PaymentMethod.PSE: "REDIRECT",
    PaymentMethod.PAYPAL: "REDIRECT",
}
FAILURES = {
    PaymentMethod.CARD: ("card_declined", "insufficient_funds", "expired_card"),
    PaymentMethod.PSE: ("bank_rejected",),
    PaymentMethod.PAYPAL: ("payer_cancelled",),
}


@dataclass(frozen=True)
class Policies:
    """What the configuration says a booking agrees to (``Settings``' defaults)."""

    deposit_percent: Decimal
    deposit_due_days: int
    balance_due_days_before_start: int
    tiers: tuple[CancellationTier, ...]
    hold: timedelta


@dataclass
class Rows:
    """Every row of a run, by table, in insertion order (parents before children)."""

    quotations: list[Row] = field(default_factory=list)
    invitations: list[Row] = field(default_factory=list)
    offers: list[Row] = field(default_factory=list)
    revisions: list[Row] = field(default_factory=list)
    bookings: list[Row] = field(default_factory=list)
    booking_hotels: list[Row] = field(default_factory=list)
    payments: list[Row] = field(default_factory=list)
    booking_refunds: list[Row] = field(default_factory=list)
    payment_refunds: list[Row] = field(default_factory=list)
    audit: list[Row] = field(default_factory=list)


@dataclass
class _Offer:
    hotel: HotelTraits
    versions: list[tuple[Decimal, datetime, OfferStatus]]  # price, when, status
    row: Row = field(default_factory=dict)  # the hotel_offers row, once bidding is over


@dataclass
class _Proposal:
    offer: _Offer
    markup: Decimal
    price: Decimal
    at: datetime


def season_factor(high_months: frozenset[int], uplift: float, month: int) -> float:
    """High season the full uplift, the months next to it half of it, the rest none."""
    if month in high_months:
        return uplift
    neighbours = {(month % 12) + 1, ((month - 2) % 12) + 1}
    return 1 + (uplift - 1) / 2 if neighbours & high_months else 1.0


class Simulation:
    """Draws ``Rows`` for quotations one by one (``simulate(i)``)."""

    def __init__(
        self, catalogue: Catalogue, policies: Policies, seed: str, today: date, tag: str
    ) -> None:
        self.rng = random.Random(seed)  # noqa: S311 - simulated history, not secrets
        self.catalogue = catalogue
        self.policies = policies
        self.today = today
        self.anchor = datetime.combine(today, time.min, tzinfo=UTC)
        self.tag = tag
        self.rows = Rows()
        self.owner_weights = [owner.weight for owner in catalogue.owners]
        self.destinations = [d for d in DESTINATIONS if catalogue.hotels_by_destination.get(d.name)]
        self.destination_weights = [d.popularity for d in self.destinations]
        self.first_start = today - timedelta(days=365 * YEARS - 45)

    # --- small draws -------------------------------------------------------------------
    def uid(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def hours(self, low: float, high: float) -> timedelta:
        return timedelta(hours=self.rng.uniform(low, high))

    def money(self, value: float | Decimal, currency: str) -> Decimal:
        amount = round_to_currency(Decimal(str(value)), currency)
        return max(amount, round_to_currency(Decimal(1), currency))

    # --- the request ---------------------------------------------------------------------
    def _start_date(self, high_months: frozenset[int], nights: int) -> date:
        last = self.today - timedelta(days=12 + nights)
        span = (last - self.first_start).days
        while True:
            start = self.first_start + timedelta(days=self.rng.randint(0, span))
            years_back = (self.today - start).days / 365
            weight = (1.7 if start.month in high_months else 1.0) * (1.0 - 0.12 * years_back)
            if self.rng.random() < weight / 1.7:
                return start

    def _travellers(self) -> int:
        kind = self.rng.random()
        if kind < 0.25:
            return 2
        if kind < 0.33:
            return 1
        if kind < 0.6:
            return self.rng.randint(3, 6)
        if kind < 0.88:
            return self.rng.randint(7, 20)
        return self.rng.randint(21, 45)

    def _rooms(self, travellers: int) -> list[Row]:
        counts: dict[RoomType, int] = {}

        def add(kind: RoomType, count: int) -> None:
            if count > 0:
                counts[kind] = counts.get(kind, 0) + count

        if travellers == 1:
            add(RoomType.SINGLE, 1)
        elif travellers == 3 and self.rng.random() < 0.5:
            add(RoomType.TRIPLE, 1)
        elif travellers <= 4 and self.rng.random() < 0.12:
            add(RoomType.SUITE, travellers // 2)
            add(RoomType.SINGLE, travellers % 2)
        else:
            pairs, single = divmod(travellers, 2)
            twins = pairs // 2 if travellers >= 8 else 0
            add(RoomType.DOUBLE, pairs - twins)
            add(RoomType.TWIN, twins)
            add(RoomType.SINGLE, single)
        return [{"type": kind.value, "count": count} for kind, count in counts.items()]

    # --- one quotation ---------------------------------------------------------------------
    def simulate(self, index: int) -> None:
        """One quotation and all that followed it; whatever was still live when its trip
        started is EXPIRED, as the hourly job leaves it (``lifecycle.expire_started``)."""
        self._simulate(index)
        quotation = self.rows.quotations[-1]
        if quotation["status"] not in (QuotationStatus.BOOKED, QuotationStatus.CANCELLED):
            quotation["status"] = QuotationStatus.EXPIRED
            quotation["updated_at"] = datetime.combine(quotation["start_date"], time(1), tzinfo=UTC)

    def _simulate(self, index: int) -> None:
        rng = self.rng
        destination = rng.choices(self.destinations, weights=self.destination_weights)[0]
        owner = rng.choices(self.catalogue.owners, weights=self.owner_weights)[0]
        nights = rng.choices(range(2, 11), weights=(8, 14, 18, 16, 12, 10, 9, 7, 6))[0]
        start = self._start_date(destination.high_months, nights)
        lead = max(10, min(420, int(rng.lognormvariate(math.log(55), 0.7))))
        created = datetime.combine(start - timedelta(days=lead), time(8), tzinfo=UTC)
        created += self.hours(0, 12)
        travellers = self._travellers()
        rooms = self._rooms(travellers)
        room_count = sum(room["count"] for room in rooms)
        room_units = sum(ROOM_FACTOR[RoomType(room["type"])] * room["count"] for room in rooms)
        high = start.month in destination.high_months
        currency = destination.currency
        start_at = datetime.combine(start, time.min, tzinfo=UTC)
        invite_at = created + self.hours(1, 30)
        window = max(2.0, min(10.0, lead * 0.2))
        deadline = min(invite_at + timedelta(days=window), start_at - DAY)
        deadline = deadline.replace(minute=0, second=0, microsecond=0)
        competitor = rng.choices(
            (CompetitorPrices.HIDDEN, CompetitorPrices.RANK_ONLY, CompetitorPrices.OPEN),
            weights=(60, 25, 15),
        )[0]
        services = sorted({s for s in ExtraService if rng.random() < 0.35})
        quotation_id = self.uid()
        quotation: Row = {
            "id": quotation_id, "owner_company_id": owner.company_id,
            "owner_user_id": owner.user_id, "destination": destination.name,
            "start_date": start, "end_date": start + timedelta(days=nights),
            "travellers": travellers, "rooms": rooms, "extra_services": services,
            "notes": "", "currency": currency, "offer_deadline": deadline,
            "competitor_prices": competitor, "status": QuotationStatus.DRAFT,
            "selected_offer_id": None, "markup_percent": None, "selling_price": None,
            "proposed_at": None, "decided_at": None,
            "idempotency_key": f"history-{self.tag}-{index}", "request_hash": None,
            "created_at": created, "updated_at": created,
        }  # fmt: skip
        self.rows.quotations.append(quotation)
        if rng.random() < 0.03:  # a draft never sent out
            if rng.random() < 0.5:
                self._cancel_quotation(quotation, owner.user_id, Role.CLIENT if owner.company_id
                                       is None else Role.AGENCY, created + self.hours(2, 96),
                                       "Plans changed.")  # fmt: skip
            return
        factor = (
            destination.base_rate
            * season_factor(destination.high_months, destination.high_uplift, start.month)
            * room_units
            * nights
            * (1.08 if lead < 21 else 0.95 if lead > 180 else 1.0)
        )
        offers = self._bidding(quotation, destination.name, invite_at, deadline, high,
                               room_count, window, factor, competitor)  # fmt: skip
        quotation["updated_at"] = deadline
        active = [offer for offer in offers if offer.versions[-1][2] == OfferStatus.ACTIVE]
        owner_role = Role.CLIENT if owner.company_id is None else Role.AGENCY
        if rng.random() < 0.04:  # the owner gives up while hotels bid
            at = deadline + self.hours(1, 20)
            self._cancel_quotation(
                quotation, owner.user_id, owner_role, at, "Found another option."
            )
            return
        if not active:
            if rng.random() < 0.3:
                admin = rng.choice(self.catalogue.admins)
                at = deadline + self.hours(2, 20)
                self._cancel_quotation(quotation, admin, Role.ADMIN, at, "No hotel could offer.")
            return
        self._proposals(quotation, owner, destination.markup, high, active, deadline, start_at,
                        lead)  # fmt: skip

    def _cancel_quotation(
        self, quotation: Row, actor: uuid.UUID, role: Role, at: datetime, reason: str
    ) -> None:
        quotation["status"] = QuotationStatus.CANCELLED
        quotation["decided_at"] = at
        quotation["updated_at"] = at
        self._audit(at, actor, role, "quotation.cancel", "Quotation", quotation["id"],
                    {"reason": reason})  # fmt: skip

    def _audit(
        self,
        at: datetime,
        actor: uuid.UUID | None,
        role: Role | None,
        action: str,
        kind: str,
        object_id: uuid.UUID,
        details: dict[str, Any],
    ) -> None:
        self.rows.audit.append({
            "id": self.uid(), "at": at, "actor_id": actor, "actor_role": role, "action": action,
            "object_type": kind, "object_id": object_id, "details": details,
        })  # fmt: skip

    # --- invitations and offers -------------------------------------------------------------
    def _bidding(
        self,
        quotation: Row,
        destination: str,
        invite_at: datetime,
        deadline: datetime,
        high: bool,
        room_count: int,
        window: float,
        factor: float,
        competitor: CompetitorPrices,
    ) -> list[_Offer]:
        rng = self.rng
        hotels = list(self.catalogue.hotels_by_destination[destination])
        wanted = min(len(hotels), rng.randint(3, 7))
        invited: list[HotelTraits] = []
        pool = hotels[:]
        for _ in range(wanted):
            pick = rng.choices(pool, weights=[h.popularity for h in pool])[0]
            pool.remove(pick)
            invited.append(pick)
        offers: list[_Offer] = []
        count = 0
        midpoint = invite_at + (deadline - invite_at) / 2
        waves = [(invited, invite_at)]
        for wave, (group, at) in enumerate(waves):
            for hotel in group:
                offer = self._invite(quotation, count, hotel, at, deadline, high, room_count,
                                     window, factor)  # fmt: skip
                count += 1
                if offer is not None:
                    offers.append(offer)
            early = sum(1 for offer in offers if offer.versions[0][1] < midpoint)
            if wave == 0 and early < 2 and pool and rng.random() < 0.6:
                extra = rng.sample(pool, min(len(pool), rng.randint(1, 2)))
                waves.append((extra, midpoint))
        self._revise(offers, deadline, competitor)
        for offer in offers:
            self._offer_rows(quotation, offer)
        return offers

    def _invite(
        self,
        quotation: Row,
        index: int,
        hotel: HotelTraits,
        at: datetime,
        deadline: datetime,
        high: bool,
        room_count: int,
        window: float,
        factor: float,
    ) -> _Offer | None:
        rng = self.rng
        at = at + timedelta(seconds=index)
        invitation: Row = {
            "id": self.uid(), "quotation_id": quotation["id"], "hotel_id": hotel.id,
            "hotel_company_id": hotel.company_id, "alias": alias_for(index),
            "status": InvitationStatus.INVITED, "decline_reason": None,
            "created_at": at, "updated_at": at,
        }  # fmt: skip
        self.rows.invitations.append(invitation)
        answer = hotel.responsiveness * (hotel.busy if high else 1.0)
        answer *= 0.25 if room_count > hotel.capacity else 1.0
        answer *= 0.85 if window < 3 else 1.0
        delay = timedelta(hours=hotel.delay_hours * rng.lognormvariate(0, 0.6))
        if rng.random() < answer:
            submitted = at + delay
            if submitted < deadline - timedelta(minutes=30):
                group = hotel.group_rate if room_count >= 10 else 1.0
                price = factor * hotel.level * group * rng.lognormvariate(0, PRICE_NOISE)
                invitation["status"] = InvitationStatus.RESPONDED
                invitation["updated_at"] = submitted
                net = self.money(price, quotation["currency"])
                return _Offer(hotel, [(net, submitted, OfferStatus.ACTIVE)])
            invitation["status"] = InvitationStatus.VIEWED  # too slow for the deadline
            invitation["updated_at"] = min(at + delay / 2, deadline - HOUR)
            return None
        if room_count > hotel.capacity or rng.random() < (0.65 if high else 0.45):
            if room_count > hotel.capacity:
                reason = DECLINE_REASONS[1]  # too many rooms
            elif high and rng.random() < 0.7:
                reason = DECLINE_REASONS[0]  # fully booked
            else:
                reason = rng.choice(DECLINE_REASONS)
            invitation["status"] = InvitationStatus.DECLINED
            invitation["decline_reason"] = reason
            invitation["updated_at"] = min(at + delay / 2, deadline - HOUR)
        elif rng.random() < 0.6:
            invitation["status"] = InvitationStatus.VIEWED
            invitation["updated_at"] = min(at + delay / 3, deadline - HOUR)
        if invitation["updated_at"] < at:
            invitation["updated_at"] = at
        return None

    def _revise(
        self, offers: list[_Offer], deadline: datetime, competitor: CompetitorPrices
    ) -> None:
        """Hotels lower their price now and then (more when they see competitors), and a few
        withdraw before the deadline."""
        rng = self.rng
        if not offers:
            return
        cheapest = min(offer.versions[0][0] for offer in offers)
        for offer in offers:
            chance = 0.12 + (0.2 if competitor != CompetitorPrices.HIDDEN else 0.0)
            if competitor != CompetitorPrices.HIDDEN and offer.versions[0][0] > cheapest:
                chance += 0.15
            for _ in range(2):
                price, at, _ = offer.versions[-1]
                if rng.random() >= chance:
                    break
                revised_at = at + (deadline - at) * rng.uniform(0.1, 0.8)
                lower = Decimal(str(rng.uniform(0.92, 0.98)))
                offer.versions.append((price * lower, revised_at, OfferStatus.ACTIVE))
                chance *= 0.35
            if rng.random() < 0.04:
                price, at, _ = offer.versions[-1]
                offer.versions.append((price, at + (deadline - at) * rng.uniform(0.2, 0.9),
                                       OfferStatus.WITHDRAWN))  # fmt: skip

    def _offer_rows(self, quotation: Row, offer: _Offer) -> None:
        currency = quotation["currency"]
        valid_until = quotation["start_date"] - DAY
        offer.versions = [
            (self.money(price, currency), at, status) for price, at, status in offer.versions
        ]
        price, last_at, status = offer.versions[-1]
        offer_id = self.uid()
        hotel = offer.hotel
        offer.row = {
            "id": offer_id, "quotation_id": quotation["id"], "hotel_id": hotel.id,
            "hotel_company_id": hotel.company_id, "submitted_by_id": hotel.user_id,
            "net_price": price, "currency": currency, "valid_until": valid_until, "notes": "",
            "status": status, "revision": len(offer.versions),
            "created_at": offer.versions[0][1], "updated_at": last_at,
        }  # fmt: skip
        self.rows.offers.append(offer.row)
        for number, (net, at, version_status) in enumerate(offer.versions, 1):
            self.rows.revisions.append({
                "id": self.uid(), "offer_id": offer_id, "revision": number, "net_price": net,
                "valid_until": valid_until, "notes": "", "status": version_status,
                "author_id": hotel.user_id, "created_at": at,
            })  # fmt: skip

    # --- proposals and decisions -------------------------------------------------------------
    def _winner(self, active: list[_Offer], exclude: set[uuid.UUID]) -> _Offer | None:
        rng = self.rng
        choices = [offer for offer in active if offer.row["id"] not in exclude]
        if not choices:
            return None
        if rng.random() < CHEAPEST_FIRST:
            return min(choices, key=lambda offer: offer.row["net_price"])

        def score(offer: _Offer) -> float:
            quality = 0.10 * (offer.hotel.stars - 4) + 0.12 * offer.hotel.reputation
            return math.log(float(offer.row["net_price"])) - quality + rng.gauss(0, 0.03)

        return min(choices, key=score)

    def _proposals(
        self,
        quotation: Row,
        owner: Owner,
        usual_markup: float,
        high: bool,
        active: list[_Offer],
        deadline: datetime,
        start_at: datetime,
        lead: int,
    ) -> None:
        rng = self.rng
        currency = quotation["currency"]
        room = start_at - deadline  # everything after bidding happens before the trip
        at = deadline + min(self.hours(2, 40), room * 0.15)
        owner_role = Role.CLIENT if owner.company_id is None else Role.AGENCY
        admin = rng.choice(self.catalogue.admins)
        offer = self._winner(active, set())
        assert offer is not None
        markup = usual_markup + owner.markup_shift + (2.0 if high else 0.0) + rng.gauss(0, 1.5)
        markup = max(8.0, min(30.0, round(markup * 2) / 2))
        tried: set[uuid.UUID] = set()
        for round_number in range(3):
            percent = Decimal(str(markup)).quantize(Decimal("0.01"))
            price = selling_price(offer.row["net_price"], percent, currency)
            quotation.update(status=QuotationStatus.PROPOSED, selected_offer_id=offer.row["id"],
                             markup_percent=percent, selling_price=price, proposed_at=at,
                             updated_at=at)  # fmt: skip
            self._audit(at, admin, Role.ADMIN, "quotation.propose", "Quotation", quotation["id"],
                        {"offer_id": str(offer.row["id"]), "markup_percent": str(percent),
                         "selling_price": str(price)})  # fmt: skip
            decided = at + min(self.hours(2, 96), room * 0.15)
            if rng.random() < 0.06:
                return  # never answered: it expires PROPOSED
            chance = owner.approval - 0.02 * (markup - 15) + 0.15 * round_number
            if rng.random() < max(0.05, min(0.95, chance)):
                quotation.update(status=QuotationStatus.APPROVED, decided_at=decided,
                                 updated_at=decided)  # fmt: skip
                self._audit(decided, owner.user_id, owner_role, "quotation.approve", "Quotation",
                            quotation["id"], {"reason": ""})  # fmt: skip
                if rng.random() < 0.93:
                    self._book(quotation, owner, offer, decided, start_at, lead)
                return
            quotation.update(status=QuotationStatus.CLOSED, selected_offer_id=None,
                             markup_percent=None, selling_price=None, proposed_at=None,
                             updated_at=decided)  # fmt: skip
            self._audit(decided, owner.user_id, owner_role, "quotation.reject", "Quotation",
                        quotation["id"], {"reason": "Too expensive."})  # fmt: skip
            tried.add(offer.row["id"])
            if rng.random() >= 0.55:
                break
            other = self._winner(active, tried) if rng.random() < 0.4 else None
            if other is not None:
                offer = other
            else:
                markup = max(5.0, markup - rng.choice((3.0, 4.0, 5.0, 6.0)))
            at = decided + min(self.hours(4, 48), room * 0.1)
        if rng.random() < 0.6:
            last: datetime = quotation["updated_at"]
            at = last + min(self.hours(1, 48), (start_at - last) * 0.5)
            self._cancel_quotation(quotation, owner.user_id, owner_role, at,
                                   "We will not travel after all.")  # fmt: skip
        # else: it stays CLOSED and expires when the trip starts

    # --- the booking and its money -----------------------------------------------------------
    def _book(
        self,
        quotation: Row,
        owner: Owner,
        offer: _Offer,
        decided: datetime,
        start_at: datetime,
        lead: int,
    ) -> None:
        rng = self.rng
        created = decided + min(self.hours(1, 48), (start_at - decided) * 0.2)
        start: date = quotation["start_date"]
        if created.date() >= start:
            return  # too late to book: the approval expires
        policies = self.policies
        policy = default_payment_policy(
            created.date(), start, deposit_percent=policies.deposit_percent,
            deposit_due_days=policies.deposit_due_days,
            balance_due_days_before_start=policies.balance_due_days_before_start,
        )  # fmt: skip
        admin = rng.choice(self.catalogue.admins)
        creator = admin if rng.random() < 0.7 else owner.user_id
        booking_id = self.uid()
        price: Decimal = quotation["selling_price"]
        currency = quotation["currency"]
        booking: Row = {
            "id": booking_id, "quotation_id": quotation["id"],
            "owner_company_id": owner.company_id, "owner_user_id": owner.user_id,
            "created_by_id": creator, "destination": quotation["destination"],
            "start_date": start, "end_date": quotation["end_date"],
            "travellers": quotation["travellers"], "rooms": quotation["rooms"],
            "currency": currency, "selling_price": price, "amount_paid": Decimal(0),
            "status": BookingStatus.PENDING_PAYMENT,
            "deposit_percent": policy.deposit_percent, "deposit_due_date": policy.deposit_due,
            "balance_due_date": policy.balance_due,
            "cancellation_tiers": [tier.as_json() for tier in policies.tiers],
            "confirmed_at": None, "completed_at": None, "cancelled_at": None,
            "cancellation_reason": None, "created_at": created, "updated_at": created,
        }  # fmt: skip
        quotation.update(status=QuotationStatus.BOOKED, updated_at=created)
        self.rows.bookings.append(booking)
        self.rows.booking_hotels.append({
            "id": self.uid(), "booking_id": booking_id, "hotel_id": offer.hotel.id,
            "hotel_company_id": offer.hotel.company_id, "offer_id": offer.row["id"],
            "net_price": offer.row["net_price"], "currency": currency, "rooms": quotation["rooms"],
        })  # fmt: skip
        _Money(self, booking, owner, policy, start_at, lead, admin).run()

    # --- payments helpers -------------------------------------------------------------------
    def payment_method(self, currency: str) -> PaymentMethod:
        methods: tuple[tuple[PaymentMethod, float], ...]
        if currency == "BRL":
            methods = (
                (PaymentMethod.PIX, 35),
                (PaymentMethod.BOLETO, 15),
                (PaymentMethod.CARD, 50),
            )
        elif currency == "COP":
            methods = ((PaymentMethod.PSE, 35), (PaymentMethod.CASH, 10), (PaymentMethod.CARD, 55))
        else:
            methods = ((PaymentMethod.CARD, 75), (PaymentMethod.PAYPAL, 25))
        return self.rng.choices([m for m, _ in methods], weights=[w for _, w in methods])[0]

    def reference(self, provider: Provider) -> str:
        bits = self.rng.getrandbits(96)
        return {
            Provider.STRIPE: f"pi_{bits:024x}",
            Provider.MERCADOPAGO: str(10**12 + bits % 10**15),
            Provider.PAYPAL: f"PAYID-{bits:024X}",
            Provider.PAYU: f"payu-{bits:024x}",
            Provider.OFFLINE: f"off_{bits:024x}",
        }[provider]


def providers_for(
    method: PaymentMethod, currency: str, country: str | None, amount: Decimal
) -> tuple[Provider, ...]:
    """The providers the default routing table tries for such a payment, in order."""
    for route in DEFAULT_ROUTES:
        if route.matches(method, currency, country, amount):
            return route.providers
    return (Provider.STRIPE,)


def _attempt(
    provider: Provider, outcome: AttemptOutcome, at: datetime, message: str | None = None
) -> dict[str, str]:
    """One entry of ``payments.attempts``, as ``resolvers.payments.start`` records it."""
    entry = {"provider": provider.value, "outcome": outcome.value, "at": at.isoformat()}
    if message is not None:
        entry["message"] = message
    return entry


def _digest(*parts: object) -> str:
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()


class _Money:
    """One booking's payments, cancellation, refunds and completion, in time order."""

    def __init__(
        self,
        sim: Simulation,
        booking: Row,
        owner: Owner,
        policy: PaymentPolicy,
        start_at: datetime,
        lead: int,
        admin: uuid.UUID,
    ) -> None:
        self.sim = sim
        self.rng = sim.rng
        self.booking = booking
        self.owner = owner
        self.policy = policy
        self.start_at = start_at
        self.lead = lead
        self.admin = admin
        self.currency: str = booking["currency"]
        self.payments: list[Row] = []  # the credited ones
        self.last_activity: datetime = booking["created_at"]

    def run(self) -> None:
        rng = self.rng
        booking = self.booking
        created: datetime = booking["created_at"]
        price: Decimal = booking["selling_price"]
        cancel_chance = (0.03 + 0.14 * min(self.lead, 300) / 300) * self.owner.cancel_factor
        cancel_at: datetime | None = None
        if rng.random() < cancel_chance:
            cancel_at = created + (self.start_at - HOUR * 12 - created) * rng.random()
            cancel_at = max(cancel_at, created + HOUR)
        needed = self.policy.amount_to_confirm(price, self.currency)
        deposit_due = datetime.combine(self.policy.deposit_due or self.policy.balance_due,
                                       time(18), tzinfo=UTC)  # fmt: skip
        first_at = created + (min(deposit_due, self.start_at - HOUR * 13) - created) * rng.uniform(
            0.05, 0.8
        )
        first_at = max(first_at, created + timedelta(minutes=10))
        upfront = self.policy.deposit_percent is None or rng.random() < 0.12
        first_amount = price if upfront else needed
        if rng.random() < 0.03:  # never pays: the operator cancels once the deposit is late
            late = max(deposit_due + self.sim.hours(24, 72), created + HOUR)
            if late < self.start_at - HOUR and (cancel_at is None or cancel_at > late):
                self._cancel(late, self.admin, Role.ADMIN, "Deposit not received.")
                return
        paid_at = self._pay(first_amount, first_at, cancel_at)
        if paid_at is None:
            if cancel_at is None:
                late = max(deposit_due + self.sim.hours(24, 72), first_at + HOUR * 4)
                cancel_at = min(late, self.start_at - HOUR)
                self._cancel(cancel_at, self.admin, Role.ADMIN, "Deposit not received.")
            else:
                self._cancel(cancel_at, self.owner.user_id, self._owner_role(), "Plans changed.")
            return
        if booking["amount_paid"] < price:
            balance_due = datetime.combine(self.policy.balance_due, time(12), tzinfo=UTC)
            if rng.random() < 0.03:  # the balance never comes
                late = balance_due + self.sim.hours(24, 96)
                if late < self.start_at - HOUR and (cancel_at is None or cancel_at > late):
                    self._cancel(late, self.admin, Role.ADMIN, "Balance not received.")
                    return
            at = balance_due - timedelta(days=rng.uniform(0, 10))
            if rng.random() < 0.05:
                at = balance_due + timedelta(days=rng.uniform(0, 5))
            at = max(at, paid_at + HOUR)
            at = min(at, self.start_at - HOUR * 30)
            if at <= paid_at:
                at = paid_at + (self.start_at - paid_at) * 0.3
            done = self._pay(price - booking["amount_paid"], at, cancel_at)
            if done is None and cancel_at is None:
                cancel_at = min(at + self.sim.hours(24, 72), self.start_at - HOUR)
                self._cancel(cancel_at, self.admin, Role.ADMIN, "Balance not received.")
                return
        if cancel_at is not None:
            self._cancel(cancel_at, self.owner.user_id, self._owner_role(), "Plans changed.")
            return
        end_at = datetime.combine(booking["end_date"], time(10), tzinfo=UTC)
        completed = end_at + self.sim.hours(6, 96)
        booking.update(status=BookingStatus.COMPLETED, completed_at=completed, updated_at=completed)
        if rng.random() < 0.02 and completed + timedelta(days=11) < self.sim.anchor:
            self._goodwill(completed + self.sim.hours(24, 240))

    def _owner_role(self) -> Role:
        return Role.CLIENT if self.owner.company_id is None else Role.AGENCY

    def _pay(self, amount: Decimal, at: datetime, cancel_at: datetime | None) -> datetime | None:
        """Up to three tries; the time the money was credited, or None."""
        rng = self.rng
        method = self.sim.payment_method(self.currency)
        for _ in range(3):
            if cancel_at is not None and at >= cancel_at:
                return None
            if at >= self.start_at - HOUR * 12:
                return None
            credited = self._payment(amount, method, at)
            if credited is not None:
                return credited
            at = at + self.sim.hours(0.3, 36)
            if at >= self.start_at - HOUR * 12:
                return None
            if rng.random() < 0.5:
                method = self.sim.payment_method(self.currency)
        return None

    def _payment(self, amount: Decimal, method: PaymentMethod, at: datetime) -> datetime | None:
        sim = self.sim
        rng = self.rng
        booking = self.booking
        plan = providers_for(method, self.currency, self.owner.country, amount)
        attempts: list[dict[str, str]] = []
        provider = plan[0]
        if len(plan) > 1 and rng.random() < 0.04:
            attempts.append(_attempt(provider, AttemptOutcome.UNAVAILABLE, at, "timed out"))
            provider = plan[1]
        fail = {PaymentMethod.CARD: 0.08, PaymentMethod.PIX: 0.05, PaymentMethod.BOLETO: 0.15,
                PaymentMethod.PSE: 0.07, PaymentMethod.CASH: 0.18,
                PaymentMethod.PAYPAL: 0.06}[method]  # fmt: skip
        payment_id = sim.uid()
        settle = (
            min(sim.hours(6, 60), (self.start_at - at) * 0.5)
            if method in (PaymentMethod.BOLETO, PaymentMethod.CASH)
            else timedelta(minutes=rng.uniform(0.5, 30))
        )
        row: Row = {
            "id": payment_id, "booking_id": booking["id"],
            "payer_user_id": booking["owner_user_id"],
            "idempotency_key": f"history-{payment_id.hex}",
            "request_hash": _digest(payment_id, amount, method), "method": method,
            "amount": amount, "currency": self.currency,
            "installments": rng.choice((1, 1, 2, 3, 6)) if method == PaymentMethod.CARD
            and self.currency == "BRL" else None,
            "payer_country": self.owner.country, "return_url": "https://app.spirit-tours.example/bookings",
            "status": PaymentStatus.SUCCEEDED, "provider": provider,
            "provider_reference": sim.reference(provider), "next_action": self._action(method),
            "card_last4": f"{rng.randint(0, 9999):04d}" if method == PaymentMethod.CARD else None,
            "failure_reason": None, "refunded_amount": Decimal(0), "attempts": attempts,
            "claimed_at": None, "credited_at": None, "credited_amount": Decimal(0),
            "hold_until": at + sim.policies.hold, "created_at": at, "updated_at": at + settle,
        }  # fmt: skip
        self.sim.rows.payments.append(row)
        if rng.random() < fail:
            if method in (PaymentMethod.BOLETO, PaymentMethod.CASH, PaymentMethod.PIX):
                row.update(status=PaymentStatus.EXPIRED, updated_at=at + sim.policies.hold)
                attempts.append(_attempt(provider, AttemptOutcome.ACCEPTED, at))
            elif method == PaymentMethod.PAYPAL:
                row.update(status=PaymentStatus.CANCELLED, failure_reason="PAYPAL: payer_cancelled")
                attempts.append(_attempt(provider, AttemptOutcome.ACCEPTED, at))
            elif rng.random() < 0.3:  # refused at once: no provider took it
                attempts.append(
                    _attempt(provider, AttemptOutcome.REJECTED, at, "Your card was declined.")
                )
                row.update(status=PaymentStatus.FAILED, provider=None, provider_reference=None,
                           next_action={}, failure_reason="Your card was declined.",
                           updated_at=at)  # fmt: skip
            else:
                reason = rng.choice(FAILURES[method])
                attempts.append(_attempt(provider, AttemptOutcome.ACCEPTED, at))
                row.update(
                    status=PaymentStatus.FAILED, failure_reason=f"{provider.value}: {reason}"
                )
            self.last_activity = max(self.last_activity, row["updated_at"])
            return None
        attempts.append(_attempt(provider, AttemptOutcome.ACCEPTED, at))
        credited: datetime = at + settle
        row.update(credited_at=credited, credited_amount=amount, updated_at=credited)
        self.payments.append(row)
        self.last_activity = max(self.last_activity, credited)
        booking["amount_paid"] += amount
        booking["updated_at"] = credited
        needed = self.policy.amount_to_confirm(booking["selling_price"], self.currency)
        if booking["status"] == BookingStatus.PENDING_PAYMENT and booking["amount_paid"] >= needed:
            booking.update(status=BookingStatus.CONFIRMED, confirmed_at=credited)
        return credited

    def _action(self, method: PaymentMethod) -> dict[str, str | None]:
        kind = NEXT_ACTION[method]
        token = f"{self.rng.getrandbits(64):016x}"
        return {
            "kind": kind,
            "client_secret": f"secret_{token}" if kind == "CLIENT_SECRET" else None,
            "redirect_url": f"https://pay.example/{token}" if kind == "REDIRECT" else None,
            "qr_code": f"00020126pix{token}" if kind == "QR_CODE" else None,
            "qr_code_image": None,
            "voucher_url": f"https://voucher.example/{token}" if kind == "VOUCHER" else None,
            "expires_at": None,
        }

    def _cancel(self, at: datetime, actor: uuid.UUID, role: Role, reason: str) -> None:
        sim = self.sim
        booking = self.booking
        # After whatever money moved (a voucher paid late), before the trip.
        at = max(at, self.last_activity + HOUR)
        if at >= self.start_at - HOUR:
            at = self.last_activity + (self.start_at - self.last_activity) / 2
        booking.update(status=BookingStatus.CANCELLED, cancelled_at=at, cancellation_reason=reason,
                       updated_at=max(at, booking["updated_at"]))  # fmt: skip
        due = refund_due(self.sim.policies.tiers, paid=booking["amount_paid"],
                         currency=self.currency, start=booking["start_date"],
                         cancelled_on=at.date())  # fmt: skip
        sim._audit(at, actor, role, "booking.cancel", "Booking", booking["id"],
                   {"reason": reason, "refund": str(due.amount),
                    "refund_percent": str(due.refund_percent),
                    "days_before_start": due.days_before_start})  # fmt: skip
        if due.amount <= 0:
            return
        refund_id = sim.uid()
        done_at = at + sim.hours(1, 72)
        sim.rows.booking_refunds.append({
            "id": refund_id, "booking_id": booking["id"], "amount": due.amount,
            "currency": self.currency, "paid_amount": booking["amount_paid"],
            "refund_percent": due.refund_percent, "days_before_start": due.days_before_start,
            "reason": reason, "status": RefundStatus.REFUNDED, "requested_by_id": actor,
            "payment_id": None, "created_at": at, "updated_at": done_at,
        })  # fmt: skip
        left = due.amount
        for payment in sorted(self.payments, key=lambda p: p["created_at"], reverse=True):
            if left <= 0:
                break
            room = min(payment["amount"] - payment["refunded_amount"], payment["credited_amount"])
            part = min(left, room)
            if part <= 0:
                continue
            self._refund(payment, part, done_at, reason or "Booking cancelled", refund_id, None,
                         f"booking-refund:{refund_id}:{payment['id']}")  # fmt: skip
            left -= part

    def _goodwill(self, at: datetime) -> None:
        payment = self.payments[-1]
        part = self.sim.money(payment["amount"] * Decimal(str(self.rng.uniform(0.05, 0.15))),
                              self.currency)  # fmt: skip
        part = min(part, payment["credited_amount"])
        if part <= 0:
            return
        refund_id = self.sim.uid()
        self._refund(payment, part, at, "Goodwill: a hotel service fell short.", None, self.admin,
                     f"history-refund:{refund_id}", refund_id)  # fmt: skip
        self.sim._audit(at, self.admin, Role.ADMIN, "payment.refund", "Payment", payment["id"],
                        {"amount": str(part), "reason": "Goodwill"})  # fmt: skip

    def _refund(
        self,
        payment: Row,
        amount: Decimal,
        at: datetime,
        reason: str,
        booking_refund_id: uuid.UUID | None,
        requested_by: uuid.UUID | None,
        key: str,
        refund_id: uuid.UUID | None = None,
    ) -> None:
        """A completed refund, counted as ``resolvers.payments.refunds._count_refunds`` does."""
        refund_id = refund_id or self.sim.uid()
        self.sim.rows.payment_refunds.append({
            "id": refund_id, "payment_id": payment["id"], "booking_refund_id": booking_refund_id,
            "requested_by_id": requested_by, "idempotency_key": key,
            "request_hash": _digest(payment["id"], amount, reason), "amount": amount,
            "currency": self.currency, "reason": reason, "status": RefundStatus.REFUNDED,
            "provider_reference": f"re_{self.rng.getrandbits(96):024x}", "failure_reason": None,
            "created_at": at - self.sim.hours(0.05, 0.5), "updated_at": at,
        })  # fmt: skip
        payment["refunded_amount"] += amount
        full = payment["refunded_amount"] >= payment["amount"]
        payment["status"] = PaymentStatus.REFUNDED if full else PaymentStatus.PARTIALLY_REFUNDED
        payment["credited_amount"] -= amount
        payment["updated_at"] = at
        self.booking["amount_paid"] -= amount
        self.booking["updated_at"] = max(self.booking["updated_at"], at)
