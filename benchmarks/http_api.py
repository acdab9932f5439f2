"""HTTP benchmark: GraphQL operations against a plain Starlette baseline doing the same SQL.

The server (one uvicorn process with uvloop and httptools) and the load generator run in
separate processes, against a database of their own on the configured or local PostgreSQL.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import socket
import time
from concurrent.futures import ProcessPoolExecutor

import httpx
from pydantic import SecretStr
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.requests import Request as StarletteRequest
from starlette.responses import JSONResponse

from benchmarks.keys import KEYRING
from benchmarks.loadgen import Figures, Request, run_load_process
from spirit_tours.app import create_app
from spirit_tours.config import Environment, Settings
from spirit_tours.core.clock import now_utc
from spirit_tours.dev import servers as devservers
from spirit_tours.dev.demo import DEMO_PASSWORD, add_demo_quotation, seed_demo
from spirit_tours.edge.server import run as run_server
from spirit_tours.edge.server import server_config
from spirit_tours.permissions.quotations import QuotationScope, relation_to, visible_quotations
from spirit_tours.persistence.accounts import User
from spirit_tours.persistence.database import create_engine, create_session_factory
from spirit_tours.persistence.migrate import migrate
from spirit_tours.persistence.repositories import accounts
from spirit_tours.persistence.repositories import quotations as quotation_repository
from spirit_tours.persistence.repositories.pagination import encode_cursor
from spirit_tours.resolvers.quotations.rules import effective_status
from spirit_tours.services import Services

VIEWER = "{ viewer { id email fullName role locale company { id name kind } } }"
PAGE = """{ quotations(first: 20) { edges { cursor node {
  id status destination startDate endDate travellers currency offerCount
  offers { id hotelAlias status netPrice { amount currency } hotel { id name } }
} } } }"""


async def baseline_page(request: StarletteRequest) -> JSONResponse:
    """The same 20-quotation page by hand: the same repository SQL, the same privacy rules,
    serialised straight to JSON without GraphQL."""
    services: Services = request.app.state.services
    viewer = (
        await services.authenticate(request.headers["authorization"].partition(" ")[2])
    ).viewer
    now = now_utc()
    async with services.sessions() as session:
        page = await quotation_repository.quotation_page(
            session,
            visible_quotations(viewer),
            now=now,
            first=20,
            after=None,
            statuses=None,
            destination=None,
        )
        ids = [row.id for row in page.rows]
        invitations = await quotation_repository.invitations_by_quotation(session, ids)
        offers = await quotation_repository.offers_by_quotation(session, ids)
        hotel_ids = list({offer.hotel_id for rows in offers.values() for offer in rows})
        hotels = await accounts.hotels_by_ids(session, hotel_ids)
    edges = []
    for row in page.rows:
        invited = invitations[row.id]
        scope = QuotationScope(
            relation_to(viewer, row, (i.hotel_company_id for i in invited)),
            row.competitor_prices,
            viewer.company_id,
        )
        aliases = {i.hotel_id: i.alias for i in invited}
        listed = [offer for offer in offers[row.id] if scope.lists_offer(offer)]
        edges.append({"cursor": encode_cursor(row.created_at, row.id), "node": {
            "id": str(row.id), "status": effective_status(row, now).value,
            "destination": row.destination, "startDate": row.start_date.isoformat(),
            "endDate": row.end_date.isoformat(), "travellers": row.travellers,
            "currency": row.currency,
            "offerCount": len(offers[row.id]) if scope.sees_offer_count else None,
            "offers": [{
                "id": str(offer.id),
                "hotelAlias": aliases.get(offer.hotel_id)
                if scope.offer_scope(offer).sees_alias else None,
                "status": offer.status.value,
                "netPrice": {"amount": str(offer.net_price), "currency": offer.currency}
                if scope.offer_scope(offer).sees_net_price else None,
                "hotel": {"id": str(offer.hotel_id), "name": hotels[offer.hotel_id].name}
                if scope.offer_scope(offer).sees_hotel else None,
            } for offer in listed],
        }})  # fmt: skip
    return JSONResponse({"data": {"quotations": {"edges": edges}}})


async def baseline_viewer(request: StarletteRequest) -> JSONResponse:
    """The same work as the `viewer` query by hand: verify the JWT and its session, read the
    user and company."""
    services: Services = request.app.state.services
    token = request.headers["authorization"].partition(" ")[2]
    viewer = (await services.authenticate(token)).viewer
    async with services.sessions() as session:
        user = await accounts.user_by_id(session, viewer.user_id)
        assert user is not None
        companies = await accounts.companies_by_ids(
            session, [user.company_id] if user.company_id else []
        )
    company = companies.get(user.company_id) if user.company_id else None
    return JSONResponse(
        {
            "data": {
                "viewer": {
                    "id": str(user.id),
                    "email": user.email,
                    "fullName": user.full_name,
                    "role": user.role.value,
                    "locale": user.locale.value,
                    "company": company
                    and {"id": str(company.id), "name": company.name, "kind": company.kind.value},
                }
            }
        }
    )


def bench_app(database_url: str, redis_url: str) -> Starlette:
    settings = Settings(
        env=Environment.PRODUCTION,
        database_url=database_url,
        redis_url=redis_url,
        jwt_secret=SecretStr("benchmark-secret-" + "x" * 32),
        email_secret=SecretStr("benchmark-email-secret-" + "x" * 32),
        public_url="http://127.0.0.1",  # production requires it; nothing here follows links
        log_level="warning",
        # The load generator is a handful of viewers: keep the rate limiter's round trip in
        # the measurement, never its refusals.
        rate_limit_points=10**12,
    )
    app = create_app(settings)
    app.add_route("/baseline/viewer", baseline_viewer)
    app.add_route("/baseline/quotations", baseline_page)
    return app


def _serve(database_url: str, redis_url: str, port: int) -> None:
    # The edge limits of `spirit-tours serve` (default settings), with uvloop as there.
    app = bench_app(database_url, redis_url)
    config = server_config(app, Settings(), host="127.0.0.1", port=port, loop="uvloop",
                           log_level="warning", access_log=False)  # fmt: skip
    run_server(config)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def _prepare_database() -> str:
    url = await devservers.create_database("spirit_bench")
    engine = create_engine(url, pool_size=2, keyring=KEYRING)
    await migrate(engine)
    async with create_session_factory(engine)() as session, session.begin():
        await seed_demo(session, Settings(seed_demo=False))
        users = {user.email: user for user in await session.scalars(select(User))}
        for _ in range(19):
            await add_demo_quotation(session, users)
    await engine.dispose()
    return url


async def _login(base: str, email: str) -> str:
    async with httpx.AsyncClient(base_url=base) as http:
        for _ in range(200):
            try:
                if (await http.get("/readyz")).status_code == 200:
                    break
            except httpx.TransportError:
                await asyncio.sleep(0.1)
        query = (
            "mutation($e: String!, $p: String!) "
            "{ login(input: {email: $e, password: $p}) { accessToken } }"
        )
        response = await http.post(
            "/graphql", json={"query": query, "variables": {"e": email, "p": DEMO_PASSWORD}}
        )
        token: str = response.json()["data"]["login"]["accessToken"]
        return token


def graphql_request(query: str, token: str) -> Request:
    body = json.dumps({"query": query}).encode()
    return Request(
        "POST",
        "/graphql",
        {"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        body,
    )


def main(seconds: float = 10.0, concurrency: int = 32) -> None:
    database_url = asyncio.run(_prepare_database())
    redis_url = devservers.redis_url()
    port = _free_port()
    context = multiprocessing.get_context("spawn")
    server = context.Process(target=_serve, args=(database_url, redis_url, port), daemon=True)
    server.start()
    try:
        base = f"http://127.0.0.1:{port}"
        token = asyncio.run(_login(base, "admin@spirit-tours.example"))
        hotel = asyncio.run(_login(base, "sales@qorikancha-suites.example"))
        cases: list[tuple[str, Request]] = [
            ("baseline: Starlette JSON (viewer)", Request(
                "GET", "/baseline/viewer", {"Authorization": f"Bearer {token}"}
            )),
            ("GraphQL viewer", graphql_request(VIEWER, token)),
            ("baseline: 20 quotations, ADMIN", Request(
                "GET", "/baseline/quotations", {"Authorization": f"Bearer {token}"}
            )),
            ("GraphQL 20 quotations, ADMIN", graphql_request(PAGE, token)),
            ("baseline: 20 quotations, HOTEL", Request(
                "GET", "/baseline/quotations", {"Authorization": f"Bearer {hotel}"}
            )),
            ("GraphQL 20 quotations, HOTEL", graphql_request(PAGE, hotel)),
        ]  # fmt: skip
        print(f"HTTP benchmark: {concurrency} connections, {seconds:.0f} s per case, "
              f"1 server process, {os.cpu_count()} cores")  # fmt: skip
        with ProcessPoolExecutor(1, mp_context=context) as pool:
            pool.submit(run_load_process, "127.0.0.1", port, cases[0][1], 4, 1.0).result()
            for name, request in cases:
                figures: Figures = pool.submit(
                    run_load_process, "127.0.0.1", port, request, concurrency, seconds
                ).result()
                print(figures.row(name))
                time.sleep(0.5)
    finally:
        server.terminate()
        server.join(10)
        asyncio.run(devservers.drop_database(database_url))


if __name__ == "__main__":
    main()
