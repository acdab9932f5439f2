"""Features: the request's, and each hotel's track record as it stood before a given instant.

No leakage: a hotel's record at time t counts only outcomes known before t — an invitation
counts as answered when the offer came, as unanswered once the deadline passed; an offer as
won or lost once the operator proposed; its price against its competitors once the deadline
closed the bidding. The same sweep gives the record at training time for serving.
"""

from __future__ import annotations

import math
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from spirit_tours.ml.records import History, OfferRecord, QuotationRecord, RequestFacts, place

MAX_CATEGORIES = 250
"""HistGradientBoosting takes at most 255 categories per feature; rarer ones become unknown."""

REQUEST_FEATURES = ["destination", "currency", "month", "nights", "travellers", "rooms",
                    "lead_days", "single_share", "triple_share", "suite_share",
                    "bidding_days"]  # fmt: skip
CATEGORICAL = [0, 1]
"""Positions of the categorical request features (destination, currency)."""

HOTEL_FEATURES = ["stars", "invitations", "answer_rate", "answer_rate_like_this",
                  "answer_rate_this_season", "answer_log_hours", "decided_offers",
                  "win_rate", "price_level", "priced_offers", "price_vs_candidates",
                  "cheaper_rivals", "candidates"]  # fmt: skip

ANSWER_PRIOR = 0.5
WIN_PRIOR = 0.25
LARGE_GROUP_ROOMS = 10
"""From this many rooms a request is a group: some hotels answer groups less often."""


def _size_class(request: RequestFacts) -> int:
    return int(request.rooms >= LARGE_GROUP_ROOMS)


def _season(request: RequestFacts) -> int:
    """The trip's month, 0-11."""
    return request.start_date.month - 1


@dataclass(frozen=True)
class Vocabulary:
    """Category codes learned at training: the most frequent values, the others unknown."""

    codes: dict[str, int]

    @classmethod
    def learn(cls, values: Iterable[str]) -> Vocabulary:
        common = Counter(values).most_common(MAX_CATEGORIES)
        return cls({value: code for code, (value, _) in enumerate(common)})

    def code(self, value: str) -> float:
        """The value's code, NaN (missing: its own branch in the trees) when unknown."""
        found = self.codes.get(value)
        return math.nan if found is None else float(found)


@dataclass(frozen=True)
class RequestEncoder:
    destinations: Vocabulary
    currencies: Vocabulary

    @classmethod
    def learn(cls, requests: Iterable[RequestFacts]) -> RequestEncoder:
        listed = list(requests)
        return cls(
            Vocabulary.learn(place(r.destination) for r in listed),
            Vocabulary.learn(r.currency for r in listed),
        )

    def row(self, request: RequestFacts) -> list[float]:
        return [
            self.destinations.code(place(request.destination)),
            self.currencies.code(request.currency),
            float(request.start_date.month),
            float(request.nights),
            float(request.travellers),
            float(request.rooms),
            float(request.lead_days),
            *request.room_mix,
            request.bidding_days,
        ]


@dataclass
class HotelRecord:
    """A hotel's track record; the rates are smoothed towards a prior, so a hotel with no
    history reads as an average one rather than as a perfect or a hopeless one."""

    invitations: int = 0
    answered: int = 0
    decided: int = 0
    won: int = 0
    price_sum: float = 0.0
    priced: int = 0
    delay_sum: float = 0.0  # log hours from invitation to offer, summed over its answers
    # invitations and answers by request size (small, group) and by the trip's month
    by_size: list[list[int]] = field(default_factory=lambda: [[0, 0], [0, 0]])
    by_month: list[list[int]] = field(default_factory=lambda: [[0, 0] for _ in range(12)])

    def price_level(self) -> float:
        """Mean of log(its price / the mean of its competitors' prices): below 0 is cheaper."""
        return self.price_sum / self.priced if self.priced else 0.0

    def answer_rate(self) -> float:
        return (self.answered + 2 * ANSWER_PRIOR) / (self.invitations + 2)

    def answer_rate_for(self, request: RequestFacts) -> tuple[float, float]:
        """Its answer rate for requests of this size, and for trips of this month and the
        months beside it, each smoothed towards its overall rate."""
        overall = self.answer_rate()
        invited, answered = self.by_size[_size_class(request)]
        by_size = (answered + 4 * overall) / (invited + 4)
        month = _season(request)
        near = [self.by_month[(month + step) % 12] for step in (-1, 0, 1)]
        invited, answered = sum(n[0] for n in near), sum(n[1] for n in near)
        return by_size, (answered + 4 * overall) / (invited + 4)

    def row(
        self, stars: int | None, request: RequestFacts, competition: list[float]
    ) -> list[float]:
        return [
            math.nan if stars is None else float(stars),
            float(self.invitations),
            self.answer_rate(),
            *self.answer_rate_for(request),
            self.delay_sum / self.answered if self.answered else math.nan,
            float(self.decided),
            (self.won + 2 * WIN_PRIOR) / (self.decided + 2),
            self.price_level(),
            float(self.priced),
            *competition,
        ]


def competition(records: list[HotelRecord], request: RequestFacts) -> list[list[float]]:
    """Each candidate against the others: its price level minus theirs on average, how many
    cheaper rivals are expected to answer (the sum of their answer rates for such a request),
    how many there are."""
    levels = [record.price_level() for record in records]
    gaps = price_vs_candidates(levels)
    rates = [record.answer_rate_for(request)[0] for record in records]
    return [
        [
            gap,
            sum(rates[j] for j, other in enumerate(records) if j != i and levels[j] < levels[i]),
            float(len(records)),
        ]
        for i, gap in enumerate(gaps)
    ]


def price_vs_candidates(levels: list[float]) -> list[float]:
    """Each candidate's price level against the mean of the others (0 when alone)."""
    if len(levels) < 2:
        return [0.0 for _ in levels]
    total = sum(levels)
    return [level - (total - level) / (len(levels) - 1) for level in levels]


@dataclass(order=True)
class _Event:
    at: datetime
    kind: int  # 0 answer, 1 decided, 2 priced
    hotel_id: uuid.UUID = field(compare=False)
    value: float = field(compare=False)
    delay: float = field(compare=False, default=0.0)
    request: RequestFacts | None = field(compare=False, default=None)


def _events(history: History) -> list[_Event]:
    offers_by_quotation: dict[uuid.UUID, list[OfferRecord]] = defaultdict(list)
    for offer in history.offers:
        offers_by_quotation[offer.quotation_id].append(offer)
    quotations = {q.id: q for q in history.quotations}
    events: list[_Event] = []
    for invitation in history.invitations:
        quotation = quotations.get(invitation.quotation_id)
        if quotation is None:
            continue
        answer = next(
            (o for o in offers_by_quotation[quotation.id] if o.hotel_id == invitation.hotel_id),
            None,
        )
        if answer is not None:
            hours = (answer.submitted_at - invitation.invited_at).total_seconds() / 3600
            delay = math.log(max(hours, 0.0) + 1.0)
            events.append(
                _Event(answer.submitted_at, 0, invitation.hotel_id, 1.0, delay, quotation.request)
            )
        else:
            events.append(
                _Event(
                    quotation.offer_deadline, 0, invitation.hotel_id, 0.0, 0.0, quotation.request
                )
            )
    for quotation in history.quotations:
        offers = offers_by_quotation.get(quotation.id, [])
        if quotation.selected_offer_id is not None:
            decided_at = quotation.proposed_at or quotation.offer_deadline
            for offer in offers:
                won = 1.0 if offer.id == quotation.selected_offer_id else 0.0
                events.append(_Event(decided_at, 1, offer.hotel_id, won))
        if len(offers) >= 2:
            logs = [math.log(float(o.net_price)) for o in offers]
            for offer, level in zip(offers, price_vs_candidates(logs), strict=True):
                events.append(_Event(quotation.offer_deadline, 2, offer.hotel_id, level))
    events.sort()
    return events


def _apply(record: HotelRecord, event: _Event) -> None:
    if event.kind == 0:
        record.invitations += 1
        record.answered += int(event.value)
        record.delay_sum += event.delay
        if event.request is not None:
            for counts in (record.by_size[_size_class(event.request)],
                           record.by_month[_season(event.request)]):  # fmt: skip
                counts[0] += 1
                counts[1] += int(event.value)
    elif event.kind == 1:
        record.decided += 1
        record.won += int(event.value)
    else:
        record.price_sum += event.value
        record.priced += 1


class RecordSweep:
    """The hotels' records moving forward in time: ``at(t)`` applies every outcome known
    before ``t``; asked in increasing order of ``t``, each outcome is applied once."""

    def __init__(self, history: History) -> None:
        self._events = _events(history)
        self._next = 0
        self.records: dict[uuid.UUID, HotelRecord] = defaultdict(HotelRecord)

    def at(self, instant: datetime) -> dict[uuid.UUID, HotelRecord]:
        while self._next < len(self._events) and self._events[self._next].at < instant:
            event = self._events[self._next]
            _apply(self.records[event.hotel_id], event)
            self._next += 1
        return self.records


def by_created(quotations: Iterable[QuotationRecord]) -> list[QuotationRecord]:
    return sorted(quotations, key=lambda q: (q.request.created_at, q.id))
