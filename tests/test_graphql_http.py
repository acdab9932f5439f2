"""GraphQL over HTTP: the answer's media type follows ``Accept``, and with
``application/graphql-response+json`` its status says whether the operation ran; a request
error (raised before execution) has no ``data`` entry with either media type. The spec's own
audit runs in test_graphql_http_audit.py; these are the cases it does not cover."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from spirit_tours.config import Settings
from tests.conftest import LiveServer, serving

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
APOLLO_4 = "application/graphql-response+json,application/json;q=0.9"  # its default Accept
UNKNOWN_HASH = "0" * 64
# Nested lists multiply: five of these are over the default budget of 25,000 points.
COSTLY = (
    "q{n}: quotations(first: 100) {{ edges {{ node {{ offers {{ "
    "revisions {{ revision }} }} }} }} }}"
)


async def post(http: httpx.AsyncClient, body: dict[str, Any], accept: str | None) -> httpx.Response:
    headers = {"Accept": accept} if accept is not None else {}
    return await http.post("/graphql", json=body, headers=headers)


def media_type(response: httpx.Response) -> str:
    return response.headers["content-type"].split(";")[0].strip()


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (GRAPHQL_RESPONSE, GRAPHQL_RESPONSE),
        (APOLLO_4, GRAPHQL_RESPONSE),
        (JSON, JSON),
        ("*/*", JSON),
        (None, JSON),
        ("text/html", JSON),  # nothing we serve: the legacy default every client reads
        (f"{JSON}, {GRAPHQL_RESPONSE};q=0.5", JSON),
    ],
)
async def test_media_type_follows_accept(
    http: httpx.AsyncClient, accept: str | None, expected: str
) -> None:
    response = await post(http, {"query": "{ __typename }"}, accept)
    assert response.status_code == 200
    assert media_type(response) == expected
    assert response.json() == {"data": {"__typename": "Query"}}


async def test_answers_vary_by_accept(http: httpx.AsyncClient) -> None:
    """One URL, several answers by Accept (JSON, the new media type and its status, GraphiQL's
    page): a shared cache must not hand one to a client that asked for another."""
    query = {"query": "{ __typename }"}
    for accept in (JSON, GRAPHQL_RESPONSE, "text/html"):
        for response in (
            await http.get("/graphql", params=query, headers={"Accept": accept}),
            await http.get("/graphql", headers={"Accept": accept}),
            await post(http, query, accept),
            await post(http, {"query": "{"}, accept),
        ):
            vary = {v.strip().lower() for v in response.headers.get("vary", "").split(",")}
            assert "accept" in vary, (accept, response.request.url, response.headers)


REQUEST_ERRORS: dict[str, tuple[dict[str, Any], str]] = {
    "parse": ({"query": "{ viewer { email "}, "GRAPHQL_PARSE_FAILED"),
    "validation": ({"query": "{ viewer { password } }"}, "GRAPHQL_VALIDATION_FAILED"),
    "variable": (
        {"query": "query($id: ID!) { quotation(id: $id) { id } }", "variables": {"id": None}},
        "GRAPHQL_VALIDATION_FAILED",
    ),
    "two operations, no name": (
        {"query": "query A { __typename } query B { __typename }"},
        "BAD_REQUEST",
    ),
    "too costly": (
        {"query": "{ " + " ".join(COSTLY.format(n=n) for n in range(5)) + " }"},
        "QUERY_TOO_COMPLEX",
    ),
}


@pytest.mark.parametrize("case", REQUEST_ERRORS)
async def test_request_errors_are_4xx_without_data(http: httpx.AsyncClient, case: str) -> None:
    body, code = REQUEST_ERRORS[case]
    response = await post(http, body, GRAPHQL_RESPONSE)
    assert response.status_code == 400, response.text
    assert media_type(response) == GRAPHQL_RESPONSE
    answer = response.json()
    assert "data" not in answer, answer
    assert [error["extensions"]["code"] for error in answer["errors"]] == [code]


@pytest.mark.parametrize("case", REQUEST_ERRORS)
async def test_legacy_json_keeps_200_but_drops_data_on_request_errors(
    http: httpx.AsyncClient, case: str
) -> None:
    body, code = REQUEST_ERRORS[case]
    for accept in (JSON, None):
        response = await post(http, body, accept)
        assert response.status_code == 200, response.text
        assert media_type(response) == JSON
        answer = response.json()
        assert "data" not in answer, answer
        assert [error["extensions"]["code"] for error in answer["errors"]] == [code]


@pytest.mark.parametrize("accept", [GRAPHQL_RESPONSE, JSON])
async def test_field_errors_are_200_with_data(http: httpx.AsyncClient, accept: str) -> None:
    """The operation ran: an anonymous ``viewer`` is UNAUTHENTICATED at its path, and the
    non-null field nulls the whole result, which the answer still carries."""
    response = await post(http, {"query": "{ __typename viewer { email } }"}, accept)
    assert response.status_code == 200
    assert media_type(response) == accept
    answer = response.json()
    assert answer["data"] is None
    assert answer["errors"][0]["path"] == ["viewer"]
    assert answer["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"query": "{ __typename }", "operationName": "Missing"}, 400),
        ({"variables": {}}, 400),  # no query
        ({"query": 42}, 400),
        ({"query": "subscription { notifications { id } }"}, 400),
    ],
)
async def test_malformed_requests_are_4xx_in_the_negotiated_type(
    http: httpx.AsyncClient, body: dict[str, Any], status: int
) -> None:
    for accept in (GRAPHQL_RESPONSE, JSON):
        response = await post(http, body, accept)
        assert response.status_code == status, response.text
        assert media_type(response) == accept
        answer = response.json()
        assert "data" not in answer
        assert answer["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_mutation_over_get_is_405_in_either_type(http: httpx.AsyncClient) -> None:
    for accept in (GRAPHQL_RESPONSE, JSON):
        response = await http.get(
            "/graphql", params={"query": "mutation { __typename }"}, headers={"Accept": accept}
        )
        assert response.status_code == 405
        assert media_type(response) == accept
        assert response.json()["errors"][0]["extensions"]["code"] == "METHOD_NOT_ALLOWED"


async def test_unknown_persisted_query(http: httpx.AsyncClient) -> None:
    """Apollo's answer, 200, with application/json; 404 with graphql-response+json, where an
    answer without data must not be 2xx (Apollo's persisted query link reads both)."""
    body = {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": UNKNOWN_HASH}}}
    legacy = await post(http, body, JSON)
    assert (legacy.status_code, media_type(legacy)) == (200, JSON)
    modern = await post(http, body, GRAPHQL_RESPONSE)
    assert (modern.status_code, media_type(modern)) == (404, GRAPHQL_RESPONSE)
    for response in (legacy, modern):
        assert response.json() == {
            "errors": [
                {
                    "message": "PersistedQueryNotFound",
                    "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"},
                }
            ]
        }


@pytest.fixture(scope="module")
async def limited_server(settings: Settings) -> AsyncIterator[LiveServer]:
    async with serving(settings.model_copy(update={"rate_limit_points": 3})) as server:
        yield server


async def test_rate_limited_is_429_with_retry_after(limited_server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=limited_server.url, timeout=30) as http:
        answers = [
            await post(http, {"query": "{ __typename }"}, GRAPHQL_RESPONSE) for _ in range(6)
        ]
        refused = [response for response in answers if response.status_code == 429]
        assert refused, [response.text for response in answers]
        answer = refused[0].json()
        assert "data" not in answer
        assert answer["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
        seconds = answer["errors"][0]["extensions"]["retryAfterSeconds"]
        assert refused[0].headers["retry-after"] == str(seconds)
        assert 0 < seconds <= 60
        # The legacy media type keeps 200, with the same error and no data.
        legacy = await post(http, {"query": "{ __typename }"}, JSON)
        assert legacy.status_code == 200
        assert legacy.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
        assert "data" not in legacy.json()
        assert "retry-after" not in legacy.headers
