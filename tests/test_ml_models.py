"""The models end to end: trained on a generated history and on a small known market, stored
with version, date and evaluation, picked up by a serving process, sane answers over GraphQL."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from redis.asyncio import Redis
from saq.job import Status
from sqlalchemy import select

from spirit_tours.config import Settings
from spirit_tours.core.clock import now_utc
from spirit_tours.core.enums import Role
from spirit_tours.dev.history import seed_history
from spirit_tours.jobs.names import MAINTENANCE_QUEUE
from spirit_tours.jobs.queue import JobQueue
from spirit_tours.ml.features import RecordSweep, by_created
from spirit_tours.ml.predictions import HOTEL_RANKING, NET_PRICE
from spirit_tours.ml.records import load_history
from spirit_tours.ml.serving import ModelCache
from spirit_tours.ml.store import save_model
from spirit_tours.ml.training import train_models
from spirit_tours.persistence.database import SessionFactory
from spirit_tours.persistence.events import AuditEntry
from spirit_tours.persistence.ml import MlModel
from tests.cli import clean_env, run_cli
from tests.conftest import PASSWORD, TEST_ENCRYPTION_KEYS, LiveServer, UserFactory, serving
from tests.graphql_client import GraphQLClient
from tests.ml_market import HOTELS, make_market
from tests.quotation_flows import CREATE, quotation_input

ADVICE = """
query($id: ID!) {
  quotation(id: $id) {
    hotelRecommendations(first: 5) {
      modelVersion trainedAt unavailableReason
      hotels { rank offerProbability winProbability score invited hotel { name } }
    }
    netPriceEstimate {
      p10 { amount currency } p50 { amount currency } p90 { amount currency }
      modelVersion trainedAt unavailableReason
    }
  }
}"""
MODELS = """
query($kind: String) {
  mlModels(kind: $kind) { kind version trainedAt trainingRows evaluationSplit
                          evaluation { name value } }
}"""


@pytest.fixture(scope="module")
async def fresh_server(settings: Settings) -> AsyncIterator[LiveServer]:
    """A server that checks for a newer model at every use (the default waits 30 s)."""
    async with serving(settings.model_copy(update={"ml_reload_seconds": 0})) as server:
        yield server


@pytest.fixture
async def fresh(fresh_server: LiveServer) -> AsyncIterator[GraphQLClient]:
    async with httpx.AsyncClient(base_url=fresh_server.url, timeout=30) as client:
        yield GraphQLClient(client)


async def test_training_stores_each_model_with_version_date_and_held_out_evaluation(
    sessions: SessionFactory, settings: Settings
) -> None:
    async with sessions() as session, session.begin():
        await seed_history(session, settings, 150, seed=3, today=date(2026, 11, 30))
    first = await train_models(sessions, min_currency_rows=5)
    assert sorted(info.kind for info in first) == [HOTEL_RANKING, NET_PRICE]
    ranking = next(info for info in first if info.kind == HOTEL_RANKING)
    price = next(info for info in first if info.kind == NET_PRICE)
    assert ranking.version == price.version == 1
    assert ranking.training_rows > 150  # one row per invitation
    assert 0 < price.training_rows <= 150  # one per winning price
    # the held-out evaluation: the model's figures beside the baselines', same split
    assert ranking.evaluation["test_quotations"] > 0
    for name in ("precision_at_1", "precision_at_3", "auc"):
        assert name in ranking.evaluation
        assert f"{name}_baseline" in ranking.evaluation
    assert price.evaluation["mae"]
    for figures in price.evaluation["mae"].values():
        assert {"model", "baseline", "rows"} <= set(figures)

    cache = ModelCache(sessions, reload_seconds=0)
    served = await cache.get(HOTEL_RANKING)
    assert served is not None
    assert served.info.version == 1

    second = await train_models(sessions, min_currency_rows=5)
    assert [info.version for info in second] == [2, 2]
    served = await cache.get(HOTEL_RANKING)
    assert served is not None
    assert served.info.version == 2  # the serving process picked the new version up
    async with sessions() as session:
        stored = (await session.execute(select(MlModel.kind, MlModel.version))).all()
    assert sorted(stored) == [
        (HOTEL_RANKING, 1),
        (HOTEL_RANKING, 2),
        (NET_PRICE, 1),
        (NET_PRICE, 2),
    ]


async def test_a_process_waits_its_reload_interval_before_looking_for_a_new_version(
    sessions: SessionFactory, settings: Settings, make_user: UserFactory
) -> None:
    await make_market(sessions, make_user, quotations=30)
    cache = ModelCache(sessions, reload_seconds=3600)
    assert await cache.get(NET_PRICE) is None  # nothing trained: an answer, not an error
    await train_models(sessions, min_currency_rows=5)
    assert await cache.get(NET_PRICE) is None  # checked a moment ago: not yet
    assert await ModelCache(sessions, reload_seconds=3600).get(NET_PRICE) is not None


async def test_without_a_model_the_admin_gets_a_reason_not_an_error(
    fresh: GraphQLClient, make_user: UserFactory
) -> None:
    await make_user("admin@op.example", Role.ADMIN)
    token = await fresh.token_for("admin@op.example", PASSWORD)
    await make_user("maria@andes.example", Role.AGENCY, company="Andes Travel")
    agency = await fresh.token_for("maria@andes.example", PASSWORD)
    quotation = (await fresh.execute(CREATE, {"input": quotation_input()}, token=agency)).ok()
    quotation_id = quotation["createQuotation"]["quotation"]["id"]
    advice = (await fresh.execute(ADVICE, {"id": quotation_id}, token=token)).ok()["quotation"]
    assert advice["hotelRecommendations"]["hotels"] == []
    assert advice["hotelRecommendations"]["modelVersion"] is None
    assert "No hotel ranking model" in advice["hotelRecommendations"]["unavailableReason"]
    estimate = advice["netPriceEstimate"]
    assert estimate["p50"] is None
    assert "No net price model" in estimate["unavailableReason"]
    assert (await fresh.execute(MODELS, token=token)).ok() == {"mlModels": []}


async def test_the_cheap_reliable_hotel_comes_first_and_the_range_is_ordered(
    fresh: GraphQLClient, sessions: SessionFactory, make_user: UserFactory
) -> None:
    market = await make_market(sessions, make_user)
    await make_user("admin@op.example", Role.ADMIN)
    admin = await fresh.token_for("admin@op.example", PASSWORD)
    await train_models(sessions, min_currency_rows=5)  # what trainModels' job runs
    agency = await fresh.token_for(market.agency_email, PASSWORD)
    start = date.today() + timedelta(days=60)
    request = quotation_input(startDate=start.isoformat(),
                              endDate=(start + timedelta(days=4)).isoformat(),
                              rooms=[{"type": "DOUBLE", "count": 5}], travellers=10)  # fmt: skip
    created = await fresh.execute(CREATE, {"input": request}, token=agency)
    quotation_id = created.ok()["createQuotation"]["quotation"]["id"]
    advice = (await fresh.execute(ADVICE, {"id": quotation_id}, token=admin)).ok()["quotation"]

    ranked = advice["hotelRecommendations"]
    assert ranked["modelVersion"] == 1
    assert ranked["unavailableReason"] is None
    names = [h["hotel"]["name"] for h in ranked["hotels"]]
    assert sorted(names) == ["Cheap Inn", "Dear Palace", "Silent Lodge"]
    assert names[0] == "Cheap Inn"
    assert [h["rank"] for h in ranked["hotels"]] == [1, 2, 3]
    by_name = {h["hotel"]["name"]: h for h in ranked["hotels"]}
    assert by_name["Cheap Inn"]["winProbability"] > by_name["Dear Palace"]["winProbability"]
    assert by_name["Silent Lodge"]["offerProbability"] < by_name["Dear Palace"]["offerProbability"]
    assert not any(h["invited"] for h in ranked["hotels"])
    for hotel in ranked["hotels"]:
        assert hotel["score"] == pytest.approx(
            hotel["offerProbability"] * hotel["winProbability"], abs=1e-3
        )

    estimate = advice["netPriceEstimate"]
    assert estimate["unavailableReason"] is None
    assert estimate["modelVersion"] == 1
    low, mid, high = (Decimal(estimate[p]["amount"]) for p in ("p10", "p50", "p90"))
    assert {estimate[p]["currency"] for p in ("p10", "p50", "p90")} == {"USD"}
    assert low <= mid <= high
    # Cheap Inn won every time at 100 a room-night: 5 rooms x 4 nights
    assert Decimal(1600) <= mid <= Decimal(2400)
    assert datetime.fromisoformat(estimate["trainedAt"]) <= datetime.now(UTC)

    models = (await fresh.execute(MODELS, {"kind": "net_price"}, token=admin)).ok()["mlModels"]
    assert [(m["kind"], m["version"]) for m in models] == [("net_price", 1)]
    assert models[0]["trainingRows"] == 60
    assert "latest 20%" in models[0]["evaluationSplit"]
    assert any(m["name"].endswith(".baseline") for m in models[0]["evaluation"])


async def test_a_currency_with_too_few_winning_prices_gets_no_estimate(
    fresh: GraphQLClient, sessions: SessionFactory, make_user: UserFactory
) -> None:
    market = await make_market(sessions, make_user, quotations=30)
    await make_user("admin@op.example", Role.ADMIN)
    await train_models(sessions, min_currency_rows=5)
    admin = await fresh.token_for("admin@op.example", PASSWORD)
    agency = await fresh.token_for(market.agency_email, PASSWORD)
    created = await fresh.execute(CREATE, {"input": quotation_input(currency="EUR")},
                                  token=agency)  # fmt: skip
    quotation_id = created.ok()["createQuotation"]["quotation"]["id"]
    estimate = (await fresh.execute(ADVICE, {"id": quotation_id}, token=admin)).ok()["quotation"][
        "netPriceEstimate"
    ]
    assert estimate["p10"] is None
    assert estimate["p50"] is None
    assert estimate["p90"] is None
    assert estimate["unavailableReason"].startswith("Too few winning prices in EUR")
    assert estimate["modelVersion"] == 1


@pytest.mark.parametrize("first", [0, 51, -3])
async def test_a_page_size_out_of_range_is_bad_input(
    fresh: GraphQLClient, make_user: UserFactory, first: int
) -> None:
    await make_user("admin@op.example", Role.ADMIN)
    await make_user("maria@andes.example", Role.AGENCY, company="Andes Travel")
    admin = await fresh.token_for("admin@op.example", PASSWORD)
    agency = await fresh.token_for("maria@andes.example", PASSWORD)
    quotation = (await fresh.execute(CREATE, {"input": quotation_input()}, token=agency)).ok()
    query = """query($id: ID!, $n: Int!) {
      quotation(id: $id) { hotelRecommendations(first: $n) { modelVersion } } }"""
    result = await fresh.execute(
        query, {"id": quotation["createQuotation"]["quotation"]["id"], "n": first}, token=admin
    )
    assert result.codes == ["BAD_USER_INPUT"]


async def test_a_hotels_record_counts_only_what_was_known_before_the_quotation(
    sessions: SessionFactory, make_user: UserFactory
) -> None:
    """No leakage: quotations 4 days apart, each answered after 1 day, closed after 5,
    proposed after 6 — the record each quotation is scored with holds exactly those outcomes."""
    market = await make_market(sessions, make_user, quotations=3)
    async with sessions() as session:
        history = await load_history(session, now_utc())
    sweep = RecordSweep(history)
    asked = [q.request.created_at for q in by_created(history.quotations)]
    cheap, dear, silent = (market.hotel_ids[name] for name in HOTELS)

    assert sweep.at(asked[0]) == {}  # the first quotation: nothing known yet
    second = sweep.at(asked[1])  # day 4: the first one's offers are in, nothing decided
    assert (second[cheap].invitations, second[cheap].answered, second[cheap].decided) == (1, 1, 0)
    assert silent not in second  # its silence counts only once the deadline passed
    third = sweep.at(asked[2])  # day 8: the first one closed (day 5) and proposed (day 6)
    assert (third[cheap].invitations, third[cheap].answered) == (2, 2)  # 2nd answered day 5
    assert (third[cheap].decided, third[cheap].won) == (1, 1)
    assert (third[dear].decided, third[dear].won) == (1, 0)
    assert (third[silent].invitations, third[silent].answered) == (1, 0)
    assert third[cheap].price_level() < 0 < third[dear].price_level()


def test_the_server_and_the_worker_start_without_numpy_or_scikit_learn() -> None:
    """The models' libraries load when a model is trained or first served, not at start-up."""
    probe = ("import sys, spirit_tours.app, spirit_tours.jobs.worker, spirit_tours.cli; "
             "print(sorted({'numpy', 'sklearn', 'joblib'} & set(sys.modules)))")  # fmt: skip
    run = subprocess.run(  # noqa: S603 - this Python, a fixed probe
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=False
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"


async def test_the_command_trains_and_prints_each_version_with_its_evaluation(
    database_url: str, redis_url: str, sessions: SessionFactory, make_user: UserFactory
) -> None:
    await make_market(sessions, make_user, quotations=30)
    env = clean_env(SPIRIT_DATABASE_URL=database_url, SPIRIT_REDIS_URL=redis_url,
                    SPIRIT_ENCRYPTION_KEYS=TEST_ENCRYPTION_KEYS,
                    SPIRIT_ML_MIN_CURRENCY_ROWS="5")  # fmt: skip
    first = await run_cli("train-models", env=env)
    second = await run_cli("train-models", env=env)
    assert first.code == 0, first.stderr
    assert "hotel_ranking v1: 90 rows" in first.stdout  # 30 quotations x 3 invitations
    assert "net_price v1: 30 rows" in first.stdout
    assert '"precision_at_3_baseline"' in first.stdout
    assert second.code == 0, second.stderr
    assert "hotel_ranking v2" in second.stdout
    assert "net_price v2" in second.stdout


TRAIN = "mutation { trainModels { jobKey queuedAt } }"


async def test_repeated_training_requests_queue_one_training_at_a_time(
    gql: GraphQLClient, make_user: UserFactory, redis: Redis, sessions: SessionFactory
) -> None:
    """A training takes minutes of the CPU and a maintenance worker's slot: requests while one
    is queued or running (no worker runs here) get that one, audited each; once it is done, the
    next request queues a new one."""
    await make_user("admin@op.example", Role.ADMIN)
    admin = await gql.token_for("admin@op.example", PASSWORD)
    first = (await gql.execute(TRAIN, token=admin)).ok()["trainModels"]
    await asyncio.sleep(1.1)  # another second: the per-second key of before was another
    again = [(await gql.execute(TRAIN, token=admin)).ok()["trainModels"] for _ in range(3)]
    assert again == [first] * 3  # the same job, queued when the first request queued it
    queue = JobQueue(redis, name=MAINTENANCE_QUEUE)
    try:
        assert await queue.count("queued") == 1
        job = await queue.dequeue(timeout=1)  # a worker takes it: still running
        assert job is not None
        assert job.function == "train_models"
        assert (await gql.execute(TRAIN, token=admin)).ok()["trainModels"] == first
        assert await queue.count("queued") == 0
        await job.finish(Status.COMPLETE)
        after = (await gql.execute(TRAIN, token=admin)).ok()["trainModels"]
        assert after["queuedAt"] > first["queuedAt"]
        assert await queue.count("queued") == 1
    finally:
        await queue.disconnect()
    async with sessions() as session:
        audited = await session.scalars(
            select(AuditEntry.id).where(AuditEntry.action == "ml.train")
        )
        assert len(audited.all()) == 6  # every request, queued or not


async def test_a_model_that_cannot_be_loaded_leaves_the_previous_one_served(
    fresh: GraphQLClient,
    sessions: SessionFactory,
    make_user: UserFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A newer row the process cannot unpickle (a scikit-learn it does not run) is skipped,
    logged once: the operator keeps the previous version's answers, and no request pays for
    reading and unpickling that row again."""
    market = await make_market(sessions, make_user)
    await make_user("admin@op.example", Role.ADMIN)
    admin = await fresh.token_for("admin@op.example", PASSWORD)
    await train_models(sessions, min_currency_rows=5)
    agency = await fresh.token_for(market.agency_email, PASSWORD)
    created = await fresh.execute(CREATE, {"input": quotation_input()}, token=agency)
    quotation_id = created.ok()["createQuotation"]["quotation"]["id"]
    assert (await fresh.execute(ADVICE, {"id": quotation_id}, token=admin)).ok()
    async with sessions() as session, session.begin():
        for kind in (HOTEL_RANKING, NET_PRICE):
            await save_model(session, kind, trained_at=now_utc(), training_rows=1,
                             evaluation={}, payload=b"not a joblib file")  # fmt: skip
    for _ in range(3):
        advice = (await fresh.execute(ADVICE, {"id": quotation_id}, token=admin)).ok()
        assert advice["quotation"]["hotelRecommendations"]["modelVersion"] == 1
        assert advice["quotation"]["hotelRecommendations"]["hotels"]
        assert advice["quotation"]["netPriceEstimate"]["modelVersion"] == 1
    skipped = [r for r in caplog.records if "cannot be loaded" in r.getMessage()]
    assert len(skipped) == 2  # once per kind
