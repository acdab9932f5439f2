"""Analytics benchmark: the time to refresh the rollups and the latency of every report on a
generated history, beside baselines measured in the same run.

The run:

1. A scratch database (migrated, the demo data) with ``--history`` generated quotations
   (``spirit-tours seed-demo --history N``: ``spirit_tours.dev.history``), untimed.
2. The refresh: every rollup of ``persistence/analytics/views.py`` refreshed as the job does
   (``REFRESH MATERIALIZED VIEW CONCURRENTLY``, one transaction), a few times; each view's time.
3. The real server (``spirit_tours.app:create_app`` as ``spirit-tours serve`` runs it, in
   production settings, one worker process) and, from this process over one keep-alive
   connection, sequential requests, p50 and p95: ``{ __typename }`` first (the HTTP and
   GraphQL floor, no database: the baseline), then every report of the registry
   (``resolvers/analytics/reports.py``, so a report added there is timed too), each of its
   groupings, through its GraphQL field (every leaf selected, the document built from the
   schema) and its CSV export, in three passes: the last 12 months with a new question every
   request (the range one day earlier each time: the rollup is read every time), the same
   question again (answered from what the process kept since the refresh), and the whole
   history (ten years) with a new question every request. The target, p95 under 100 ms per
   report, is for the first two.
4. What the rollup buys, in the database alone: the statements one report runs (recorded as
   SQLAlchemy sends them) timed as they are, reading the views, and with each view replaced by
   its own definition (``WITH <view> AS (<pg_get_viewdef>)``): the same figures computed from
   the raw tables in one SQL query per request. Both answers are compared ("same figures"),
   which holds right after the refresh since nothing writes meanwhile.

``--smoke`` runs a tiny instance (a test of the suite runs it).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import re
import statistics
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any

import httpx
import strawberry
from graphql import (
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    get_named_type,
    is_leaf_type,
    is_object_type,
)
from sqlalchemy import event, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from benchmarks.keys import KEYRING
from benchmarks.live_processes import free_port, stop, wait_ready
from benchmarks.live_servers import api_environment, serve_api
from spirit_tours.auth.tokens import TokenService
from spirit_tours.config import Settings
from spirit_tours.core.analytics import DateRange
from spirit_tours.core.clock import today_utc
from spirit_tours.core.enums import Role
from spirit_tours.dev import servers as devservers
from spirit_tours.dev.demo import seed_demo
from spirit_tours.dev.history import seed_history
from spirit_tours.permissions.viewer import Viewer
from spirit_tours.persistence.accounts import User
from spirit_tours.persistence.analytics.views import VIEWS
from spirit_tours.persistence.database import create_engine, create_session_factory
from spirit_tours.persistence.migrate import migrate
from spirit_tours.resolvers.analytics.refresh import refresh_rollups
from spirit_tours.resolvers.analytics.reports import REPORTS, Report
from spirit_tours.schema.build import SCHEMA_PARTS

HOST = "127.0.0.1"
TARGET_P95_MS = 100.0
RANGE_DAYS = 3650
REFRESH_RUNS = 3
RAW_RUNS = 20
SELECTION_DEPTH = 6


@dataclass(frozen=True)
class Timing:
    name: str
    samples: list[float]  # milliseconds

    @property
    def p50(self) -> float:
        return statistics.median(self.samples)

    @property
    def p95(self) -> float:
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def _admin_token(jwt_secret: str, admin: User) -> str:
    """An access token as ``login`` would issue it, minted here: no password hashing."""
    viewer = Viewer(user_id=admin.id, role=Role.ADMIN, company_id=admin.company_id)
    return TokenService(jwt_secret, 24 * 3600).issue(viewer).token


async def prepare_database(history: int, jwt_secret: str) -> tuple[str, str, float]:
    """A scratch database with the demo data and ``history`` generated quotations; its URL, an
    ADMIN's access token and the seconds the history took."""
    url = await devservers.create_database("spirit_bench")
    engine = create_engine(url, pool_size=2, keyring=KEYRING)
    try:
        await migrate(engine)
        async with create_session_factory(engine)() as session, session.begin():
            await seed_demo(session, Settings(seed_demo=False))
            summary = await seed_history(session, Settings(seed_demo=False), history)
            admin = await session.scalar(select(User).where(User.role == Role.ADMIN).limit(1))
            assert admin is not None
            token = _admin_token(jwt_secret, admin)
    except BaseException:
        await engine.dispose()
        await devservers.drop_database(url)
        raise
    await engine.dispose()
    return url, token, summary.seconds


async def time_refresh(database_url: str, runs: int) -> list[dict[str, int]]:
    """Each run: every rollup refreshed in one transaction, as the job does; ms per view."""
    engine = create_engine(database_url, pool_size=2, keyring=KEYRING)
    sessions = create_session_factory(engine)
    done = []
    try:
        for _ in range(runs):
            async with sessions() as session, session.begin():
                refreshed = await refresh_rollups(session)
            done.append({item.view: item.duration_ms for item in refreshed})
    finally:
        await engine.dispose()
    return done


# --- the GraphQL document of a report, from the schema ---------------------------------------


def _selection(kind: Any, depth: int) -> str:
    """Every leaf below an object type, down to ``depth`` levels."""
    named = get_named_type(kind)
    if is_leaf_type(named):
        return ""
    assert is_object_type(named)
    assert isinstance(named, GraphQLObjectType)
    parts = []
    for name, field in named.fields.items():
        if any(isinstance(arg.type, GraphQLNonNull) and arg.default_value is None
               for arg in field.args.values()):  # fmt: skip
            continue  # a field that needs arguments we do not know
        inner = get_named_type(field.type)
        if is_leaf_type(inner):
            parts.append(name)
        elif depth > 1:
            below = _selection(field.type, depth - 1)
            if below:
                parts.append(f"{name} {{ {below} }}")
    return " ".join(parts)


def report_document(schema: GraphQLSchema, report: Report) -> str:
    analytics = schema.type_map["Analytics"]
    assert isinstance(analytics, GraphQLObjectType)
    field = analytics.fields[report.graphql_field]
    argument = " (groupBy: $groupBy)" if "groupBy" in field.args else ""
    variable = ""
    if argument:
        group_type = field.args["groupBy"].type
        while isinstance(group_type, GraphQLNonNull | GraphQLList):
            group_type = group_type.of_type
        variable = f", $groupBy: {group_type}!"
    selection = _selection(field.type, SELECTION_DEPTH)
    return (
        f"query Report($from: Date!, $to: Date!{variable}) {{ analytics(from: $from, to: $to) "
        f"{{ {report.graphql_field}{argument} {{ {selection} }} }} }}"
    )


def groupings(report: Report, smoke: bool) -> list[StrEnum | None]:
    if report.group_by is None:
        return [None]
    members: list[StrEnum] = list(report.group_by)
    return members[:1] if smoke else members  # type: ignore[return-value]


# --- latency through the server ---------------------------------------------------------------


@dataclass(frozen=True)
class Pass:
    """A series of requests of each report over ranges ``width`` days long ending today, or,
    ``fresh``, each a day earlier than the one before: every request a new question, so none
    is answered from the answers kept since the refresh (``resolvers/analytics/answers.py``)."""

    title: str
    width: int
    count: int
    fresh: bool
    target: bool

    def span(self, index: int) -> dict[str, str]:
        end = today_utc() - timedelta(days=index if self.fresh else 0)
        return {"from": (end - timedelta(days=self.width - 1)).isoformat(), "to": end.isoformat()}


async def _timed(name: str, count: int, send: Callable[[int], Awaitable[httpx.Response]]) -> Timing:
    for warm in range(3):  # warm-up: plans, caches, connections; questions not timed after
        (await send(count + warm)).raise_for_status()
    samples = []
    for index in range(count):
        began = time.perf_counter()
        response = await send(index)
        samples.append((time.perf_counter() - began) * 1000)
        response.raise_for_status()
        if response.headers.get("content-type", "").startswith("application/json"):
            assert "errors" not in response.json(), response.text[:500]
    return Timing(name, samples)


async def measure_server(
    base: str, token: str, passes: list[Pass], floor_count: int, smoke: bool
) -> None:
    """Print each pass's figures as they come, beside the floor measured first."""
    schema = strawberry.Schema(**SCHEMA_PARTS)._schema
    headers = {"Authorization": f"Bearer {token}", "Cache-Control": "no-cache"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60) as http:

        async def typename(index: int) -> httpx.Response:
            return await http.post("/graphql", json={"query": "{ __typename }"})

        floor = await _timed("{ __typename } (baseline)", floor_count, typename)
        print(
            f"\nLatency through the server: sequential requests over one keep-alive "
            f"connection, p50 and p95 (target: p95 < {TARGET_P95_MS:.0f} ms per report)"
        )
        print(_row(floor, floor, target=False), flush=True)  # fmt: skip
        for series in passes:
            print(f"{series.title} ({series.count} requests each):", flush=True)
            for report in REPORTS.values():
                document = report_document(schema, report)
                for group_by in groupings(report, smoke):
                    extra = {} if group_by is None else {"groupBy": group_by.name}
                    label = report.name + ("" if group_by is None else f" by {group_by.name}")

                    async def graphql(
                        index: int,
                        series: Pass = series,
                        extra: dict[str, str] = extra,
                        document: str = document,
                    ) -> httpx.Response:
                        variables = {**series.span(index), **extra}
                        return await http.post(
                            "/graphql", json={"query": document, "variables": variables}
                        )

                    async def exported(
                        index: int,
                        series: Pass = series,
                        extra: dict[str, str] = extra,
                        report: Report = report,
                    ) -> httpx.Response:
                        params = {**series.span(index), **extra}
                        return await http.get(f"/analytics/{report.name}.csv", params=params)

                    for kind, send in (("GraphQL", graphql), ("CSV", exported)):
                        timing = await _timed(f"{label}: {kind}", series.count, send)
                        print(_row(timing, floor, target=series.target), flush=True)  # fmt: skip


# --- the same statements over the raw tables ---------------------------------------------------


@contextmanager
def recording(engine: AsyncEngine) -> Iterator[list[tuple[str, Any]]]:
    """The statements (and parameters) sent while it is open, as the driver gets them."""
    sent: list[tuple[str, Any]] = []

    def keep(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        sent.append((statement, parameters))

    event.listen(engine.sync_engine, "before_cursor_execute", keep)
    try:
        yield sent
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", keep)


def over_raw_tables(statement: str, definitions: dict[str, str]) -> str:
    """The statement with each view it reads replaced by its definition (a CTE of that name)."""
    used = {view: sql for view, sql in definitions.items() if re.search(rf"\b{view}\b", statement)}
    if not used:
        return statement
    ctes = ", ".join(f"{view} AS ({sql})" for view, sql in used.items())
    if statement.lstrip().upper().startswith("WITH "):
        return re.sub(r"^\s*WITH\s+", f"WITH {ctes}, ", statement, count=1, flags=re.IGNORECASE)
    return f"WITH {ctes} {statement}"


async def _run_all(engine: AsyncEngine, statements: list[tuple[str, Any]]) -> float:
    async with engine.connect() as connection:
        began = time.perf_counter()
        for statement, parameters in statements:
            await connection.exec_driver_sql(statement, parameters)
        elapsed = (time.perf_counter() - began) * 1000
        await connection.rollback()
    return elapsed


async def _answers(engine: AsyncEngine, statements: list[tuple[str, Any]]) -> list[Any]:
    """Each statement's rows, as a sorted multiset: a statement without ORDER BY (hotel
    performance's parts, which Python adds up and sorts) may return them in any order."""
    async with engine.connect() as connection:
        found = [
            sorted(map(repr, (await connection.exec_driver_sql(statement, parameters)).all()))
            for statement, parameters in statements
        ]
        await connection.rollback()
    return found


async def measure_database(
    database_url: str, days: DateRange, runs: int, smoke: bool
) -> list[tuple[str, Timing, Timing, bool]]:
    """Per report and grouping: its statements on the views, and over the raw tables."""
    engine = create_engine(database_url, pool_size=2, keyring=KEYRING)
    try:
        return await _measure_database(engine, days, runs, smoke)
    finally:
        await engine.dispose()


async def _measure_database(
    engine: AsyncEngine, days: DateRange, runs: int, smoke: bool
) -> list[tuple[str, Timing, Timing, bool]]:
    async with engine.connect() as connection:
        definitions = {
            view: (await connection.scalar(text("SELECT pg_get_viewdef(:v)"), {"v": view}))
            .strip()
            .rstrip(";")
            for view in VIEWS
        }
    sessions = create_session_factory(engine)
    found = []
    for report in REPORTS.values():
        for group_by in groupings(report, smoke):
            with recording(engine) as sent:
                async with sessions() as session:
                    await report.table(session, days, group_by)
            raw = [(over_raw_tables(sql, definitions), parameters) for sql, parameters in sent]
            label = report.name if group_by is None else f"{report.name} by {group_by.name}"
            same = await _answers(engine, sent) == await _answers(engine, raw)
            rollup = Timing(label, [await _run_all(engine, sent) for _ in range(runs)])
            scanned = Timing(label, [await _run_all(engine, raw) for _ in range(runs)])
            found.append((label, rollup, scanned, same))
    return found


# --- the run --------------------------------------------------------------------------------


def _row(timing: Timing, baseline: Timing, target: bool) -> str:
    verdict = ""
    if target:
        verdict = "  ok" if timing.p95 < TARGET_P95_MS else f"  OVER {TARGET_P95_MS:.0f} ms"
    return (
        f"  {timing.name:<48} p50 {timing.p50:7.1f} ms  p95 {timing.p95:7.1f} ms  "
        f"(p50 {timing.p50 / baseline.p50:5.1f}x the baseline){verdict}"
    )


def main(history: int = 20_000, requests: int = 200, smoke: bool = False) -> None:
    if min(history, requests) < 1:
        raise SystemExit("history and requests must be positive")
    environment = api_environment("", devservers.redis_url(), compression=False)
    print(f"Analytics benchmark: {history} generated quotations, {requests} requests of each "
          f"kind, {os.cpu_count()} cores", flush=True)  # fmt: skip
    began = time.perf_counter()
    database_url, token, seeded = asyncio.run(
        prepare_database(history, environment["SPIRIT_JWT_SECRET"])
    )
    print(f"history generated in {seeded:.1f} s ({time.perf_counter() - began:.1f} s with the "
          "migration and the demo data)", flush=True)  # fmt: skip
    days = DateRange.of(today_utc() - timedelta(days=RANGE_DAYS - 1), today_utc())
    server = None
    try:
        refreshes = asyncio.run(time_refresh(database_url, 1 if smoke else REFRESH_RUNS))
        print("\nRefresh of the rollups (REFRESH MATERIALIZED VIEW CONCURRENTLY, one "
              "transaction, as the job):")  # fmt: skip
        for run, durations in enumerate(refreshes, 1):
            views = ", ".join(f"{view} {ms} ms" for view, ms in durations.items())
            print(f"  run {run}: {sum(durations.values())} ms in all ({views})")
        port = free_port()
        context = multiprocessing.get_context("spawn")
        server = context.Process(
            target=serve_api,
            args=(api_environment(database_url, devservers.redis_url(), compression=False), port),
        )
        server.start()
        base = f"http://{HOST}:{port}"
        asyncio.run(wait_ready(base))
        some = requests if smoke else max(requests // 4, 1)
        passes = [
            Pass("The last 12 months, a new question every request (the rollup read each time)",
                 365, requests, fresh=True, target=True),
            Pass("The last 12 months, the same question again (kept since the refresh)",
                 365, some, fresh=False, target=True),
            Pass(f"The whole history ({RANGE_DAYS} days), a new question every request",
                 RANGE_DAYS, some, fresh=True, target=False),
        ]  # fmt: skip
        asyncio.run(measure_server(base, token, passes, requests, smoke))
        stop(server)
        server = None
        runs = 3 if smoke else RAW_RUNS
        database = asyncio.run(measure_database(database_url, days, runs, smoke))
        print(f"\nIn the database alone, the statements of one report over the whole history "
              f"({runs} runs each): reading the rollups, and the same figures from the raw "
              "tables (each view replaced by its definition, one SQL query):")  # fmt: skip
        for label, rollup, scanned, same in database:
            print(f"  {label:<36} rollup p50 {rollup.p50:7.1f} ms   raw tables p50 "
                  f"{scanned.p50:8.1f} ms   ({scanned.p50 / rollup.p50:6.1f}x)   same figures: "
                  f"{'yes' if same else 'NO'}")  # fmt: skip
    finally:
        if server is not None:
            stop(server)
        asyncio.run(devservers.drop_database(database_url))


def smoke() -> None:
    """A tiny run for the test suite: every report, every figure printed."""
    main(history=150, requests=10, smoke=True)
