"""Hotel ranking: P(the hotel answers with an offer | invited) x P(its offer wins | offered).

Trained on every invitation whose outcome is known (an offer came, or the deadline passed)
and on every offer of a quotation the operator proposed; each row's hotel record is the one
it had when the quotation was asked for (``features.RecordSweep``).
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from spirit_tours.ml.estimators import Matrix, Probability, auc, fit_probability
from spirit_tours.ml.features import (
    CATEGORICAL,
    HotelRecord,
    RecordSweep,
    RequestEncoder,
    by_created,
    competition,
)
from spirit_tours.ml.predictions import CandidateHotel, HotelScore
from spirit_tours.ml.records import History, OfferRecord, RequestFacts


@dataclass
class Candidate:
    """One invited hotel of one quotation, its features and what happened."""

    quotation_id: uuid.UUID
    hotel_id: uuid.UUID
    features: list[float]
    answered: bool | None  # None: not known yet (no offer, deadline not passed)
    won: bool | None  # None: the quotation has no proposal


@dataclass
class RankingData:
    candidates: list[Candidate] = field(default_factory=list)

    def answer_set(self) -> tuple[Matrix, Matrix]:
        rows = [c for c in self.candidates if c.answered is not None]
        return _matrix(rows), np.array([float(bool(c.answered)) for c in rows])

    def win_set(self) -> tuple[Matrix, Matrix]:
        rows = [c for c in self.candidates if c.won is not None]
        return _matrix(rows), np.array([float(bool(c.won)) for c in rows])


def _matrix(rows: list[Candidate]) -> Matrix:
    if not rows:
        return np.zeros((0, 0))
    return np.array([c.features for c in rows], dtype=np.float64)


def candidate_rows(
    encoder: RequestEncoder,
    request: RequestFacts,
    hotels: list[CandidateHotel],
    records: dict[uuid.UUID, HotelRecord],
) -> list[list[float]]:
    """The feature rows of ``hotels`` as candidates for ``request``."""
    base = encoder.row(request)
    known = [records.get(h.hotel_id) or HotelRecord() for h in hotels]
    rivals = competition(known, request)
    return [
        base + record.row(hotel.stars, request, against)
        for hotel, record, against in zip(hotels, known, rivals, strict=True)
    ]


def ranking_data(
    history: History,
    encoder: RequestEncoder,
    now: datetime,
    *,
    frozen: dict[uuid.UUID, HotelRecord] | None = None,
    only: set[uuid.UUID] | None = None,
) -> tuple[RankingData, RecordSweep]:
    """One candidate per invitation of the quotations (``only`` those, if given), in time
    order; the hotel records as they stood when each quotation was asked for, or ``frozen``
    (the evaluation's test period: what a model trained at the cutoff knows)."""
    stars = {h.id: h.stars for h in history.hotels}
    invited: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    for invitation in history.invitations:
        invited[invitation.quotation_id].append(invitation.hotel_id)
    offers: dict[uuid.UUID, dict[uuid.UUID, OfferRecord]] = defaultdict(dict)
    for offer in history.offers:
        offers[offer.quotation_id][offer.hotel_id] = offer
    sweep = RecordSweep(history)
    data = RankingData()
    for quotation in by_created(history.quotations):
        records = sweep.at(quotation.request.created_at)
        if only is not None and quotation.id not in only:
            continue
        hotel_ids = sorted(invited.get(quotation.id, []))
        if not hotel_ids:
            continue
        hotels = [CandidateHotel(h, stars.get(h)) for h in hotel_ids]
        known = frozen if frozen is not None else records
        rows = candidate_rows(encoder, quotation.request, hotels, known)
        closed = quotation.offer_deadline <= now
        for hotel_id, row in zip(hotel_ids, rows, strict=True):
            made = offers[quotation.id].get(hotel_id)
            answered = True if made is not None else (False if closed else None)
            won = None
            decided_at = quotation.proposed_at or quotation.offer_deadline
            if quotation.selected_offer_id is not None and made is not None and decided_at <= now:
                won = made.id == quotation.selected_offer_id
            data.candidates.append(Candidate(quotation.id, hotel_id, row, answered, won))
    return data, sweep


@dataclass
class HotelRanker:
    """The trained ranking: two classifiers and the hotels' records at training time."""

    encoder: RequestEncoder
    answer: Probability
    win: Probability
    records: dict[uuid.UUID, HotelRecord]

    @classmethod
    def fit(
        cls, data: RankingData, encoder: RequestEncoder, records: dict[uuid.UUID, HotelRecord]
    ) -> HotelRanker:
        categorical = list(CATEGORICAL)
        answer_x, answer_y = data.answer_set()
        win_x, win_y = data.win_set()
        return cls(
            encoder,
            fit_probability(answer_x, answer_y, categorical),
            fit_probability(win_x, win_y, categorical),
            dict(records),
        )

    def scores(self, features: Matrix) -> tuple[Matrix, Matrix]:
        return self.answer.probability(features), self.win.probability(features)

    def recommend(
        self,
        request: RequestFacts,
        hotels: list[CandidateHotel],
        invited: frozenset[uuid.UUID] = frozenset(),
    ) -> list[HotelScore]:
        """Every hotel scored for ``request``, best first (ties by id, so stable). A hotel
        competes with the hotels already ``invited`` (as in training, where its rivals were
        the invited ones), or, before any invitation, with every hotel of the destination."""
        if not hotels:
            return []
        if not any(hotel.hotel_id in invited for hotel in hotels):
            rows = np.array(candidate_rows(self.encoder, request, hotels, self.records))
        else:
            found = []
            for hotel in hotels:
                group = [h for h in hotels if h.hotel_id in invited or h is hotel]
                position = group.index(hotel)
                found.append(candidate_rows(self.encoder, request, group, self.records)[position])
            rows = np.array(found)
        answer, win = self.scores(rows)
        scored = [
            HotelScore(hotel.hotel_id, float(a), float(w))
            for hotel, a, w in zip(hotels, answer, win, strict=True)
        ]
        return sorted(scored, key=lambda s: (-s.score, str(s.hotel_id)))


def evaluate_ranking(
    model: HotelRanker, test: RankingData, train_wins: Counter[uuid.UUID]
) -> dict[str, float | int | None]:
    """Held-out metrics of the model beside the baseline "the hotel that won most often in
    the training period first", over the test quotations with a proposal: the winner among
    the top 1 and top 3 of the invited hotels, and the AUC of the score for "this hotel won"
    over every invited hotel (answered or not)."""
    groups: dict[uuid.UUID, list[Candidate]] = defaultdict(list)
    for candidate in test.candidates:
        groups[candidate.quotation_id].append(candidate)
    decided = {q: rows for q, rows in groups.items() if any(c.won for c in rows)}
    rows = [c for q in decided for c in decided[q]]
    if not rows:
        return {"test_quotations": 0}
    answer, win = model.scores(_matrix(rows))
    model_score = dict(zip((id(c) for c in rows), answer * win, strict=True))
    labels = np.array([float(bool(c.won)) for c in rows])
    hits = {"model": [0, 0], "baseline": [0, 0]}
    for group in decided.values():
        by_model = sorted(group, key=lambda c: (-model_score[id(c)], str(c.hotel_id)))
        by_wins = sorted(group, key=lambda c: (-train_wins[c.hotel_id], str(c.hotel_id)))
        for name, order in (("model", by_model), ("baseline", by_wins)):
            hits[name][0] += int(bool(order[0].won))
            hits[name][1] += int(any(c.won for c in order[:3]))
    count = len(decided)
    return {
        "test_quotations": count,
        "invited_per_quotation": round(len(rows) / count, 2),
        "precision_at_1": hits["model"][0] / count,
        "precision_at_1_baseline": hits["baseline"][0] / count,
        "precision_at_3": hits["model"][1] / count,
        "precision_at_3_baseline": hits["baseline"][1] / count,
        "auc": auc(labels, np.array([model_score[id(c)] for c in rows])),
        "auc_baseline": auc(labels, np.array([float(train_wins[c.hotel_id]) for c in rows])),
    }


def wins_in(data: RankingData) -> Counter[uuid.UUID]:
    """How often each hotel won among these candidates (the baseline's knowledge)."""
    return Counter(c.hotel_id for c in data.candidates if c.won)
