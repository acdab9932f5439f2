"""Parsed and validated documents are cached on the HTTP path: a repeated document is parsed
once and validated once, and its (deep) hash, the key of the validation caches, is computed
once (``documents.parsed``)."""

from __future__ import annotations

import hashlib
import uuid

import httpx
from graphql import DocumentNode, parse, print_ast, validate
from strawberry.extensions.validation_cache import _get_validate_cache

from spirit_tours.config import Settings
from spirit_tours.documents.parsed import HashedDocumentNode, parse_cache_info, parse_hashed
from spirit_tours.schema.build import build_schema
from spirit_tours.schema.document_limits import precheck

CACHE_SIZE = 1024  # schema.build: DocumentCache(maxsize=1024), GuardedValidation(…, maxsize=1024)
PAGE = """query Page%s { quotations(first: 20) { edges { cursor node {
  id status destination startDate endDate travellers currency offerCount
  offers { id hotelAlias status netPrice { amount currency } hotel { id name } }
} } } }"""


def _counts() -> list[tuple[int, int]]:
    infos = [
        parse_cache_info(CACHE_SIZE),
        _get_validate_cache(CACHE_SIZE).cache_info(),  # type: ignore[attr-defined]
        precheck.cache_info(),
    ]
    return [(info.hits, info.misses) for info in infos]


async def test_a_repeated_document_is_parsed_and_validated_once(http: httpx.AsyncClient) -> None:
    document = PAGE % uuid.uuid4().hex  # new to this process
    before = _counts()
    for _ in range(5):
        response = await http.post("/graphql", json={"query": document})
        assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    sha = hashlib.sha256(document.encode()).hexdigest()
    extensions = {"persistedQuery": {"version": 1, "sha256Hash": sha}}
    await http.post("/graphql", json={"query": document, "extensions": extensions})
    by_hash = await http.post("/graphql", json={"extensions": extensions})
    assert by_hash.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    after = _counts()
    # parse, standard validation, shape pre-check: one miss each, then only hits
    assert [(a[0] - b[0], a[1] - b[1]) for a, b in zip(after, before, strict=True)] == [
        (6, 1),
        (6, 1),
        (6, 1),
    ]


def test_a_hashed_document_is_a_document() -> None:
    text = PAGE % "X"
    plain, hashed = parse(text), parse_hashed(text)
    assert isinstance(hashed, DocumentNode)
    assert hashed.kind == plain.kind == "document"
    assert print_ast(hashed) == print_ast(plain)
    assert hash(hashed) == hash(plain)
    assert hashed.__dict__["_hash"] == hash(plain)  # kept after the first call
    assert hashed == parse_hashed(text)

    schema = build_schema(Settings())._schema
    assert validate(schema, hashed) == validate(schema, plain) == []
    invalid = "{ nope }"
    assert [e.message for e in validate(schema, parse_hashed(invalid))] == [
        e.message for e in validate(schema, parse(invalid))
    ]
    assert isinstance(parse_hashed(invalid), HashedDocumentNode)
