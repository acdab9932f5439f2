"""GraphiQL served by this server alone (spirit_tours/graphiql), and the two settings that turn
it and introspection off (off by default in production). The browser itself is driven by
test_graphiql_browser.py."""

from __future__ import annotations

import base64
import hashlib
import re
import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest

from spirit_tours.config import Environment, Settings
from spirit_tours.graphiql import assets
from spirit_tours.graphiql.assets import AssetMismatchError
from spirit_tours.schema.build import build_schema
from tests.conftest import LiveServer, serving
from tests.graphql_client import GraphQLClient
from tests.live_client import live
from tests.quotation_flows import quotation_input

HTML = {"Accept": "text/html"}
SCHEMA = "{ __schema { queryType { name } } }"
TYPE = '{ __type(name: "Query") { name } }'


def _sri(body: bytes) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(body).digest()).decode()


def _policy(response: httpx.Response) -> dict[str, list[str]]:
    directives = [part.split() for part in response.headers["content-security-policy"].split(";")]
    return {words[0]: words[1:] for words in directives if words}


def _files(page: str) -> list[tuple[str, str]]:
    """(URL, integrity) of every script and stylesheet the page loads."""
    tags = re.findall(r"<(?:script|link)\b[^>]*>", page)
    found = []
    for tag in tags:
        url = re.search(r'\b(?:src|href)="([^"]+)"', tag)
        if url is None or url.group(1).startswith("data:"):
            continue
        integrity = re.search(r'\bintegrity="([^"]+)"', tag)
        found.append((url.group(1), integrity.group(1) if integrity else ""))
    return found


async def test_the_page_loads_every_file_from_this_server_with_its_integrity(
    http: httpx.AsyncClient, live_server: LiveServer
) -> None:
    page = await http.get("/graphql", headers=HTML)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert not re.search(r"https?://", page.text)  # no CDN, no font host, nothing absolute
    files = _files(page.text)
    assert len(files) == 8  # React, ReactDOM, GraphiQL (script, style), explorer (both), ours
    for url, integrity in files:
        assert url.startswith("/graphiql/"), url
        served = await http.get(url, headers={"Accept-Encoding": "identity"})
        assert served.status_code == 200, url
        assert _sri(served.content) == integrity, url
        assert served.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert "content-encoding" not in served.headers
    policy = _policy(page)
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'", "'unsafe-inline'"]
    assert policy["font-src"] == ["data:"]
    ws = live_server.url.replace("http://", "ws://")
    assert policy["connect-src"] == ["'self'", ws]
    assert page.headers["cache-control"] == "no-cache"  # the next deploy's file names


async def test_files_are_sent_gzipped_to_browsers_that_accept_it(http: httpx.AsyncClient) -> None:
    page = await http.get("/graphql", headers=HTML)
    bundle = next(url for url, _ in _files(page.text) if url.endswith("/graphiql.min.js"))
    plain = await http.get(bundle, headers={"Accept-Encoding": "identity"})
    zipped = await http.get(bundle, headers={"Accept-Encoding": "gzip, deflate"})
    assert zipped.headers["content-encoding"] == "gzip"
    assert zipped.headers["vary"] == "Accept-Encoding"
    assert int(zipped.headers["content-length"]) < len(plain.content) / 3
    assert zipped.content == plain.content  # httpx decoded it
    for not_acceptable in ("gzip;q=0", "gzip; q=0.000", "GZIP;Q=0.00", "br, gzip;q=0.0"):
        refused = await http.get(bundle, headers={"Accept-Encoding": not_acceptable})
        assert "content-encoding" not in refused.headers, not_acceptable
    weighted = await http.get(bundle, headers={"Accept-Encoding": "gzip;q=0.5, identity;q=0.1"})
    assert weighted.headers["content-encoding"] == "gzip"


async def test_only_the_current_files_are_served(http: httpx.AsyncClient) -> None:
    page = await http.get("/graphql", headers=HTML)
    url = _files(page.text)[0][0]
    _, prefix, digest, name = url.split("/")
    stale = f"/{prefix}/{'0' * len(digest)}/{name}"
    for path in (stale, f"/{prefix}/{digest}/nope.js", f"/{prefix}/{digest}/..%2Fassets.py"):
        answer = await http.get(path)
        assert answer.status_code == 404, path
        assert "immutable" not in answer.headers.get("cache-control", "")


def test_the_vendored_files_fetch_nothing_from_elsewhere() -> None:
    """The stylesheets import nothing and carry their fonts inline (no font host)."""
    bundle = assets.bundle()
    for sheet in bundle.stylesheets:
        text = sheet.body.decode()
        assert "@import" not in text, sheet.name
        for url in re.findall(r"url\(\s*['\"]?([^'\")]*)", text):
            assert url.startswith(("data:", "#")), (sheet.name, url[:80])


def test_a_vendored_file_changed_by_hand_stops_the_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = tmp_path / "vendor"
    shutil.copytree(assets.VENDOR, copy)
    react = copy / "react.production.min.js"
    react.write_bytes(react.read_bytes().replace(b"React", b"Reakt", 1))
    monkeypatch.setattr(assets, "VENDOR", copy)
    assets.bundle.cache_clear()
    try:
        with pytest.raises(AssetMismatchError, match=r"react\.production\.min\.js"):
            assets.bundle()
    finally:
        monkeypatch.undo()
        assets.bundle.cache_clear()
    assert assets.bundle().scripts[0].name == "react.production.min.js"


def test_both_are_off_in_production_unless_turned_on() -> None:
    production = Settings(_env_file=None, env=Environment.PRODUCTION)
    assert not production.serves_graphiql
    assert not production.allows_introspection
    turned_on = Settings(
        _env_file=None, env=Environment.PRODUCTION, graphiql=True, introspection=True
    )
    assert turned_on.serves_graphiql
    assert turned_on.allows_introspection
    for env in (Environment.DEVELOPMENT, Environment.TEST):
        assert Settings(_env_file=None, env=env).serves_graphiql
        assert Settings(_env_file=None, env=env).allows_introspection
        assert not Settings(_env_file=None, env=env, graphiql=False).serves_graphiql
        assert not Settings(_env_file=None, env=env, introspection=False).allows_introspection


def test_environment_variables_set_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPIRIT_GRAPHIQL", "false")
    monkeypatch.setenv("SPIRIT_INTROSPECTION", "0")
    settings = Settings(_env_file=None, env=Environment.DEVELOPMENT)
    assert not settings.serves_graphiql
    assert not settings.allows_introspection


async def test_production_schema_refuses_introspection_by_default() -> None:
    schema = build_schema(Settings(_env_file=None, env=Environment.PRODUCTION))
    result = await schema.execute(SCHEMA)
    assert result.errors
    assert "introspection has been disabled" in result.errors[0].message
    assert (await schema.execute("{ __typename }")).data == {"__typename": "Query"}


async def test_with_graphiql_off_browsers_get_no_ide_and_no_files(
    settings: Settings, http: httpx.AsyncClient
) -> None:
    page = await http.get("/graphql", headers=HTML)
    files = [url for url, _ in _files(page.text)]
    async with (
        serving(settings.model_copy(update={"graphiql": False})) as server,
        httpx.AsyncClient(base_url=server.url) as client,
    ):
        refused = await client.get("/graphql", headers=HTML)
        assert refused.status_code == 404
        assert refused.headers["content-type"] == "application/json"
        assert refused.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
        for url in files:
            assert (await client.get(url)).status_code == 404
        # The API itself is unchanged, over GET too.
        query = await client.get("/graphql", params={"query": "{ __typename }"}, headers=HTML)
        assert query.json() == {"data": {"__typename": "Query"}}
        # Introspection is a setting of its own.
        schema = await GraphQLClient(client).execute(SCHEMA)
        assert schema.ok()["__schema"] == {"queryType": {"name": "Query"}}


async def test_with_introspection_off_schema_and_type_are_refused(settings: Settings) -> None:
    async with (
        serving(settings.model_copy(update={"introspection": False})) as server,
        httpx.AsyncClient(base_url=server.url) as client,
    ):
        gql = GraphQLClient(client)
        for query, field in ((SCHEMA, "__schema"), (TYPE, "__type")):
            result = await gql.execute(query)
            assert set(result.codes) == {"GRAPHQL_VALIDATION_FAILED"}
            assert result.errors[0]["message"] == (
                "GraphQL introspection has been disabled, but the requested query contained "
                f"the field '{field}'."
            )  # then one error per field of an introspection type below it (queryType)
            assert result.data is None
        # Hidden inside a fragment too.
        fragment = "query { ...F } fragment F on Query { __schema { queryType { name } } }"
        assert "introspection" in (await gql.execute(fragment)).body["errors"][0]["message"]
        assert (await gql.execute("{ __typename }")).ok() == {"__typename": "Query"}
        # GraphiQL itself is still served (a setting of its own); without introspection it
        # has no docs or completion, but runs operations.
        assert (await client.get("/graphql", headers=HTML)).status_code == 200


# Near misses of a field, an argument, an input field and an enum value: graphql-core answers
# each with "Did you mean …?", naming the schema's own names.
NEAR_MISSES: list[tuple[str, dict[str, Any] | None]] = [
    ("{ quotatio { id } }", None),
    ("{ quotations(frist: 1) { totalCount } }", None),
    ('mutation { login(input: {emial: "a@b.example", password: "x"}) { accessToken } }', None),
    ("{ quotations(filter: {status: OPEN}) { totalCount } }", None),
    ("{ quotations(filter: {statuses: [OPNE]}) { totalCount } }", None),
    (
        "mutation($i: CreateQuotationInput!) { createQuotation(input: $i) { quotation { id } } }",
        {"i": quotation_input(currency="USDD")},
    ),
]


async def test_with_introspection_off_errors_suggest_no_names(settings: Settings) -> None:
    """Suggestions would spell the schema out, name by name, to whoever guesses near it."""
    async with (
        serving(settings.model_copy(update={"introspection": False})) as server,
        httpx.AsyncClient(base_url=server.url) as client,
    ):
        gql = GraphQLClient(client)
        for query, variables in NEAR_MISSES:
            result = await gql.execute(query, variables)
            assert result.errors, query
            for error in result.errors:
                assert "Did you mean" not in error["message"], error
        typo = await gql.execute("{ quotatio { id } }")
        assert typo.errors[0]["message"] == "Cannot query field 'quotatio' on type 'Query'."
        async with live(server.url, None) as socket:
            await socket.subscribe("1", "subscription { announcemnts { title } }")
            refused = await socket.next("1")
            assert refused["type"] == "error"
            assert all("Did you mean" not in e["message"] for e in refused["payload"]), refused


async def test_with_introspection_on_errors_still_suggest(http: httpx.AsyncClient) -> None:
    """The schema is public then: each near miss above gets its hint."""
    gql = GraphQLClient(http)
    for query, variables in NEAR_MISSES:
        result = await gql.execute(query, variables)
        assert any("Did you mean" in error["message"] for error in result.errors), result.errors
    typo = await gql.execute("{ quotatio { id } }")
    assert "Did you mean 'quotation' or 'quotations'?" in typo.errors[0]["message"]
