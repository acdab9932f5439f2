"""The response cache (schema/response_cache.py) over real HTTP: every viewer gets its own
answer whatever the order of requests, a write is seen by the very next query, and only error-
free queries of the allowlisted root fields are kept.

Snapshots are the cluster's and other test processes write to other databases meanwhile, so a
hit is asserted as "eventually, within a few repeats"; what must hold on every single request
(never another scope's answer, never a stale one) is asserted on every request.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from graphql import parse
from redis.asyncio import Redis
from starlette.routing import Route

from spirit_tours.config import Settings
from spirit_tours.core.enums import Role
from spirit_tours.emails.feed import feed_once
from spirit_tours.emails.triggers import FrontEnd
from spirit_tours.graphql_app import CACHE_HEADER, GraphQLApp
from spirit_tours.persistence.database import SessionFactory
from spirit_tours.persistence.snapshot import current_snapshot
from spirit_tours.schema.build import build_schema
from spirit_tours.schema.query_cost import operation_cost
from spirit_tours.schema.response_store import ResponseStore
from tests.conftest import METRICS_TOKEN, PASSWORD, LiveServer, UserFactory, serving
from tests.graphql_client import GraphQLClient
from tests.live_client import relayed
from tests.memory import bytes_kept
from tests.quotation_flows import CLOSE, PROPOSE, World, make_world, open_quotation, submit

VIEW = """
query View($id: ID!) {
  quotation(id: $id) {
    id destination
    owner { email }
    offers { netPrice { amount } hotel { name } }
    myOffer { netPrice { amount } hotel { name } }
    offerCount myRank markupPercent sellingPrice { amount }
  }
}"""
PRICES = ["1000.00", "900.00", "1100.00"]  # hotels 0, 1, 2
NAMES = ["Inti Palace", "Qorikancha Suites", "Andean Lodge"]
REVISE = """
mutation($input: ReviseOfferInput!) { reviseOffer(input: $input) { offer { id } } }"""
REPEATS = 30  # tries for a hit; a miss is only a write somewhere in the cluster in between


class Client:
    """Posts GraphQL to one server and reads the cache header."""

    def __init__(self, http: httpx.AsyncClient, server: LiveServer | None = None) -> None:
        self.http = http
        self.server = server

    async def ask(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        token: str | None = None,
        fresh: bool = False,
    ) -> tuple[dict[str, Any], str | None]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if fresh:
            headers["Cache-Control"] = "no-cache"
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body, response.headers.get(CACHE_HEADER)


@asynccontextmanager
async def own_server(settings: Settings, **changes: Any) -> AsyncIterator[Client]:
    async with (
        serving(settings.model_copy(update=changes)) as server,
        httpx.AsyncClient(base_url=server.url, timeout=30) as http,
    ):
        yield Client(http, server)


def store_of(client: Client) -> ResponseStore:
    server = client.server
    assert server is not None
    app = next(
        route.endpoint
        for route in server.app.routes
        if isinstance(route, Route) and route.path == "/graphql"
    )
    assert isinstance(app, GraphQLApp)
    assert app.response_cache is not None
    return app.response_cache.store


def fingerprint(body: dict[str, Any]) -> dict[str, Any]:
    """What docs/privacy.md §1 decides in the answer: prices and identities."""
    assert "errors" not in body, body
    quotation = body["data"]["quotation"]
    return {
        "owner": quotation["owner"],
        "offers": [
            (o["hotel"] and o["hotel"]["name"], o["netPrice"] and o["netPrice"]["amount"])
            for o in quotation["offers"]
        ],
        "mine": quotation["myOffer"],
        "count": quotation["offerCount"],
        "rank": quotation["myRank"],
        "markup": quotation["markupPercent"],
        "selling": quotation["sellingPrice"],
    }


def own(index: int) -> dict[str, Any]:
    return {"netPrice": {"amount": PRICES[index]}, "hotel": {"name": NAMES[index]}}


async def _proposed(gql: GraphQLClient, world: World, mode: str) -> str:
    quotation_id = await open_quotation(gql, world, mode=mode)
    for hotel, price in zip(world.hotels, PRICES, strict=True):
        await submit(gql, hotel, quotation_id, price)
    (await gql.execute(CLOSE, {"q": quotation_id}, token=world.admin.token)).ok()
    offers = await gql.execute(
        "query($id: ID!) { quotation(id: $id) { offers { id } } }",
        {"id": quotation_id},
        token=world.admin.token,
    )
    cheapest = offers.ok()["quotation"]["offers"][1]["id"]
    (await gql.execute(PROPOSE, {"q": quotation_id, "o": cheapest, "m": "20"},
                       token=world.admin.token)).ok()  # fmt: skip
    return quotation_id


async def _warm(client: Client, token: str, quotation_id: str) -> None:
    """Each hotel's first look marks its invitation viewed (a write); after it, reads only."""
    await client.ask(VIEW, {"id": quotation_id}, token=token)


async def test_every_viewer_gets_its_own_answer_in_any_order(
    gql: GraphQLClient,
    http: httpx.AsyncClient,
    make_user: UserFactory,
    sessions: SessionFactory,
) -> None:
    world = await make_world(gql, make_user)
    quotation_id = await _proposed(gql, world, "RANK_ONLY")
    expected: dict[str, dict[str, Any]] = {
        world.admin.token: {
            "owner": {"email": "maria@andes.example"},
            "offers": list(zip(NAMES, PRICES, strict=True)),
            "mine": None, "count": 3, "rank": None, "markup": "20.00",
            "selling": {"amount": "1080.00"},
        },
        world.agency.token: {  # the owner: hotels to choose from, never a net price
            "owner": {"email": "maria@andes.example"},
            "offers": [(name, None) for name in NAMES],
            "mine": None, "count": 3, "rank": None, "markup": None,
            "selling": {"amount": "1080.00"},
        },
        world.hotels[0].token: {  # its own offer, third of three by price
            "owner": None, "offers": [(NAMES[0], PRICES[0])], "mine": own(0),
            "count": 3, "rank": 2, "markup": None, "selling": None,
        },
        world.hotels[1].token: {  # a competitor of hotel 0: its own offer only
            "owner": None, "offers": [(NAMES[1], PRICES[1])], "mine": own(1),
            "count": 3, "rank": 1, "markup": None, "selling": None,
        },
    }  # fmt: skip
    client = Client(http)
    for hotel in world.hotels:
        await _warm(client, hotel.token, quotation_id)
    await relayed(sessions)
    outsider, _ = await client.ask(VIEW, {"id": quotation_id}, token=world.outsider_hotel.token)
    assert outsider["data"] == {"quotation": None}
    assert outsider["errors"][0]["extensions"]["code"] == "NOT_FOUND"

    hits: dict[str, int] = dict.fromkeys(expected, 0)
    order = random.Random(15)  # a reproducible shuffle
    tokens = list(expected)
    for _ in range(REPEATS):
        order.shuffle(tokens)
        for token in tokens:
            for _ in range(2):  # back to back: the second is a hit unless something committed
                body, outcome = await client.ask(VIEW, {"id": quotation_id}, token=token)
                assert outcome in {"hit", "miss"}
                assert fingerprint(body) == expected[token]
                hits[token] += outcome == "hit"
        # The uninvited hotel is NOT_FOUND every time (an error is never stored).
        body, outcome = await client.ask(
            VIEW, {"id": quotation_id}, token=world.outsider_hotel.token
        )
        assert body["data"] == {"quotation": None}
        assert outcome == "miss"
        if all(hits.values()):
            break
    assert all(hits.values()), hits


async def test_two_users_of_one_company_never_share_an_answer(
    http: httpx.AsyncClient, gql: GraphQLClient, make_user: UserFactory
) -> None:
    await make_user("ana@andes.example", Role.AGENCY, company="Andes Travel")
    await make_user("luis@andes.example", Role.AGENCY, company="Andes Travel")
    tokens = {
        email: await gql.token_for(email, PASSWORD)
        for email in ("ana@andes.example", "luis@andes.example")
    }
    client = Client(http)
    query = "{ viewer { email role company { name } } }"
    hits = dict.fromkeys(tokens, 0)
    for n in range(REPEATS):
        for email in tokens if n % 2 else reversed(tokens):
            body, outcome = await client.ask(query, token=tokens[email])
            assert body["data"]["viewer"] == {
                "email": email, "role": "AGENCY", "company": {"name": "Andes Travel"},
            }  # fmt: skip
            hits[email] += outcome == "hit"
        if all(hits.values()):
            break
    assert all(hits.values()), hits


async def test_a_write_is_seen_by_the_next_query_at_once(
    http: httpx.AsyncClient, gql: GraphQLClient, make_user: UserFactory, sessions: SessionFactory
) -> None:
    world = await make_world(gql, make_user)
    quotation_id = await open_quotation(gql, world)
    offer_id = await submit(gql, world.hotels[0], quotation_id, "1000.00")
    client = Client(http)
    seen_hit = False
    for n in range(8):
        await relayed(sessions)
        price = f"{1000 + n}.00"
        for _ in range(4):
            body, outcome = await client.ask(VIEW, {"id": quotation_id}, token=world.admin.token)
            assert fingerprint(body)["offers"] == [(NAMES[0], price)]
            seen_hit = seen_hit or outcome == "hit"
        revise = {"input": {"offerId": offer_id, "netPrice": f"{1001 + n}.00"}}
        (await gql.execute(REVISE, revise, token=world.hotels[0].token)).ok()
        # No waiting: the very next query shows the new price.
    assert seen_hit


async def test_answers_with_errors_are_never_stored(
    http: httpx.AsyncClient, gql: GraphQLClient, make_user: UserFactory
) -> None:
    await make_user("admin@op.example", Role.ADMIN)
    token = await gql.token_for("admin@op.example", PASSWORD)
    client = Client(http)
    partial = "query($id: ID!) { viewer { email } quotation(id: $id) { id } }"
    missing = "query($id: ID!) { booking(id: $id) { id } }"
    invalid = "{ viewer { nope } }"
    for _ in range(10):
        body, outcome = await client.ask(partial, {"id": str(uuid.uuid4())}, token=token)
        assert body["data"] == {"viewer": {"email": "admin@op.example"}, "quotation": None}
        assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
        assert outcome == "miss"
        body, outcome = await client.ask(missing, {"id": str(uuid.uuid4())}, token=token)
        assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
        assert outcome == "miss"
        body, outcome = await client.ask(invalid, token=token)
        assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
        assert outcome == "miss"


async def test_the_cache_keeps_no_copy_of_operation_names_it_was_sent(
    http: httpx.AsyncClient, gql: GraphQLClient, make_user: UserFactory
) -> None:
    """Which operations it may keep is remembered per document and operation name: it must not
    keep the name a client sent (any text up to the body limit, whether the document has such
    an operation or not), or one signed-in client fills the server's memory."""
    await make_user("cli@client.example", Role.CLIENT)
    token = await gql.token_for("cli@client.example", PASSWORD)
    junk = "x" * 256 * 1024

    async def send(n: int) -> None:
        response = await http.post(
            "/graphql",
            json={"query": "query Me { viewer { email } }", "operationName": f"Op{n}{junk}"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 400, response.text[:300]
        assert "Unknown operation named" in response.text, response.text[:300]

    kept = await bytes_kept(send, 40)
    sent = 40 * len(junk)
    assert kept < sent / 4, f"{kept >> 20} MiB kept of {sent >> 20} MiB sent"


async def test_only_queries_of_allowlisted_root_fields_are_kept(
    http: httpx.AsyncClient, gql: GraphQLClient, make_user: UserFactory
) -> None:
    await make_user("admin@op.example", Role.ADMIN)
    token = await gql.token_for("admin@op.example", PASSWORD)
    client = Client(http)
    not_kept = [
        "{ jobQueues { name queued } }",  # saq's Redis
        "{ emailStats { day sent } }",
        "{ viewer { email } vehicles { id } }",  # one root field outside the list is enough
        "query { ...Root } fragment Root on Query { viewer { id } jobQueues { name } }",
        "{ __schema { queryType { name } } }",
        "mutation { acknowledgeNotifications(ids: []) { acknowledged } }",
    ]
    for query in not_kept:
        for _ in range(3):
            body, outcome = await client.ask(query, token=token)
            assert outcome is None, (query, body)
    kept = "query { __typename ...Root } fragment Root on Query { viewer { email } }"
    outcomes = set()
    for _ in range(REPEATS):
        body, outcome = await client.ask(kept, token=token)
        assert body["data"]["viewer"] == {"email": "admin@op.example"}
        outcomes.add(outcome)
        if "hit" in outcomes:
            break
    assert outcomes == {"miss", "hit"}
    # Anonymous callers and refused tokens: the cache stays out.
    for anonymous in (None, "not-a-token"):
        body, outcome = await client.ask("{ viewer { email } }", token=anonymous)
        assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        assert outcome is None


async def _hit(client: Client, query: str, token: str, variables: Any = None) -> None:
    for _ in range(REPEATS):
        _, outcome = await client.ask(query, variables, token=token)
        if outcome == "hit":
            return
    raise AssertionError("no hit")


async def test_no_cache_computes_a_fresh_answer(
    http: httpx.AsyncClient, gql: GraphQLClient, make_user: UserFactory
) -> None:
    await make_user("admin@op.example", Role.ADMIN)
    token = await gql.token_for("admin@op.example", PASSWORD)
    client = Client(http)
    query = "{ viewer { email } }"
    await _hit(client, query, token)
    for _ in range(3):
        body, outcome = await client.ask(query, token=token, fresh=True)
        assert outcome == "bypass"
        assert body["data"]["viewer"]["email"] == "admin@op.example"
    await _hit(client, query, token)  # a fresh answer may be stored


async def test_an_answer_is_served_no_longer_than_the_max_age(
    settings: Settings, gql: GraphQLClient, make_user: UserFactory
) -> None:
    await make_user("admin@op.example", Role.ADMIN)
    token = await gql.token_for("admin@op.example", PASSWORD)
    query = "{ viewer { email } }"
    async with own_server(settings, response_cache_seconds=0.5) as client:
        for _ in range(3):
            await _hit(client, query, token)
            await asyncio.sleep(0.6)
            _, outcome = await client.ask(query, token=token)
            assert outcome == "miss"
    async with own_server(settings, response_cache_seconds=0) as client:
        for _ in range(3):
            _, outcome = await client.ask(query, token=token)
            assert outcome is None  # off


async def test_the_lru_stays_within_its_bounds(
    settings: Settings, gql: GraphQLClient, make_user: UserFactory
) -> None:
    await make_user("admin@op.example", Role.ADMIN)
    token = await gql.token_for("admin@op.example", PASSWORD)
    query = "query($x: Int!) { quotations(first: $x) { totalCount } }"
    async with own_server(settings, response_cache_entries=3) as c:
        store = store_of(c)
        before = await _evictions(c)
        for n in range(1, REPEATS * 2):  # each answer kept unless a commit came in between
            await c.ask(query, {"x": n}, token=token)
            assert len(store) <= 3
            if len(store) == 3 and await _evictions(c) > before:  # the oldest dropped
                break
        assert len(store) == 3
        assert await _evictions(c) > before
    one = len(b'{"data":{"quotations":{"totalCount":0}},"extensions":null}')
    async with own_server(settings, response_cache_bytes=3 * one) as c:
        store = store_of(c)
        for n in range(1, REPEATS * 2):
            await c.ask(query, {"x": n}, token=token)
            assert store.size <= 3 * one
            if n > 4 and len(store) == 3:
                break
        assert len(store) == 3
        kept = store.size
        fields = "id email fullName role locale createdAt"
        big = f"{{ a: viewer {{ {fields} }} b: viewer {{ {fields} }} }}"
        body, _ = await c.ask(big, token=token)
        assert len(json.dumps(body)) > 3 * one
        assert store.size == kept  # larger than the whole budget: not kept, nothing dropped


async def _evictions(client: Client) -> float:
    metrics = await client.http.get(
        "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
    )
    found = re.search(
        r'^spirit_response_cache_evictions_total\{reason="capacity"\} (\S+)$',
        metrics.text,
        re.MULTILINE,
    )
    return float(found.group(1)) if found else 0.0


async def test_a_hit_is_charged_the_cost_of_the_document(
    settings: Settings, gql: GraphQLClient, make_user: UserFactory, redis: Redis
) -> None:
    user = await make_user("admin@op.example", Role.ADMIN)
    token = await gql.token_for("admin@op.example", PASSWORD)
    query = "query($f: Int!) { quotations(first: $f) { totalCount edges { node { id } } } }"
    variables = {"f": 5}
    cost = operation_cost(build_schema(settings)._schema, parse(query), None, variables)
    assert cost > 5
    allowed = 40
    async with own_server(settings, rate_limit_points=allowed * cost) as client:
        outcomes = []
        for n in range(1, allowed + 1):
            body, outcome = await client.ask(query, variables, token=token)
            assert body["data"]["quotations"]["totalCount"] == 0
            outcomes.append(outcome)
            assert await _spent(redis, user.id) == n * cost  # hits and misses alike
        assert "hit" in outcomes
        body, outcome = await client.ask(query, variables, token=token)
        assert body["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
        assert "data" not in body  # a request error: nothing ran


async def _spent(redis: Redis, user_id: uuid.UUID) -> int:
    keys = [key async for key in redis.scan_iter(f"rate-limit:user:{user_id}:*")]
    values = [await redis.get(key) for key in keys]
    return sum(int(value) for value in values if value is not None)


async def test_metrics_count_hits_misses_and_stores(
    http: httpx.AsyncClient, gql: GraphQLClient, make_user: UserFactory
) -> None:
    await make_user("admin@op.example", Role.ADMIN)
    token = await gql.token_for("admin@op.example", PASSWORD)
    await _hit(Client(http), "{ viewer { email } }", token)
    text = (await http.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})).text
    for sample in (
        'spirit_response_cache_lookups_total{outcome="hit"}',
        'spirit_response_cache_lookups_total{outcome="miss"}',
        "spirit_response_cache_stores_total",
        "spirit_response_cache_entries",
        "spirit_response_cache_bytes",
    ):
        assert re.search(rf"^{re.escape(sample)} [1-9]", text, re.MULTILINE), sample


async def test_an_idle_email_feed_leaves_the_database_snapshot_alone(
    sessions: SessionFactory,
) -> None:
    """The e-mail feed polls every second; when nothing is waiting it must not take a row lock
    (a transaction id), or the snapshot would move every second and no cached answer would live
    longer. Other test processes write to other databases of the server meanwhile, so the
    snapshot is compared over several tries: unchanged across three polls at least once."""
    links = FrontEnd("http://front.example")
    await feed_once(sessions, links, "spirit.example")  # creates its cursor row: a write
    for _ in range(50):
        async with sessions() as session:
            before = await current_snapshot(session)
        for _ in range(3):
            assert await feed_once(sessions, links, "spirit.example") == (0, [])
        async with sessions() as session:
            if await current_snapshot(session) == before:
                return
    raise AssertionError("every idle poll of the e-mail feed changed the database snapshot")


async def test_a_persisted_query_registered_by_a_cached_answer_is_kept(
    http: httpx.AsyncClient, gql: GraphQLClient, make_user: UserFactory
) -> None:
    """Apollo's client registers a document (hash and query) after PersistedQueryNotFound; when
    the answer to that query comes from the cache, the document must be kept all the same, or
    the client would be told PersistedQueryNotFound on every request."""
    await make_user("admin@op.example", Role.ADMIN)
    token = await gql.token_for("admin@op.example", PASSWORD)
    headers = {"Authorization": f"Bearer {token}"}
    for attempt in range(REPEATS):
        query = f"{{ viewer {{ email role }} }} # {attempt}"  # a document never registered
        digest = hashlib.sha256(query.encode()).hexdigest()
        extensions = {"persistedQuery": {"version": 1, "sha256Hash": digest}}
        await _hit(Client(http), query, token)  # its answer is cached, from the plain query
        registering = await http.post(
            "/graphql", json={"query": query, "extensions": extensions}, headers=headers
        )
        if registering.headers.get(CACHE_HEADER) != "hit":
            continue  # a write elsewhere ended the entry: that request ran and registered
        answer = await http.post("/graphql", json={"extensions": extensions}, headers=headers)
        assert answer.json() == {"data": {"viewer": {"email": "admin@op.example", "role": "ADMIN"}}}
        return
    raise AssertionError("the registering request was never answered from the cache")
