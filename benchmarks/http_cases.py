"""The cases of the HTTP benchmark: what each sends, which baseline a GraphQL case is compared
with, and the check made once before measuring that a case answers what it should."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import httpx

from benchmarks.loadgen import Request

VIEWER = "{ viewer { id email fullName role locale company { id name kind } } }"
PAGE_FIELDS = """edges { cursor node {
  id status destination startDate endDate travellers currency offerCount
  offers { id hotelAlias status netPrice { amount currency } hotel { id name } }
} }"""
PAGE = "{ quotations(first: 20) { " + PAGE_FIELDS + " } }"
PAGE_100 = "{ quotations(first: 100) { " + PAGE_FIELDS + " } }"

FLOOR = "floor: asyncpg, one SQL, json_agg"
BASELINE_VIEWER = "baseline: viewer"
BASELINE_ADMIN = "baseline: 20 quotations, ADMIN"
BASELINE_HOTEL = "baseline: 20 quotations, HOTEL"


@dataclass(frozen=True)
class Target:
    """The issue's goal for a case: at least ``ratio`` x the requests/s of ``versus`` (FLOOR or
    the matching baseline), with p95 under ``p95_ms``."""

    versus: str
    ratio: float
    p95_ms: float

    def describe(self) -> str:
        against = "floor" if self.versus == FLOOR else "baseline"
        return f"≥ {self.ratio:.2f}x {against}, p95 < {self.p95_ms:.0f} ms"


PAGE_TARGET = Target(FLOOR, 0.35, 100)
VIEWER_TARGET = Target(BASELINE_VIEWER, 0.8, 50)


@dataclass(frozen=True)
class Case:
    name: str
    request: Request
    edges: int | None = None  # a page: how many edges the answer must hold
    baseline: str | None = None  # the hand-written case a GraphQL case is compared with
    target: Target | None = None
    apq: bytes | None = None  # APQ: the registering body, sent before the hash-only requests


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def graphql_request(body: dict[str, Any], token: str, *, no_cache: bool = False) -> Request:
    headers = {"Content-Type": "application/json"} | _auth(token)
    if no_cache:
        headers["Cache-Control"] = "no-cache"
    return Request("POST", "/graphql", headers, json.dumps(body).encode())


def persisted(query: str) -> dict[str, Any]:
    """Apollo's automatic persisted query extension for ``query``."""
    digest = hashlib.sha256(query.encode()).hexdigest()
    return {"persistedQuery": {"version": 1, "sha256Hash": digest}}


def all_cases(admin: str, hotel: str) -> list[Case]:
    """Every case in the order they run; the GraphQL pages twice, as sent (the response cache
    may answer) and with ``Cache-Control: no-cache`` (it must not)."""
    cases = [
        Case(FLOOR, Request("GET", "/floor/quotations", {}), edges=20),
        Case(BASELINE_VIEWER, Request("GET", "/baseline/viewer", _auth(admin))),
        Case(BASELINE_ADMIN, Request("GET", "/baseline/quotations", _auth(admin)), edges=20),
        Case(BASELINE_HOTEL, Request("GET", "/baseline/quotations", _auth(hotel)), edges=20),
    ]
    graphql: list[tuple[str, str, str, int | None, str | None, Target | None]] = [
        ("GraphQL viewer", VIEWER, admin, None, BASELINE_VIEWER, VIEWER_TARGET),
        ("GraphQL 20 quotations, ADMIN", PAGE, admin, 20, BASELINE_ADMIN, PAGE_TARGET),
        ("GraphQL 20 quotations, HOTEL", PAGE, hotel, 20, BASELINE_HOTEL, PAGE_TARGET),
        ("GraphQL 100 quotations, ADMIN", PAGE_100, admin, 100, None, None),
    ]
    for name, query, token, edges, baseline, target in graphql:
        for no_cache in (False, True):
            cases.append(Case(
                f"{name}, {'no-cache' if no_cache else 'cached'}",
                graphql_request({"query": query}, token, no_cache=no_cache),
                edges, baseline, target,
            ))  # fmt: skip
    for no_cache in (False, True):
        extension = persisted(PAGE)
        cases.append(Case(
            f"GraphQL APQ 20 quotations, ADMIN, {'no-cache' if no_cache else 'cached'}",
            graphql_request({"extensions": extension}, admin, no_cache=no_cache),
            20, BASELINE_ADMIN, PAGE_TARGET,
            apq=json.dumps({"query": PAGE, "extensions": extension}).encode(),
        ))  # fmt: skip
    return cases


class CaseError(Exception):
    """A case does not answer what it should: it is reported, not measured."""


def _httpx(http: httpx.AsyncClient, request: Request, body: bytes | None = None) -> httpx.Request:
    return http.build_request(
        request.method,
        request.path,
        headers=request.headers,
        content=request.body if body is None else body,
    )


async def _send(http: httpx.AsyncClient, request: httpx.Request) -> dict[str, Any]:
    response = await http.send(request)
    try:
        answer: dict[str, Any] = response.json()
    except ValueError as error:
        raise CaseError(f"HTTP {response.status_code}, not JSON: {response.text[:200]}") from error
    if response.status_code != 200 or answer.get("errors") or answer.get("data") is None:
        messages = [e.get("message") for e in answer.get("errors") or []]
        raise CaseError(f"HTTP {response.status_code}, errors {messages or answer}")
    return answer


async def register_apq(http: httpx.AsyncClient, case: Case, connections: int) -> None:
    """Send the query with its hash on ``connections`` fresh connections, so that every
    worker process sees it even if each keeps its own store."""
    assert case.apq is not None
    for _ in range(connections):
        async with httpx.AsyncClient(base_url=http.base_url) as fresh:
            await _send(fresh, _httpx(fresh, case.request, case.apq))


async def check(http: httpx.AsyncClient, case: Case) -> dict[str, Any]:
    """One request of ``case`` (after registering an APQ case's query): 200, data, no errors and,
    for a page, as many edges as asked. Returns the answer."""
    if case.apq is not None:
        await register_apq(http, case, connections=16)
    answer: dict[str, Any] = {}
    for _ in range(4 if case.apq is not None else 1):  # on fresh connections: any worker
        async with httpx.AsyncClient(base_url=http.base_url) as fresh:
            try:
                answer = await _send(fresh, _httpx(fresh, case.request))
            except CaseError as failure:
                if case.apq is None:
                    raise
                if "PersistedQueryNotFound" in str(failure):
                    raise CaseError(
                        "APQ: the server answers PersistedQueryNotFound to the hash after "
                        "registering it (no APQ, or a store per worker process)"
                    ) from failure
                raise CaseError(f"APQ: the hash alone is refused: {failure}") from failure
    if case.edges is not None:
        found = len(answer["data"]["quotations"]["edges"])
        if found != case.edges:
            raise CaseError(f"{found} edges, expected {case.edges}")
    return answer


def page_ids(answer: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """The quotation ids of a page in order, each with its offer ids in order."""
    return [
        (edge["node"]["id"], [offer["id"] for offer in edge["node"]["offers"]])
        for edge in answer["data"]["quotations"]["edges"]
    ]
