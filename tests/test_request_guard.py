"""The request guard: hostile documents, query cost, per-viewer rate limit, input text and
malformed HTTP bodies (issue 12, findings 1, 5 and 7).

The hostile documents are sized so that any exponential or quadratic walk would never finish;
they run against a server on its own thread and event loop, so the client's timeout still
fires (and ``/healthz`` is still asked) if the server's loop were frozen.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import uvicorn
import websockets
from graphql import parse
from redis.asyncio import Redis

from spirit_tours.app import create_app
from spirit_tours.auth.rate_limit import CostRateLimiter
from spirit_tours.config import Settings
from spirit_tours.graphql_ws import close_reason
from spirit_tours.schema.build import build_schema
from spirit_tours.schema.query_cost import OperationCosts, operation_cost
from tests.conftest import PASSWORD, LiveServer, UserFactory, serving
from tests.graphql_client import LOGIN, GraphQLClient, Result
from tests.memory import bytes_kept

PROTOCOL = websockets.Subprotocol("graphql-transport-ws")
HOSTILE_TIMEOUT = 5.0  # seconds; exponential validation of these documents would take years


@contextlib.contextmanager
def threaded_server(settings: Settings) -> Iterator[str]:
    """The app behind uvicorn on a thread of its own (its own event loop)."""
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=0, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(1000):
        if server.started or not thread.is_alive():
            break
        threading.Event().wait(0.02)
    assert server.started, "the threaded server did not start"
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def own_loop_server(settings: Settings) -> Iterator[str]:
    with threaded_server(settings) as url:
        yield url


async def _post_hostile(base_url: str, query: str) -> tuple[Result, httpx.Response]:
    """Send ``query`` and ask ``/healthz`` at the same time; both must answer in time."""
    async with httpx.AsyncClient(base_url=base_url, timeout=HOSTILE_TIMEOUT) as client:
        hostile, health = await asyncio.gather(
            client.post("/graphql", json={"query": query}), client.get("/healthz")
        )
        health_after = await client.get("/healthz")
    assert health.status_code == 200
    assert health_after.json() == {"status": "ok"}
    return Result(hostile.status_code, hostile.json()), hostile


def _doubling_chain(levels: int, leaf: str = "__typename") -> str:
    """``F0`` spreads ``F1`` twice, ``F1`` spreads ``F2`` twice, ...: 2**levels paths."""
    parts = ["query { ...F0 }"]
    parts += [f"fragment F{n} on Query {{ ...F{n + 1} ...F{n + 1} }}" for n in range(levels)]
    parts.append(f"fragment F{levels} on Query {{ {leaf} }}")
    return "\n".join(parts)


HOSTILE_DOCUMENTS = {
    "doubling fragment chain, 40 levels": _doubling_chain(40),
    "doubling fragment chain ending in a field": _doubling_chain(40, "viewer { email }"),
    "doubling chain inside a field": "query { viewer { ...F0 } }\n"
    + "\n".join(f"fragment F{n} on User {{ ...F{n + 1} ...F{n + 1} }}" for n in range(40))
    + "\nfragment F40 on User { company { name } }",
    "20 fields with 19 same-name fields in each": "{ "
    + " ".join(["viewer { " + " ".join(["company { hotels { name } }"] * 19) + " }"] * 20)
    + " }",
    "1200 fields with the same response name": "{ " + " ".join(["viewer { email }"] * 1200) + " }",
    "2400 identical leaf fields": "{ viewer { " + " ".join(["email"] * 2400) + " } }",
    "the same fields through 300 fragments": "query { "
    + " ".join(f"...A{n}" for n in range(300))
    + " } "
    + " ".join(f"fragment A{n} on Query {{ viewer {{ email }} }}" for n in range(300)),
    "2000 spreads of one fragment": "query { "
    + " ".join(["...A"] * 2000)
    + " } fragment A on Query { __typename }",
    "a fragment cycle": "query { ...A } fragment A on Query { ...B } fragment B on Query { ...A }",
    "nesting 2000 levels deep": "{ " + "viewer { " * 2000 + "email" + " }" * 2001,
}


@pytest.mark.parametrize("name", list(HOSTILE_DOCUMENTS))
async def test_hostile_documents_are_refused_at_once(own_loop_server: str, name: str) -> None:
    result, response = await _post_hostile(own_loop_server, HOSTILE_DOCUMENTS[name])
    assert result.data is None
    assert result.codes, result.body
    assert set(result.codes) <= {"GRAPHQL_VALIDATION_FAILED", "GRAPHQL_PARSE_FAILED"}, result.errors
    assert response.headers["content-type"].startswith("application/json")


async def test_doubling_chain_names_the_limit_it_broke(own_loop_server: str) -> None:
    result, _ = await _post_hostile(own_loop_server, _doubling_chain(40))
    # 2**40 `__typename` and 2**41 - 2 spreads once expanded, counted without expanding.
    assert str(2**40 + 2**41 - 1) in result.errors[0]["message"], result.errors


async def test_fragment_spreads_are_capped(gql: GraphQLClient) -> None:
    spreads = " ".join(f"...A{n}" for n in range(101))
    fragments = " ".join(f"fragment A{n} on Query {{ __typename }}" for n in range(101))
    result = await gql.execute(f"query {{ {spreads} }} {fragments}")
    assert result.codes == ["GRAPHQL_VALIDATION_FAILED"]
    assert "101 fragment spreads" in result.errors[0]["message"]


async def test_fragments_used_as_intended_still_work(
    gql: GraphQLClient, make_user: UserFactory
) -> None:
    await make_user("ana@op.example")
    token = await gql.token_for("ana@op.example", PASSWORD)
    query = """
      query { ...Me viewer { ...Who } }
      fragment Me on Query { viewer { ...Who role } }
      fragment Who on User { email }
    """
    result = await gql.execute(query, token=token)
    assert result.ok() == {"viewer": {"email": "ana@op.example", "role": "ADMIN"}}


async def test_depth_limit_counts_through_fragments() -> None:
    schema = build_schema(Settings(max_query_depth=2))
    deep = "query { viewer { ...D } } fragment D on User { company { ...H } } "
    result = await schema.execute(deep + "fragment H on Company { hotels { name } }")
    assert result.errors is not None
    assert "exceeds maximum operation depth of 2" in result.errors[0].message
    shallow = await schema.execute(deep + "fragment H on Company { name }")
    assert not any("depth" in error.message for error in shallow.errors or [])


async def test_aliases_are_counted_through_repeated_fragments(gql: GraphQLClient) -> None:
    # 4 aliases in a fragment spread 8 times (through two fragments): 32 aliases, over 30.
    query = (
        "query { ...B ...B } fragment B on Query { ...A ...A ...A ...A } "
        "fragment A on Query { a: __typename b: __typename c: __typename d: __typename }"
    )
    result = await gql.execute(query)
    assert result.codes == ["GRAPHQL_VALIDATION_FAILED"]
    assert "32 aliases" in result.errors[0]["message"]


async def test_graphiql_introspection_still_passes_every_limit(gql: GraphQLClient) -> None:
    from graphql import get_introspection_query

    query = get_introspection_query(
        descriptions=True, specified_by_url=True, directive_is_repeatable=True
    )
    assert (await gql.execute(query)).ok()["__schema"]["types"]


# --- Finding 5: query cost ---------------------------------------------------------------

NESTED_QUOTATIONS = """
  q{n}: quotations(first: 100) {{ edges {{ node {{
    id status rooms {{ type count }} extraServices
    invitations {{ id hotel {{ id name }} }}
    offers {{ id hotel {{ id name }} revisions {{ revision }} }}
  }} }} }}
"""


@pytest.mark.parametrize(
    ("query", "cost"),
    [
        ("{ quotations { edges { node { id offers { id } } } } }", 20 * (1 + 1 + 1 + 10) + 2),
        ("{ quotations(first: 5) { totalCount edges { node { id } } } }", 1 + 1 + 1 + 5 * 2),
        ("{ quotations(first: 1000) { edges { node { id } } } }", 2 + 100 * 2),  # page cap
        ("{ messages(quotationId: 1, last: 3) { nodes { body } } }", 1 + 1 + 3),
        ("{ messages(quotationId: 1) { edges { node { body } } } }", 1 + 1 + 50 * 2),  # unset
        ("{ messages(quotationId: 1, first: 500) { nodes { body } } }", 1 + 1 + 100),
        ("{ guides(first: 5) { nodes { id languages } } }", 1 + 1 + 5 * 2),
        ("{ vehicles { totalCount nodes { plate } } }", 1 + 1 + 1 + 20),
        (
            '{ nodes(ids: ["a", "b", "c"]) { id ... on Quotation { offers { id } } } }',
            1 + 3 * (1 + 1 + 10),
        ),
        ('{ node(id: "a") { id } }', 1 + 1),
        ("{ quotations(last: 100) { nodes { id } } }", 1 + 1 + 100),  # last over first's 20
        ("{ viewer { company { hotels { name } } } }", 1 + 1 + 1 + 10),
        ("query { ...Q ...Q } fragment Q on Query { viewer { id } }", 4),
    ],
)
def test_cost_model(query: str, cost: int) -> None:
    schema = build_schema(Settings())._schema
    assert operation_cost(schema, parse(query), None, {}) == cost


def test_remembered_costs_follow_the_variables_that_decide_them() -> None:
    """The cache answers what :func:`operation_cost` computes: per page size when a variable
    sets it; once per document when no variable matters (a mutation's input, different on
    every request), even after a first request whose variables did not coerce."""
    schema = build_schema(Settings())._schema
    costs = OperationCosts()
    page = "query($n: Int!) { quotations(first: $n) { nodes { id } } }"
    pay = "mutation($i: StartPaymentInput!) { startPayment(input: $i) { payment { id } } }"
    sent: list[tuple[str, dict[str, Any]]] = [
        (page, {"n": 1}), (page, {"n": 50}), (page, {"n": "many"}), (page, {"n": 1}),
        (pay, {"i": {"bookingId": "b"}}),  # does not coerce: 1
        *((pay, {"i": {"bookingId": str(n), "method": "CARD", "returnUrl": "https://x.example",
                       "idempotencyKey": f"key-{n}-long"}}) for n in range(3)),
    ]  # fmt: skip
    remembered = [costs.cost(schema, text, parse(text), None, values) for text, values in sent]
    computed = [operation_cost(schema, parse(text), None, values) for text, values in sent]
    assert remembered == computed
    assert computed[:3] == [1 + 1 + 1, 1 + 1 + 50, 1]
    assert computed[4] == 1
    assert len(set(computed[5:])) == 1
    assert computed[5] > 1


def _values(data: object) -> int:
    """How many values a result holds: what the server had to produce."""
    if isinstance(data, dict):
        return len(data) + sum(_values(v) for v in data.values())
    if isinstance(data, list):
        return sum(_values(v) for v in data)
    return 0


def _introspection_query() -> str:
    from graphql import get_introspection_query

    return get_introspection_query(
        descriptions=True, specified_by_url=True, directive_is_repeatable=True
    )


def test_introspection_costs_what_it_produces() -> None:
    """Finding 2: introspection lists are multiplied by their real sizes in this schema, so
    GraphiQL's query costs about the values it produces (it cost 49 points for ~9,000)."""
    from graphql import graphql_sync

    schema = build_schema(Settings())._schema
    query = _introspection_query()
    produced = _values(graphql_sync(schema, query).data)
    cost = operation_cost(schema, parse(query), None, {})
    assert produced * 0.8 <= cost <= produced * 1.5
    assert cost <= Settings().max_query_cost  # GraphiQL still works


async def test_aliased_introspection_is_refused_over_budget(gql: GraphQLClient) -> None:
    """Finding 2: several aliases of the full introspection cost their real work together."""
    body, _, fragments = _introspection_query().partition("fragment")
    selection = body[body.index("__schema") :].rstrip().removesuffix("}")
    query = "query {" + " ".join(f"s{n}: {selection}" for n in range(3)) + "}\nfragment" + fragments
    result = await gql.execute(query)
    assert result.codes == ["QUERY_TOO_COMPLEX"]
    assert result.errors[0]["extensions"]["cost"] > Settings().max_query_cost


async def test_expensive_query_is_refused_before_it_runs(
    gql: GraphQLClient, make_user: UserFactory
) -> None:
    await make_user("ana@op.example")
    token = await gql.token_for("ana@op.example", PASSWORD)
    query = "{ " + "".join(NESTED_QUOTATIONS.format(n=n) for n in range(30)) + " }"
    result = await gql.execute(query, token=token)
    assert result.codes == ["QUERY_TOO_COMPLEX"], result.errors
    extensions = result.errors[0]["extensions"]
    assert extensions["budget"] == Settings().max_query_cost
    assert extensions["cost"] > extensions["budget"]
    assert result.data is None


async def test_cost_reads_page_sizes_from_variables(
    gql: GraphQLClient, make_user: UserFactory
) -> None:
    await make_user("ana@op.example")
    token = await gql.token_for("ana@op.example", PASSWORD)
    query = (
        "query($n: Int!) { "
        + "".join(
            NESTED_QUOTATIONS.format(n=n).replace("first: 100", "first: $n") for n in range(4)
        )
        + " }"
    )
    small = await gql.execute(query, {"n": 1}, token=token)
    assert small.ok() == {f"q{n}": {"edges": []} for n in range(4)}
    large = await gql.execute(query, {"n": 100}, token=token)
    assert large.codes == ["QUERY_TOO_COMPLEX"]


async def test_an_operation_over_budget_is_refused_over_websocket(live_server: LiveServer) -> None:
    query = "{ " + "".join(NESTED_QUOTATIONS.format(n=n) for n in range(30)) + " }"
    message = await _over_websocket(live_server.url, query)
    assert message["type"] == "error", message
    assert message["payload"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"


async def _over_websocket(
    base_url: str, query: str, variables: dict[str, Any] | None = None, token: str | None = None
) -> dict[str, Any]:
    url = base_url.replace("http://", "ws://") + "/graphql"
    async with websockets.connect(url, subprotocols=[PROTOCOL]) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {"token": token}}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        payload = {"query": query, "variables": variables or {}}
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
        message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 10))
        return message


async def test_costs_remembered_keep_no_copy_of_what_clients_send(
    http: httpx.AsyncClient,
) -> None:
    """The cost cache is keyed by what a request sends, variables included (even variables the
    operation does not declare): it must not keep those bytes, or any anonymous client fills the
    server's memory with a thousand bodies of a megabyte each."""
    junk = "x" * 256 * 1024

    async def send(n: int) -> None:
        body = {"query": "{ __typename }", "variables": {"junk": f"{n}{junk}"}}
        response = await http.post("/graphql", json=body)
        assert response.json() == {"data": {"__typename": "Query"}}

    kept = await bytes_kept(send, 40)
    sent = 40 * len(junk)
    assert kept < sent / 4, f"{kept >> 20} MiB kept of {sent >> 20} MiB sent"


# --- Finding 5: per-viewer rate limit --------------------------------------------------------


@pytest.fixture(scope="module")
async def limited_server(settings: Settings) -> AsyncIterator[LiveServer]:
    """A server allowing 40 cost points per viewer and minute."""
    async with serving(settings.model_copy(update={"rate_limit_points": 40})) as server:
        yield server


async def test_rate_limit_per_client_address_and_per_user(
    limited_server: LiveServer, make_user: UserFactory
) -> None:
    await make_user("ana@op.example")
    async with httpx.AsyncClient(base_url=limited_server.url, timeout=30) as http:
        gql = GraphQLClient(http)
        token = await gql.token_for("ana@op.example", PASSWORD)  # login costs ~12 points
        anonymous = [await gql.execute("{ __typename }") for _ in range(40)]
        refused = [r for r in anonymous if r.codes == ["RATE_LIMITED"]]
        assert refused, "40 points a minute, ~52 spent: the last anonymous ones are refused"
        assert anonymous[0].ok() == {"__typename": "Query"}
        error = refused[0].errors[0]
        assert 0 < error["extensions"]["retryAfterSeconds"] <= 60
        assert refused[0].data is None
        # The signed-in user has a budget of their own.
        assert (await gql.execute("{ viewer { email } }", token=token)).ok()
        # And over WebSocket, the same anonymous budget applies.
        message = await _over_websocket(limited_server.url, "{ __typename }")
        assert message["type"] == "error", message
        assert message["payload"][0]["extensions"]["code"] == "RATE_LIMITED"


async def test_rate_limiter_fails_open_when_redis_does_not_answer(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A Redis that accepts connections but never answers: the operation goes through."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    port = silent.getsockname()[1]
    redis = Redis(host="127.0.0.1", port=port, socket_timeout=None)
    limiter = CostRateLimiter(points_per_minute=10, timeout_seconds=0.2)
    try:
        with caplog.at_level(logging.WARNING, logger="spirit_tours.rate_limit"):
            retry_after = await asyncio.wait_for(limiter.charge(redis, "ip:1.2.3.4", 5), 5)
        assert retry_after is None
        assert "rate limit not checked" in caplog.text
    finally:
        await redis.aclose()
        silent.close()


async def test_rate_limiter_counts_cost_in_one_window(redis: Redis) -> None:
    limiter = CostRateLimiter(points_per_minute=10, timeout_seconds=1.0)
    assert await limiter.charge(redis, "user:u1", 6) is None
    assert await limiter.charge(redis, "user:u2", 6) is None
    refused = await limiter.charge(redis, "user:u1", 6)
    assert refused is not None
    assert 0 < refused <= 60


# --- Finding 7: strings with control characters ------------------------------------------------


@pytest.mark.parametrize("bad", ["ana\x00@op.example", "ana\x07@op.example", "\x1b[2J"])
async def test_control_characters_in_variables_are_bad_input(
    gql: GraphQLClient, make_user: UserFactory, bad: str
) -> None:
    await make_user("ana@op.example")
    result = await gql.execute(LOGIN, {"input": {"email": bad, "password": PASSWORD}})
    assert result.codes == ["BAD_USER_INPUT"], result.errors
    assert result.errors[0]["extensions"]["field"] == "input.email"
    assert result.data is None


async def test_tabs_and_newlines_are_fine(gql: GraphQLClient) -> None:
    result = await gql.execute(LOGIN, {"input": {"email": "a\tb\r\n@x", "password": "p\n"}})
    assert result.codes == ["UNAUTHENTICATED"], result.errors


async def test_control_characters_in_document_literals_are_bad_input(gql: GraphQLClient) -> None:
    query = 'mutation { login(input: {email: "a\\u0000b@x", password: "p"}) { accessToken } }'
    result = await gql.execute(query)
    assert result.codes == ["BAD_USER_INPUT"], result.errors
    assert result.errors[0]["extensions"]["field"] == "input.email"


async def test_control_characters_over_websocket_are_bad_input(live_server: LiveServer) -> None:
    variables = {"input": {"email": "a\x00b@x", "password": "p"}}
    message = await _over_websocket(live_server.url, LOGIN, variables)
    assert message["type"] == "error", message
    assert message["payload"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "input.email"}


# --- Finding 7: malformed HTTP requests --------------------------------------------------------

MALFORMED_BODIES = {
    "a string": b'"x"',
    "a number": b"5",
    "null": b"null",
    "an empty list": b"[]",
    "a deeply nested list": b"[" * 100_000 + b"]" * 100_000,
    "invalid UTF-8": b'{"query": "{ __typename }", "x": "\xff\xfe"}',
    "invalid JSON": b'{"query": ',
    "a non-string operation name": b'{"query": "{ __typename }", "operationName": 5}',
}


@pytest.mark.parametrize("name", list(MALFORMED_BODIES))
async def test_malformed_json_bodies_are_bad_requests(http: httpx.AsyncClient, name: str) -> None:
    response = await http.post(
        "/graphql",
        content=MALFORMED_BODIES[name],
        headers={"Content-Type": "application/json", "Accept": "application/json"},
    )
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_deeply_nested_websocket_message_closes_as_malformed(live_server: LiveServer) -> None:
    url = live_server.url.replace("http://", "ws://") + "/graphql"
    async with websockets.connect(url, subprotocols=[PROTOCOL]) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        await ws.send("[" * 30_000 + "]" * 30_000)
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 10)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4400  # graphql-transport-ws: invalid message


@pytest.mark.parametrize(
    "params",
    [
        {"variables": "5"},
        {"variables": "[" * 3_000},
        {"variables": "[" * 2_500 + "]" * 2_500},
        {"extensions": "x"},
        {"extensions": '"x"'},
    ],
)
async def test_malformed_get_parameters_are_bad_requests(
    http: httpx.AsyncClient, params: dict[str, str]
) -> None:
    response = await http.get(
        "/graphql",
        params={"query": "{ __typename }", **params},
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


# --- Input hardening: lone surrogates, list sizes, Basic credentials, transports ----------------


async def _post_raw(http: httpx.AsyncClient, body: str) -> httpx.Response:
    """``body`` is JSON text whose ``\\uD800`` escapes stay escapes (httpx cannot encode a lone
    surrogate itself)."""
    return await http.post(
        "/graphql",
        content=body.encode(),
        headers={"Content-Type": "application/json", "Accept": "application/json"},
    )


SURROGATE_INPUTS = {
    "a variable": (
        r'{"query":"mutation($e:String!){login(input:{email:$e,password:\"x\"}){accessToken}}",'
        r'"variables":{"e":"a\ud800@x.com"}}',
        "e",
    ),
    "a password reset": (
        r'{"query":"mutation($e:String!){requestPasswordReset(email:$e)}",'
        r'"variables":{"e":"\udfff"}}',
        "e",
    ),
    "a nested field": (
        r'{"query":"query($f:AuditFilter){auditLog(filter:$f){pageInfo{hasNextPage}}}",'
        r'"variables":{"f":{"action":"\ud800"}}}',
        "f.action",
    ),
    "an object key": (
        r'{"query":"{__typename}","variables":{"\ud800":1}}',
        r"\ud800",
    ),
}


@pytest.mark.parametrize("name", list(SURROGATE_INPUTS))
async def test_lone_surrogates_are_bad_input(http: httpx.AsyncClient, name: str) -> None:
    body, field = SURROGATE_INPUTS[name]
    response = await _post_raw(http, body)
    assert response.status_code == 200, response.text
    errors = response.json()["errors"]
    assert [e["extensions"] for e in errors] == [{"code": "BAD_USER_INPUT", "field": field}]
    assert "U+D" in errors[0]["message"]


async def test_a_lone_surrogate_operation_name_is_a_bad_request(http: httpx.AsyncClient) -> None:
    response = await _post_raw(http, r'{"query":"{__typename}","operationName":"\ud800"}')
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    got = await http.get(
        "/graphql?query=%7B__typename%7D&operationName=%ED%A0%80",  # U+D800 as (invalid) UTF-8
        headers={"Accept": "application/json"},
    )
    assert got.status_code in (200, 400), got.text
    assert got.headers["content-type"].startswith("application/json")


async def _drain(ws: Any) -> None:
    for _ in range(10):
        await asyncio.wait_for(ws.recv(), 10)


async def _closed_with(ws: Any) -> int:
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await _drain(ws)
    assert closed.value.rcvd is not None, "closed without a close frame (1006)"
    return closed.value.rcvd.code


async def test_websocket_messages_with_lone_surrogates(live_server: LiveServer) -> None:
    url = live_server.url.replace("http://", "ws://") + "/graphql"
    message = await _over_websocket(
        live_server.url, LOGIN, {"input": {"email": "a\ud800", "password": "p"}}
    )
    assert message["type"] == "error", message
    assert message["payload"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "input.email"}
    async with websockets.connect(url, subprotocols=[PROTOCOL]) as ws:
        await ws.send('{"type":"connection_init","payload":{}}')
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        await ws.send(
            r'{"id":"1","type":"subscribe","payload":{"query":"{__typename}","operationName":"\ud800"}}'
        )
        assert await _closed_with(ws) == 4400


@pytest.mark.parametrize("message", ["[1,2]", "5", '"x"', "null"])
async def test_websocket_json_that_is_not_an_object_closes_as_malformed(
    live_server: LiveServer, message: str
) -> None:
    url = live_server.url.replace("http://", "ws://") + "/graphql"
    async with websockets.connect(url, subprotocols=[PROTOCOL]) as ws:
        await ws.send('{"type":"connection_init","payload":{}}')
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        await ws.send(message)
        assert await _closed_with(ws) == 4400


@pytest.mark.parametrize(
    "payload",
    [r'{"authorization":"Bearer \ud800"}', r'{"token":"\udfff"}', '{"token":5}',
     '{"authorization":5}', '{"token":"x\\u0000"}', '{"authorization":"Basic x"}'],
)  # fmt: skip
async def test_malformed_websocket_credentials_are_refused(
    live_server: LiveServer, payload: str
) -> None:
    url = live_server.url.replace("http://", "ws://") + "/graphql"
    async with websockets.connect(url, subprotocols=[PROTOCOL]) as ws:
        await ws.send('{"type":"connection_init","payload":' + payload + "}")
        assert await _closed_with(ws) == 4403


async def test_the_subscription_limit_error_has_a_code(
    live_server: LiveServer, gql: GraphQLClient, make_user: UserFactory
) -> None:
    await make_user("ana@op.example")
    token = await gql.token_for("ana@op.example", PASSWORD)
    url = live_server.url.replace("http://", "ws://") + "/graphql"
    async with websockets.connect(url, subprotocols=[PROTOCOL]) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {"token": token}}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        query = "subscription { announcements { __typename } }"
        for n in range(51):
            await ws.send(
                json.dumps({"id": str(n), "type": "subscribe", "payload": {"query": query}})
            )
        message = json.loads(await asyncio.wait_for(ws.recv(), 10))
    assert (message["id"], message["type"]) == ("50", "error"), message
    assert message["payload"][0]["extensions"]["code"] == "TOO_MANY_ATTEMPTS"


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_a_subscription_over_http_is_a_bad_request(
    http: httpx.AsyncClient, method: str
) -> None:
    query = "subscription { announcements { __typename } }"
    headers = {"Accept": "application/json"}
    if method == "GET":
        response = await http.get("/graphql", params={"query": query}, headers=headers)
    else:
        response = await http.post("/graphql", json={"query": query}, headers=headers)
    assert response.status_code in (400, 405), response.text
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] in ("BAD_REQUEST", "METHOD_NOT_ALLOWED")
    assert "graphql-transport-ws" in error["message"]


async def test_two_operations_need_an_operation_name(gql: GraphQLClient) -> None:
    result = await gql.execute("query A { __typename } query B { __typename }")
    assert result.data is None, result.body
    assert result.codes == ["BAD_REQUEST"], result.errors
    assert "operation name" in result.errors[0]["message"].lower()
    named = await gql.http.post(
        "/graphql",
        json={"query": "query A { __typename } query B { __typename }", "operationName": "B"},
    )
    assert named.json() == {"data": {"__typename": "Query"}}


async def test_long_lists_are_bad_input(gql: GraphQLClient) -> None:
    statuses = "query($s:[QuotationStatus!]){quotations(filter:{statuses:$s}){totalCount}}"
    result = await gql.execute(statuses, {"s": ["DRAFT"] * 120_000})
    assert [e["extensions"] for e in result.errors] == [{"code": "BAD_USER_INPUT", "field": "s"}]
    ids = "mutation($ids:[ID!]!){acknowledgeNotifications(ids:$ids){acknowledged}}"
    result = await gql.execute(ids, {"ids": [str(n) for n in range(100_000)]})
    assert [e["extensions"] for e in result.errors] == [{"code": "BAD_USER_INPUT", "field": "ids"}]
    many = ",".join(f'"{n}"' for n in range(1_001))
    literal = f"mutation{{acknowledgeNotifications(ids:[{many}]){{acknowledged}}}}"
    result = await gql.execute(literal)
    assert [e["extensions"] for e in result.errors] == [{"code": "BAD_USER_INPUT", "field": "ids"}]
    within = await gql.execute(statuses, {"s": ["DRAFT", "OPEN"]})
    assert within.codes == ["UNAUTHENTICATED"], within.errors


@pytest.mark.parametrize("username", ["a\x00", "a\x07b", "\x00"])
async def test_control_characters_in_basic_credentials_are_unauthorized(
    http: httpx.AsyncClient, username: str
) -> None:
    token = base64.b64encode(f"{username}:b".encode()).decode()
    response = await http.get("/ops/queues/", headers={"Authorization": f"Basic {token}"})
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"].startswith("Basic")


def test_close_reasons_fit_a_close_frame() -> None:
    assert close_reason("Unknown operation \ud800") == "Unknown operation \\ud800"
    long = close_reason("é" * 200)
    assert len(long.encode()) <= 123
    assert long == "é" * 61


async def test_parsed_and_validated_documents_kept_stay_small(http: httpx.AsyncClient) -> None:
    """Parsed documents and their validations are cached by text, and a document keeps its
    whole text, comments included (no token limit counts them): a long document must be
    parsed and validated afresh each time, never kept, or any anonymous client fills every
    cache with a thousand bodies of a megabyte each."""
    junk = "x" * 256 * 1024

    async def send(n: int) -> None:
        body = {"query": f"{{ __typename }} # {n} {junk}"}
        response = await http.post("/graphql", json=body)
        assert response.json() == {"data": {"__typename": "Query"}}

    kept = await bytes_kept(send, 40)
    sent = 40 * len(junk)
    assert kept < sent / 4, f"{kept >> 20} MiB kept of {sent >> 20} MiB sent"

    invalid = await http.post("/graphql", json={"query": f"{{ nope }} # {junk}"})
    assert invalid.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
