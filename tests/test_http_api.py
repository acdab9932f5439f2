"""The /graphql endpoint's protocol behaviour, health checks and error convention."""

from __future__ import annotations

from unittest.mock import patch

import httpx
import strawberry.schema.schema as strawberry_schema
from graphql import get_introspection_query
from strawberry.extensions import validation_cache

from spirit_tours.config import Settings
from spirit_tours.core.enums import Role
from spirit_tours.schema.build import build_schema
from tests.conftest import PASSWORD, UserFactory
from tests.graphql_client import GraphQLClient

REFRESH = "mutation($t: String!) { refreshToken(input: {refreshToken: $t}) { refreshToken } }"


async def test_healthz_and_readyz(http: httpx.AsyncClient) -> None:
    assert (await http.get("/healthz")).json() == {"status": "ok"}
    ready = await http.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "checks": {"database": "ok", "redis": "ok"}}


async def test_graphiql_is_served_to_browsers(http: httpx.AsyncClient) -> None:
    response = await http.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()


async def test_queries_work_over_get(
    http: httpx.AsyncClient, gql: GraphQLClient, make_user: UserFactory
) -> None:
    await make_user("ana@op.example")
    token = await gql.token_for("ana@op.example", PASSWORD)
    response = await http.get(
        "/graphql",
        params={"query": "{ viewer { email } }"},
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
    )
    assert response.json() == {"data": {"viewer": {"email": "ana@op.example"}}}


async def test_mutation_over_get_is_refused_and_changes_nothing(
    http: httpx.AsyncClient, gql: GraphQLClient, make_user: UserFactory
) -> None:
    await make_user("ana@op.example")
    refresh = (await gql.login("ana@op.example", PASSWORD))["refreshToken"]
    logout = f'mutation {{ logout(input: {{refreshToken: "{refresh}"}}) {{ revokedSessions }} }}'

    response = await http.get("/graphql", params={"query": logout})

    assert response.status_code == 405
    assert response.json()["errors"][0]["extensions"]["code"] == "METHOD_NOT_ALLOWED"
    assert "GET" in response.json()["errors"][0]["message"]
    # The refresh token still works: the logout never ran.
    assert (await gql.execute(REFRESH, {"t": refresh})).ok()


async def test_malformed_graphql_gets_a_parse_error(gql: GraphQLClient) -> None:
    result = await gql.execute("{ viewer { email ")
    assert result.codes == ["GRAPHQL_PARSE_FAILED"]
    assert "Syntax Error" in result.errors[0]["message"]


async def test_unknown_field_gets_a_validation_error(gql: GraphQLClient) -> None:
    result = await gql.execute("{ viewer { password } }")
    assert result.codes == ["GRAPHQL_VALIDATION_FAILED"]
    assert "password" in result.errors[0]["message"]


async def test_body_that_is_not_json_is_a_bad_request(http: httpx.AsyncClient) -> None:
    response = await http.post(
        "/graphql", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_unsupported_method_is_refused(http: httpx.AsyncClient) -> None:
    response = await http.put("/graphql", json={"query": "{ viewer { email } }"})
    assert response.status_code == 405
    assert response.json()["errors"][0]["extensions"]["code"] == "METHOD_NOT_ALLOWED"


async def test_too_many_aliases_are_refused(gql: GraphQLClient) -> None:
    query = "{ " + " ".join(f"a{n}: viewer {{ email }}" for n in range(40)) + " }"
    result = await gql.execute(query)
    assert result.codes == ["GRAPHQL_VALIDATION_FAILED"]
    assert "aliases" in result.errors[0]["message"].lower()
    assert result.data is None


async def test_oversized_documents_are_refused(gql: GraphQLClient) -> None:
    query = "{ viewer { " + " ".join(["email"] * 6000) + " } }"
    result = await gql.execute(query)
    assert result.codes == ["GRAPHQL_PARSE_FAILED"]
    assert "token" in result.errors[0]["message"].lower()


async def test_introspection_for_graphiql_is_not_limited(gql: GraphQLClient) -> None:
    result = await gql.execute(get_introspection_query(descriptions=True))
    assert result.ok()["__schema"]["queryType"]["name"] == "Query"


async def test_query_deeper_than_the_limit_is_refused(make_user: UserFactory) -> None:
    """The limiter is a validation rule: it refuses before anything runs."""
    schema = build_schema(Settings(max_query_depth=2))
    deep = "{ viewer { company { hotels { name } } } }"
    result = await schema.execute(deep)
    assert result.errors is not None
    assert result.errors[0].extensions == {"code": "GRAPHQL_VALIDATION_FAILED"}
    assert "exceeds maximum operation depth" in result.errors[0].message
    assert result.data is None


async def test_default_depth_limit_is_enforced_over_http(
    gql: GraphQLClient, make_user: UserFactory
) -> None:
    await make_user("rosa@hotel.example", Role.HOTEL, company="Inti Hotels", hotel="Inti")
    token = await gql.token_for("rosa@hotel.example", PASSWORD)
    ok = await gql.execute("{ viewer { company { hotels { name } } } }", token=token)
    assert ok.ok()["viewer"]["company"]["hotels"] == [{"name": "Inti"}]


async def test_validation_is_cached_across_requests() -> None:
    """A repeated document skips validation (the depth and alias limits included)."""
    schema = build_schema(Settings())
    query = "{ viewer { company { name } } }"
    with patch.object(
        strawberry_schema, "validate_document", wraps=strawberry_schema.validate_document
    ) as validate:
        validation_cache._get_validate_cache.cache_clear()
        for _ in range(3):
            await schema.execute(query)
    assert validate.call_count == 1
