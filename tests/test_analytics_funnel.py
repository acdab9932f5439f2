"""The quotation funnel against a small known history: counts, conversion rates and median
hours worked out by hand from the history's specs (tests/analytics_history.py), per grouping;
rollup semantics (old figures until a refresh); the refresh job and schedule; hostile input."""

from __future__ import annotations

import statistics
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest

from spirit_tours.config import Settings
from spirit_tours.core.clock import today_utc
from spirit_tours.jobs.analytics import refresh_analytics, refresh_schedule
from spirit_tours.jobs.worker import JobRunner
from spirit_tours.persistence.database import SessionFactory
from spirit_tours.resolvers.analytics.answers import Answers
from tests.analytics_flows import Tokens, funnel, refresh, sign_in_everyone
from tests.analytics_history import SPECS, STEPS, Spec, add, known_history, utc
from tests.booking_flows import approved_quotation, book
from tests.cli import clean_env, run_cli
from tests.conftest import TEST_ENCRYPTION_KEYS, UserFactory
from tests.graphql_client import GraphQLClient
from tests.quotation_flows import CLOSE, PROPOSE, make_world, open_quotation, submit

FROM, TO = "2026-01-01", "2026-12-31"
REJECT = """
mutation($q: ID!) { rejectQuotation(input: {quotationId: $q, reason: "Too dear"}) {
  quotation { status } } }"""


def _ratio(part: int, whole: int) -> float | None:
    if whole == 0:
        return None
    return float((Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001"), ROUND_HALF_UP))


def by_hand(specs: list[Spec]) -> list[dict[str, Any]]:
    """The funnel of these quotations, computed from their specs in Python."""
    counts = [sum(spec.reached(step) for spec in specs) for step in STEPS]
    figures = []
    for index, step in enumerate(STEPS):
        hours = [spec.hours[index - 1] for spec in specs if index and spec.reached(step)]
        figures.append(
            {
                "step": step,
                "count": counts[index],
                "conversionFromPrevious": _ratio(counts[index], counts[index - 1])
                if index
                else None,
                "conversionFromCreated": _ratio(counts[index], counts[0]) if index else None,
                "medianHoursFromPrevious": round(statistics.median(hours), 2) if hours else None,
            }
        )
    return figures


def in_2026(spec: Spec) -> bool:
    return spec.created_at.year == 2026


@pytest.fixture
async def tokens(gql: GraphQLClient, make_user: UserFactory) -> Tokens:
    return await sign_in_everyone(gql, make_user)


async def test_the_total_funnel_is_the_hand_worked_one(
    gql: GraphQLClient, tokens: Tokens, make_user: UserFactory, sessions: SessionFactory
) -> None:
    await known_history(make_user, sessions)
    await refresh(gql, tokens.admin)
    report = (await funnel(gql, tokens.admin, FROM, TO)).ok()["analytics"]["quotationFunnel"]
    steps = report["total"]["steps"]
    # Worked out on paper from SPECS: Q7 was created in 2025, so 7 quotations; Q5 got no offer,
    # Q3's proposal was rejected, only Q1 completed.
    assert [step["count"] for step in steps] == [7, 6, 5, 5, 4, 4, 1]
    assert [step["conversionFromPrevious"] for step in steps] == [
        None, 0.8571, 0.8333, 1.0, 0.8, 1.0, 0.25,
    ]  # fmt: skip
    assert [step["conversionFromCreated"] for step in steps] == [
        None, 0.8571, 0.7143, 0.7143, 0.5714, 0.5714, 0.1429,
    ]  # fmt: skip
    # Hours from the step before: invited 1,1,2,2,3,4 → 2; offered 2,3,5,6,10 → 5; proposed
    # 10,20,24,30,48 → 24; approved 2,6,10,12 → 8; booked 1,2,3,4 → 2.5; completed 240.
    assert [step["medianHoursFromPrevious"] for step in steps] == [
        None, 2.0, 5.0, 24.0, 8.0, 2.5, 240.0,
    ]  # fmt: skip
    assert report["total"]["steps"] == by_hand([spec for spec in SPECS if in_2026(spec)])
    assert report["total"]["key"] is None
    assert report["total"]["label"] == "All"
    assert report["truncated"] is False


@pytest.mark.parametrize("group_by", ["MONTH", "DESTINATION", "AGENCY", "CLIENT"])
async def test_each_grouping_matches_the_history(
    gql: GraphQLClient,
    tokens: Tokens,
    make_user: UserFactory,
    sessions: SessionFactory,
    group_by: str,
) -> None:
    history = await known_history(make_user, sessions)
    await refresh(gql, tokens.admin)
    result = await funnel(gql, tokens.admin, FROM, TO, group_by)
    report = result.ok()["analytics"]["quotationFunnel"]
    assert report["groupBy"] == group_by
    specs = [spec for spec in SPECS if in_2026(spec)]
    expected: dict[str, tuple[str, list[Spec]]] = {}
    for spec in specs:
        if group_by == "MONTH":
            key = label = spec.created_at.strftime("%Y-%m")
        elif group_by == "DESTINATION":
            key = label = spec.destination
        elif group_by == "AGENCY":
            if spec.owner not in history.agency_ids:
                continue
            key, label = str(history.agency_ids[spec.owner]), history.agency_names[spec.owner]
        else:
            if spec.owner not in history.client_ids:
                continue
            key, label = str(history.client_ids[spec.owner]), history.client_names[spec.owner]
        expected.setdefault(key, (label, []))[1].append(spec)
    got = {group["key"]: group for group in report["groups"]}
    assert set(got) == set(expected)
    for group_key, (group_label, members) in expected.items():
        assert got[group_key]["label"] == group_label
        assert got[group_key]["steps"] == by_hand(members), group_key
    if group_by == "MONTH":
        assert [group["key"] for group in report["groups"]] == ["2026-03", "2026-04"]
    else:  # the groups with most quotations first
        sizes = [group["steps"][0]["count"] for group in report["groups"]]
        assert sizes == sorted(sizes, reverse=True)


async def test_the_range_takes_whole_utc_days(
    gql: GraphQLClient, tokens: Tokens, make_user: UserFactory, sessions: SessionFactory
) -> None:
    await known_history(make_user, sessions)
    await refresh(gql, tokens.admin)
    # Q7 was created at 23:30 UTC on 31 December 2025: in that day, not the next.
    last_day = await funnel(gql, tokens.admin, "2025-12-31", "2025-12-31")
    assert last_day.ok()["analytics"]["quotationFunnel"]["total"]["steps"][0]["count"] == 1
    first_day = await funnel(gql, tokens.admin, "2026-01-01", "2026-03-02")
    assert first_day.ok()["analytics"]["quotationFunnel"]["total"]["steps"][0]["count"] == 1
    empty = (await funnel(gql, tokens.admin, "2020-01-01", "2020-12-31")).ok()
    total = empty["analytics"]["quotationFunnel"]["total"]["steps"]
    assert [step["count"] for step in total] == [0] * 7
    assert {step["conversionFromPrevious"] for step in total} == {None}
    assert empty["analytics"]["quotationFunnel"]["groups"] == []


async def test_figures_stay_the_old_ones_until_a_refresh(
    gql: GraphQLClient, tokens: Tokens, make_user: UserFactory, sessions: SessionFactory
) -> None:
    history = await known_history(make_user, sessions, specs=SPECS[:2])
    first = await refresh(gql, tokens.admin)
    before = (await funnel(gql, tokens.admin, FROM, TO)).ok()["analytics"]["quotationFunnel"]
    assert before["total"]["steps"][0]["count"] == 2
    assert datetime.fromisoformat(before["refreshedAt"]) == datetime.fromisoformat(
        first[0]["refreshedAt"]
    )
    for spec in SPECS[2:]:
        await add(sessions, history, spec)
    stale = (await funnel(gql, tokens.admin, FROM, TO)).ok()["analytics"]["quotationFunnel"]
    assert stale == before  # the rollup has not seen them yet
    # The scheduled job refreshes as the mutation does.
    await refresh_analytics({"sessions": sessions})
    after = (await funnel(gql, tokens.admin, FROM, TO)).ok()["analytics"]["quotationFunnel"]
    assert after["total"]["steps"][0]["count"] == 7
    assert datetime.fromisoformat(after["refreshedAt"]) > datetime.fromisoformat(
        before["refreshedAt"]
    )


async def test_the_funnel_follows_the_real_workflow(
    gql: GraphQLClient, make_user: UserFactory
) -> None:
    """Quotations taken through the API: a rejected proposal still counts as proposed (the row
    forgets it, the audit log does not), an approval as approved."""
    world = await make_world(gql, make_user)
    admin = world.admin.token
    booked_id = await approved_quotation(gql, world)
    await book(gql, world.agency.token, booked_id)
    await approved_quotation(gql, world, owner=world.client)  # approved, never booked
    rejected = await open_quotation(gql, world)
    offer = await submit(gql, world.hotels[1], rejected, "900.00")
    (await gql.execute(CLOSE, {"q": rejected}, token=admin)).ok()
    (await gql.execute(PROPOSE, {"q": rejected, "o": offer, "m": "15"}, token=admin)).ok()
    (await gql.execute(REJECT, {"q": rejected}, token=world.agency.token)).ok()
    await open_quotation(gql, world)  # invited only
    await refresh(gql, admin)
    today = today_utc()
    result = await funnel(gql, admin, (today - timedelta(days=1)).isoformat(), today.isoformat())
    steps = result.ok()["analytics"]["quotationFunnel"]["total"]["steps"]
    assert {step["step"]: step["count"] for step in steps} == {
        "CREATED": 4, "INVITED": 4, "OFFERED": 3, "PROPOSED": 3, "APPROVED": 2, "BOOKED": 1,
        "COMPLETED": 0,
    }  # fmt: skip
    agencies = await funnel(
        gql, admin, (today - timedelta(days=1)).isoformat(), today.isoformat(), "AGENCY"
    )
    groups = agencies.ok()["analytics"]["quotationFunnel"]["groups"]
    assert [(group["label"], group["steps"][0]["count"]) for group in groups] == [
        ("Andes Travel", 3)
    ]
    clients = await funnel(
        gql, admin, (today - timedelta(days=1)).isoformat(), today.isoformat(), "CLIENT"
    )
    groups = clients.ok()["analytics"]["quotationFunnel"]["groups"]
    assert [group["steps"][0]["count"] for group in groups] == [1]


@pytest.mark.slow  # runs the console script
async def test_the_command_refreshes_the_rollups(
    gql: GraphQLClient,
    tokens: Tokens,
    make_user: UserFactory,
    sessions: SessionFactory,
    database_url: str,
    redis_url: str,
) -> None:
    await refresh(gql, tokens.admin)
    await known_history(make_user, sessions)
    env = clean_env(SPIRIT_DATABASE_URL=database_url, SPIRIT_REDIS_URL=redis_url,
                    SPIRIT_ENCRYPTION_KEYS=TEST_ENCRYPTION_KEYS)  # fmt: skip
    done = await run_cli("refresh-analytics", env=env)
    assert done.code == 0, done.stderr
    assert "refreshed analytics_quotation_funnel in " in done.stdout
    report = (await funnel(gql, tokens.admin, FROM, TO)).ok()["analytics"]["quotationFunnel"]
    assert report["total"]["steps"][0]["count"] == 7


@pytest.mark.parametrize(
    ("start", "end", "code", "field"),
    [
        ("2026-02-01", "2026-01-31", "BAD_USER_INPUT", "to"),  # to before from
        ("2000-01-01", "2026-12-31", "BAD_USER_INPUT", "to"),  # over ten years
        # Not a date: refused with the variables, before anything runs.
        ("2026-02-30", "2026-03-01", "GRAPHQL_VALIDATION_FAILED", None),
        ("yesterday", "2026-03-01", "GRAPHQL_VALIDATION_FAILED", None),
    ],
)
async def test_hostile_ranges_are_refused(
    gql: GraphQLClient, tokens: Tokens, start: str, end: str, code: str, field: str | None
) -> None:
    result = await funnel(gql, tokens.admin, start, end)
    assert result.data is None
    assert result.codes == [code]
    if field is not None:
        assert result.errors[0]["extensions"]["field"] == field


async def test_an_unknown_grouping_is_refused(gql: GraphQLClient, tokens: Tokens) -> None:
    result = await funnel(gql, tokens.admin, FROM, TO, "HOTEL")
    assert result.data is None
    assert result.codes == ["GRAPHQL_VALIDATION_FAILED"]
    assert "FunnelGroupBy" in result.errors[0]["message"]
    inline = await gql.execute(
        '{ analytics(from: "2026-01-01", to: "2026-12-31") '
        "{ quotationFunnel(groupBy: WEEKDAY) { groupBy } } }",
        token=tokens.admin,
    )
    assert inline.codes == ["GRAPHQL_VALIDATION_FAILED"]


async def test_the_workers_refresh_on_the_configured_schedule(settings: Settings) -> None:
    assert refresh_schedule(5) == "*/5 * * * *"
    assert refresh_schedule(60) == "0 * * * *"
    with pytest.raises(ValueError, match="1 to 60"):
        refresh_schedule(0)
    runner = JobRunner(
        settings.model_copy(update={"analytics_refresh_minutes": 7}),
        settings.database_url or "",
        settings.redis_url or "",
    )
    crons = {job.function.__name__: job.cron for job in runner.workers[0].cron_jobs}
    assert crons["refresh_analytics"] == "*/7 * * * *"
    await runner.engine.dispose()
    await runner.redis.aclose()


def test_the_interval_setting_is_bounded() -> None:
    with pytest.raises(ValueError, match="analytics_refresh_minutes"):
        Settings(analytics_refresh_minutes=0)


async def test_answers_are_kept_per_refresh_and_bounded() -> None:
    answers = Answers(size=2)
    computed: list[str] = []

    def compute(value: str) -> Callable[[], Awaitable[str]]:
        async def run() -> str:
            computed.append(value)
            return value

        return run

    first, second = utc(2026, 1, 1), utc(2026, 1, 2)
    assert await answers.get_or_compute("q", first, compute("a")) == "a"
    assert await answers.get_or_compute("q", first, compute("b")) == "a"  # kept
    assert await answers.get_or_compute("q", second, compute("c")) == "c"  # refreshed since
    assert await answers.get_or_compute("q", None, compute("d")) == "d"  # never refreshed
    assert await answers.get_or_compute("q", None, compute("e")) == "e"  # …never kept
    assert await answers.get_or_compute("r", second, compute("f")) == "f"
    assert await answers.get_or_compute("q", first, compute("g")) == "g"  # the oldest went
    assert computed == ["a", "c", "d", "e", "f", "g"]


async def test_answers_kept_are_bounded_in_rows_too() -> None:
    """A few hundred large answers (a CSV export holds up to 10,000 rows; every range of days
    is another question) would hold gigabytes under a bound in answers alone."""

    @dataclass(frozen=True)
    class Report:
        rows: list[int]

    answers = Answers(size=100, max_rows=25)
    refreshed = datetime(2026, 1, 1, tzinfo=UTC)
    computed: list[str] = []

    def report(name: str, rows: int) -> Callable[[], Awaitable[Report]]:
        async def compute() -> Report:
            computed.append(name)
            return Report(list(range(rows)))

        return compute

    for name in ("a", "b", "c"):  # 11 rows each (the list's items and the report)
        await answers.get_or_compute(name, refreshed, report(name, 10))
    assert answers.rows == 22  # "a" went to make room for "c"
    await answers.get_or_compute("b", refreshed, report("b", 10))  # kept
    await answers.get_or_compute("a", refreshed, report("a", 10))  # computed again
    assert computed == ["a", "b", "c", "a"]
    huge = await answers.get_or_compute("huge", refreshed, report("huge", 30))
    assert len(huge.rows) == 30
    assert answers.rows == 22  # larger than the whole budget: answered, never kept
    await answers.get_or_compute("b", refreshed, report("b", 10))
    assert computed == ["a", "b", "c", "a", "huge"]
