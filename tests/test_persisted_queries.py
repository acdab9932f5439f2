"""Automatic persisted queries (Apollo's protocol, version 1) over real HTTP: a hash the
server does not know is PersistedQueryNotFound, hash and query register the document, the
hash alone then runs it; a document is kept only once it passed every check."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from spirit_tours.config import Settings
from spirit_tours.documents.persisted import PersistedDocuments
from tests.conftest import PASSWORD, LiveServer, UserFactory, serving

NOT_FOUND = {
    "errors": [
        {"message": "PersistedQueryNotFound", "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"}}
    ]
}
VIEWER = "query Me { viewer { email role } }"


def sha256(document: str) -> str:
    return hashlib.sha256(document.encode()).hexdigest()


def apq(sha: str, version: Any = 1) -> dict[str, Any]:
    return {"persistedQuery": {"version": version, "sha256Hash": sha}}


async def post(
    http: httpx.AsyncClient,
    extensions: dict[str, Any],
    query: str | None = None,
    variables: dict[str, Any] | None = None,
    token: str | None = None,
) -> httpx.Response:
    body: dict[str, Any] = {"extensions": extensions}
    if query is not None:
        body["query"] = query
    if variables is not None:
        body["variables"] = variables
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return await http.post("/graphql", json=body, headers=headers)


async def get(
    http: httpx.AsyncClient, extensions: dict[str, Any], query: str | None = None, **headers: str
) -> httpx.Response:
    params = {"extensions": json.dumps(extensions)}
    if query is not None:
        params["query"] = query
    return await http.get(
        "/graphql", params=params, headers={"Accept": "application/json", **headers}
    )


def codes(response: httpx.Response) -> list[str]:
    return [error["extensions"]["code"] for error in response.json().get("errors", [])]


async def test_not_found_then_registered_then_by_hash(
    http: httpx.AsyncClient, make_user: UserFactory
) -> None:
    await make_user("ana@op.example")
    login = await http.post(
        "/graphql",
        json={
            "query": "mutation($i:LoginInput!){login(input:$i){accessToken}}",
            "variables": {"i": {"email": "ana@op.example", "password": PASSWORD}},
        },
    )
    token = login.json()["data"]["login"]["accessToken"]
    document = f"{VIEWER} # {token[-12:]}"  # a document no other test registered
    sha = sha256(document)

    missing = await post(http, apq(sha), token=token)
    assert (missing.status_code, missing.json()) == (200, NOT_FOUND)

    registered = await post(http, apq(sha), document, token=token)
    assert registered.status_code == 200, registered.text
    expected = {"data": {"viewer": {"email": "ana@op.example", "role": "ADMIN"}}}
    assert registered.json() == expected

    by_hash = await post(http, apq(sha), token=token)
    assert (by_hash.status_code, by_hash.json()) == (200, expected)
    # The same document for another viewer: the hash names a document, not an answer.
    anonymous = await post(http, apq(sha))
    assert codes(anonymous) == ["UNAUTHENTICATED"]


async def test_a_hash_that_is_not_the_query_s_is_a_bad_request(http: httpx.AsyncClient) -> None:
    document = "{ __typename }"
    claimed = sha256("{ __schema { types { name } } }")
    response = await post(http, apq(claimed), document)
    assert response.status_code == 400, response.text
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_REQUEST"
    assert error["message"].startswith("provided sha does not match query")
    assert (await post(http, apq(claimed))).json() == NOT_FOUND  # nothing stored
    upper = await post(http, apq(sha256(document).upper()), document)
    assert upper.status_code == 400, upper.text


@pytest.mark.parametrize(
    ("extensions", "message"),
    [
        (apq("a" * 64, version=2), "Unsupported persisted query version"),
        (apq("a" * 64, version="1"), "Unsupported persisted query version"),
        (apq("a" * 64, version=True), "Unsupported persisted query version"),
        ({"persistedQuery": {"sha256Hash": "a" * 64}}, "Unsupported persisted query version"),
        (apq("a" * 63), "64 lowercase hexadecimal digits"),
        (apq("g" * 64), "64 lowercase hexadecimal digits"),
        ({"persistedQuery": {"version": 1, "sha256Hash": 5}}, "64 lowercase hexadecimal"),
        ({"persistedQuery": "a" * 64}, "must be an object"),
        ({"persistedQuery": ["a" * 64]}, "must be an object"),
    ],
)
async def test_malformed_persisted_query_extensions(
    http: httpx.AsyncClient, extensions: dict[str, Any], message: str
) -> None:
    for response in (await post(http, extensions), await get(http, extensions)):
        assert response.status_code == 400, response.text
        error = response.json()["errors"][0]
        assert error["extensions"]["code"] == "BAD_REQUEST"
        assert message in error["message"]


async def test_a_null_persisted_query_is_no_persisted_query(http: httpx.AsyncClient) -> None:
    response = await post(http, {"persistedQuery": None}, "{ __typename }")
    assert response.json() == {"data": {"__typename": "Query"}}


async def test_an_oversized_document_runs_but_is_not_kept(http: httpx.AsyncClient) -> None:
    """A long comment is free for the token limit: the size cap is what bounds the memory."""
    document = "{ __typename }\n#" + "x" * 40_000
    sha = sha256(document)
    response = await post(http, apq(sha), document)
    assert response.json() == {"data": {"__typename": "Query"}}
    assert (await post(http, apq(sha))).json() == NOT_FOUND


COSTLY_PAGE = "quotations(first: 100) { edges { node { id offers { id hotel { id } } } } }"
HOSTILE = {
    "invalid": "{ nope }",
    "unparsable": "{ viewer { ",
    "too deep": '{ quotation(id: "1") { '
    + "booking { quotation { " * 7
    + "id"
    + " } }" * 7
    + " } }",
    "too many aliases": "{ " + " ".join(f"a{n}: __typename" for n in range(40)) + " }",
    "too many tokens": "{ " + " ".join("__typename" for _ in range(6000)) + " }",
    "too costly": "{ " + " ".join(f"q{n}: " + COSTLY_PAGE for n in range(10)) + " }",
    "two anonymous operations": "{ __typename } { __typename }",
    "bad input": '{ quotation(id: "\\u0000") { id } }',
}


REFUSED_WITH = {
    "invalid": "GRAPHQL_VALIDATION_FAILED",
    "unparsable": "GRAPHQL_PARSE_FAILED",
    "too deep": "GRAPHQL_VALIDATION_FAILED",
    "too many aliases": "GRAPHQL_VALIDATION_FAILED",
    "too many tokens": "GRAPHQL_PARSE_FAILED",
    "too costly": "QUERY_TOO_COMPLEX",
    "two anonymous operations": "GRAPHQL_VALIDATION_FAILED",
    "bad input": "BAD_USER_INPUT",
}


@pytest.mark.parametrize("name", list(HOSTILE))
async def test_a_document_that_fails_a_check_is_not_kept(
    http: httpx.AsyncClient, name: str
) -> None:
    document = HOSTILE[name]
    sha = sha256(document)
    refused = await post(http, apq(sha), document)
    assert refused.status_code == 200, refused.text
    assert set(codes(refused)) == {REFUSED_WITH[name]}, refused.text
    assert refused.json().get("data") is None
    assert (await post(http, apq(sha))).json() == NOT_FOUND


@pytest.fixture(scope="module")
async def limited_server(settings: Settings) -> AsyncIterator[LiveServer]:
    """A server allowing 10 cost points per viewer and minute."""
    async with serving(settings.model_copy(update={"rate_limit_points": 10})) as server:
        yield server


async def test_a_rate_limited_registration_is_not_kept(limited_server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=limited_server.url, timeout=30) as http:
        spent = [await http.post("/graphql", json={"query": "{ __typename }"}) for _ in range(12)]
        assert codes(spent[-1]) == ["RATE_LIMITED"]
        document = "query Limited { __typename }"
        sha = sha256(document)
        refused = await post(http, apq(sha), document)
        assert codes(refused) == ["RATE_LIMITED"]
        assert (await post(http, apq(sha))).json() == NOT_FOUND


async def test_a_kept_document_still_passes_the_request_checks(http: httpx.AsyncClient) -> None:
    """What depends on the request (its variables) is checked on every run by hash."""
    document = "query($s:[QuotationStatus!]){quotations(filter:{statuses:$s}){totalCount}}"
    sha = sha256(document)
    first = await post(http, apq(sha), document, {"s": ["DRAFT"]})
    assert codes(first) == ["UNAUTHENTICATED"]  # valid, so kept; the resolver refuses
    too_long = await post(http, apq(sha), variables={"s": ["DRAFT"] * 501})
    assert codes(too_long) == ["BAD_USER_INPUT"]
    surrogate = await http.post(
        "/graphql",
        content=(
            '{"extensions":' + json.dumps(apq(sha)) + r',"variables":{"s":["\ud800"]}}'
        ).encode(),
        headers={"Content-Type": "application/json"},
    )
    assert codes(surrogate) == ["BAD_USER_INPUT"]


async def test_a_lone_surrogate_query_has_no_hash(http: httpx.AsyncClient) -> None:
    body = '{"query":"{ __typename } #\\ud800","extensions":' + json.dumps(apq("a" * 64)) + "}"
    response = await http.post(
        "/graphql", content=body.encode(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["message"].startswith("provided sha does not match")


async def test_over_get(http: httpx.AsyncClient) -> None:
    document = "query Typename { __typename }"
    sha = sha256(document)
    missing = await get(http, apq(sha))
    assert (missing.status_code, missing.json()) == (200, NOT_FOUND)
    registered = await get(http, apq(sha), document)
    assert registered.json() == {"data": {"__typename": "Query"}}
    by_hash = await get(http, apq(sha))
    assert (by_hash.status_code, by_hash.json()) == (200, {"data": {"__typename": "Query"}})
    # A browser's GET with a hash is an operation, not GraphiQL.
    browser = await get(http, apq(sha), Accept="text/html,*/*")
    assert browser.json() == {"data": {"__typename": "Query"}}


async def test_a_persisted_mutation_is_not_run_over_get(http: httpx.AsyncClient) -> None:
    document = 'mutation { logout(input: {refreshToken: "nope"}) { revokedSessions } }'
    sha = sha256(document)
    over_get = await get(http, apq(sha), document)
    assert over_get.status_code == 405, over_get.text
    assert (await post(http, apq(sha))).json() == NOT_FOUND  # refused, so not kept
    registered = await post(http, apq(sha), document)
    assert registered.json()["errors"], registered.text  # an unknown token: refused
    assert (await post(http, apq(sha))).json() != NOT_FOUND  # but valid, so kept
    assert (await get(http, apq(sha))).status_code == 405


# --- The store ------------------------------------------------------------------------------


def test_the_store_is_a_bounded_lru() -> None:
    store = PersistedDocuments(max_documents=3, max_bytes=1_000, max_document_bytes=400)
    for name in "abc":
        assert store.add(name, name * 10)
    assert store.get("a") == "a" * 10  # a is now the most recent
    store.add("d", "d" * 10)
    assert [store.get(name) is not None for name in "abcd"] == [True, False, True, True]
    assert len(store) == 3


def test_the_store_is_bounded_in_bytes() -> None:
    store = PersistedDocuments(max_documents=100, max_bytes=1_000, max_document_bytes=400)
    assert not store.add("huge", "x" * 401)
    assert not store.add("wide", "é" * 201)  # 402 bytes of UTF-8
    for n in range(10):
        assert store.add(str(n), "x" * 300)
    assert store.size_bytes <= 1_000
    assert len(store) == 3
    assert store.get("9") is not None
    assert store.get("6") is None
    store.add("9", "y" * 100)  # replaced: its old size is given back
    assert store.size_bytes == 700
