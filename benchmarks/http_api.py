"""HTTP benchmark: GraphQL operations against the floor and the hand-written baselines.

One run seeds a database of its own (on the configured or local PostgreSQL) with 100 quotations
with three offers each, then for each server size (``--workers 1,2``) starts the API as
``spirit-tours serve --workers N`` runs it, with the floor (``benchmarks.http_floor``) and the
baselines (``benchmarks.http_baseline``) as routes of the same processes, and drives every case
(``benchmarks.http_cases``) from load-generator processes over keep-alive HTTP/1.1. Before
measuring, each case is checked once (200, data, no errors, the page's size) and the floor's page
is compared with the GraphQL ADMIN page: the same quotations and offers.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor

import httpx
from sqlalchemy import func, select

from benchmarks import http_report
from benchmarks.http_cases import (
    FLOOR,
    PAGE,
    Case,
    CaseError,
    all_cases,
    check,
    graphql_request,
    page_ids,
)
from benchmarks.http_server import serve
from benchmarks.keys import KEYRING
from benchmarks.live_processes import free_port, stop, wait_ready
from benchmarks.loadgen import Figures, run_split
from spirit_tours.config import Settings
from spirit_tours.dev import servers as devservers
from spirit_tours.dev.demo import DEMO_PASSWORD, add_demo_quotation, seed_demo
from spirit_tours.persistence.accounts import User
from spirit_tours.persistence.database import create_engine, create_session_factory
from spirit_tours.persistence.migrate import migrate
from spirit_tours.persistence.quotations import Quotation

QUOTATIONS = 100  # the largest page asked for
HOST = "127.0.0.1"


async def _prepare_database() -> tuple[str, int]:
    """A new database with the demo data and ``QUOTATIONS`` quotations; returns its URL and
    the number of quotations."""
    url = await devservers.create_database("spirit_bench")
    engine = create_engine(url, pool_size=2, keyring=KEYRING)
    try:
        await migrate(engine)
        async with create_session_factory(engine)() as session, session.begin():
            await seed_demo(session, Settings(seed_demo=False))
            users = {user.email: user for user in await session.scalars(select(User))}
            count = await session.scalar(select(func.count()).select_from(Quotation)) or 0
            for _ in range(QUOTATIONS - count):
                await add_demo_quotation(session, users)
            count = await session.scalar(select(func.count()).select_from(Quotation)) or 0
    finally:
        await engine.dispose()
    return url, count


async def _wait_workers(base: str, workers: int) -> None:
    """Ready, and every worker too: fresh connections land on any worker process, so wait for
    a run of them to answer."""
    await wait_ready(base)
    answered = 0
    deadline = time.monotonic() + 120
    while answered < 8 * workers and time.monotonic() < deadline:
        async with httpx.AsyncClient(base_url=base) as http:
            try:
                ready = (await http.get("/readyz")).status_code == 200
            except httpx.TransportError:
                ready = False
        answered = answered + 1 if ready else 0
        if not ready:
            await asyncio.sleep(0.2)


async def _login(http: httpx.AsyncClient, email: str) -> str:
    query = (
        "mutation($e: String!, $p: String!) "
        "{ login(input: {email: $e, password: $p}) { accessToken } }"
    )
    response = await http.post(
        "/graphql", json={"query": query, "variables": {"e": email, "p": DEMO_PASSWORD}}
    )
    token: str = response.json()["data"]["login"]["accessToken"]
    return token


async def _prepare_cases(base: str, only: str | None) -> tuple[list[Case], dict[str, str]]:
    """Sign in, check that the floor serves the ADMIN page's quotations and offers, and check
    each selected case once; returns the cases to measure and the reasons of those that fail."""
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        admin = await _login(http, "admin@spirit-tours.example")
        hotel = await _login(http, "sales@qorikancha-suites.example")
        cases = all_cases(admin, hotel)
        floor = await check(http, next(case for case in cases if case.name == FLOOR))
        graphql = await check(
            http, Case("GraphQL ADMIN", graphql_request({"query": PAGE}, admin, no_cache=True))
        )
        assert page_ids(floor) == page_ids(graphql), "the floor's page is not the ADMIN page"
        if floor != graphql:
            print("note: the floor's page has the ADMIN page's ids, but other values differ")
        selected = [c for c in cases if only is None or only.lower() in c.name.lower()]
        failures: dict[str, str] = {}
        for case in selected:
            try:
                await check(http, case)
            except CaseError as failure:
                failures[case.name] = str(failure)
    return selected, failures


def _run_server(
    database_url: str,
    *,
    workers: int,
    seconds: float,
    concurrency: int,
    only: str | None,
    pool: ProcessPoolExecutor,
    load_processes: int,
) -> None:
    port = free_port()
    context = multiprocessing.get_context("spawn")
    server = context.Process(
        target=serve, args=(database_url, devservers.redis_url(), port, workers)
    )
    server.start()
    try:
        base = f"http://{HOST}:{port}"
        asyncio.run(_wait_workers(base, workers))
        cases, failures = asyncio.run(_prepare_cases(base, only))
        print(f"\n{workers} server worker process(es)")
        print(http_report.HEADER)
        measured: dict[str, Figures] = {}
        for case in cases:
            if case.name in failures:
                print(http_report.failed(case, failures[case.name]), flush=True)
                continue
            # A warm-up: every worker process parses, plans and caches before the measure.
            run_split(pool, load_processes, HOST, port, case.request, concurrency, 1.0)
            figures = run_split(
                pool, load_processes, HOST, port, case.request, concurrency, seconds
            )
            measured[case.name] = figures
            print(http_report.row(case, figures, measured), flush=True)
            time.sleep(0.5)
    finally:
        stop(server)


def main(
    seconds: float = 10.0,
    concurrency: int = 32,
    workers: Sequence[int] = (1, 2),
    only: str | None = None,
    load_processes: int = 1,
) -> None:
    database_url, quotations = asyncio.run(_prepare_database())
    context = multiprocessing.get_context("spawn")
    try:
        print(
            f"HTTP benchmark: {concurrency} connections from {load_processes} load process(es),"
            f" {seconds:g} s per case (after 1 s of warm-up), {quotations} quotations with"
            f" their offers, {os.cpu_count()} cores"
        )
        with ProcessPoolExecutor(load_processes, mp_context=context) as pool:
            for count in workers:
                _run_server(
                    database_url,
                    workers=count,
                    seconds=seconds,
                    concurrency=concurrency,
                    only=only,
                    pool=pool,
                    load_processes=load_processes,
                )
    finally:
        asyncio.run(devservers.drop_database(database_url))


if __name__ == "__main__":
    main()
