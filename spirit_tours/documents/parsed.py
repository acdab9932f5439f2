"""Parsed documents, cached by their text, whose hash is computed once.

The validation caches (``schema.request_guard``: the shape pre-check and graphql-core's rules)
are keyed by the parsed document. graphql-core 3.3's nodes are frozen dataclasses whose hash
walks the whole tree on every call: about 30 µs for the 20-quotation page, twice a request. A
document from this cache computes it on the first lookup and keeps it; the tree never changes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import fields
from functools import cache, lru_cache
from typing import Any

from graphql import DocumentNode, parse
from strawberry.extensions import SchemaExtension

CACHED_DOCUMENT_CHARS = 32 * 1024
"""Longer documents are parsed and validated on every request, never kept: a parsed document
holds its whole text (comments included, which no token limit counts), so caching documents up
to the body limit would let any client make each cache hold a gigabyte."""


def is_cached(text: str) -> bool:
    return len(text) <= CACHED_DOCUMENT_CHARS


class HashedDocumentNode(DocumentNode):
    """A ``DocumentNode`` (same fields, same kind) that remembers its hash."""

    def __hash__(self) -> int:
        known = self.__dict__.get("_hash")
        if known is None:
            known = super().__hash__()
            object.__setattr__(self, "_hash", known)  # frozen: set once, never changed
        return int(known)


# Node.__init_subclass__ derives the kind from the class name; visitors dispatch on it.
HashedDocumentNode.kind = "document"


def parse_hashed(source: str, **options: Any) -> HashedDocumentNode:
    document = parse(source, **options)
    return HashedDocumentNode(
        **{field.name: getattr(document, field.name) for field in fields(document)}
    )


@cache
def _shared_cache(maxsize: int) -> Callable[..., HashedDocumentNode]:
    """One LRU per size for the whole process (extensions are built per operation)."""
    return lru_cache(maxsize=maxsize)(parse_hashed)


def parse_cache_info(maxsize: int) -> Any:
    """``functools`` hits and misses of the cache of this size (for tests and profiling)."""
    return _shared_cache(maxsize).cache_info()  # type: ignore[attr-defined]


class DocumentCache(SchemaExtension):
    """strawberry's ``ParserCache``, keyed the same way (the text and the parse options, such
    as the token limit), returning documents with a remembered hash."""

    def __init__(self, maxsize: int) -> None:
        self.parse = _shared_cache(maxsize)

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        assert context.query is not None  # strawberry refuses a request without one first
        parse_document = self.parse if is_cached(context.query) else parse_hashed
        context.graphql_document = parse_document(context.query, **context.parse_options)
        yield
