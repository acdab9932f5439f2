"""The documents of automatic persisted queries (Apollo's APQ), kept per process.

A client sends the SHA-256 of its document; the server runs the document it keeps under that
hash, or answers ``PersistedQueryNotFound`` and the client sends hash and document together.
The transport (``graphql_app``) reads the protocol; this module keeps the documents:

- ``PersistedDocuments``: a bounded LRU, by number of documents and by their total size, that
  refuses a document over its size cap, so registering cannot exhaust memory;
- ``register_when_valid`` and ``RegisterValidDocument``: a document sent with its hash is
  stored only once it has passed every check of the operation (parsing and the token limit,
  the document limits, validation, the cost and the rate limit: ``RegisterValidDocument`` is
  listed after ``RequestGuard``), so a hash only ever names a document that was accepted.

Per process: after a restart, or on another worker, the client gets ``PersistedQueryNotFound``
once and registers the document again, as the protocol intends.
"""

from __future__ import annotations

import hashlib
import re
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from strawberry.extensions import SchemaExtension

APQ_VERSION = 1
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


class PersistedQueryError(ValueError):
    """A malformed ``extensions.persistedQuery``; the message says what to send instead."""


def requested_hash(extensions: Mapping[str, Any] | None) -> str | None:
    """The ``sha256Hash`` of ``extensions.persistedQuery`` (absent or null: None), or
    :class:`PersistedQueryError` for another version or a malformed hash."""
    spec = (extensions or {}).get("persistedQuery")
    if spec is None:
        return None
    if not isinstance(spec, dict):
        raise PersistedQueryError(
            "extensions.persistedQuery must be an object with `version` and `sha256Hash`."
        )
    version = spec.get("version")
    if type(version) is not int or version != APQ_VERSION:
        raise PersistedQueryError(
            f"Unsupported persisted query version: only version {APQ_VERSION} is supported."
        )
    sha256 = spec.get("sha256Hash")
    if not isinstance(sha256, str) or _SHA256_HEX.fullmatch(sha256) is None:
        raise PersistedQueryError(
            "extensions.persistedQuery.sha256Hash must be the SHA-256 of the query: 64 "
            "lowercase hexadecimal digits."
        )
    return sha256


def sha256_hex(document: str) -> str | None:
    """The hash a client computes: lowercase hex SHA-256 of the UTF-8 text (None for a text
    with a lone surrogate, which has no UTF-8 form and so no hash a client could send)."""
    try:
        return hashlib.sha256(document.encode()).hexdigest()
    except UnicodeEncodeError:
        return None


class PersistedDocuments:
    """Documents by hash, least recently used dropped first (one event loop uses it)."""

    def __init__(self, *, max_documents: int, max_bytes: int, max_document_bytes: int) -> None:
        self.max_documents = max_documents
        self.max_bytes = max_bytes
        self.max_document_bytes = max_document_bytes
        self._documents: OrderedDict[str, tuple[str, int]] = OrderedDict()  # text, UTF-8 size
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._documents)

    @property
    def size_bytes(self) -> int:
        """The UTF-8 size of the documents kept."""
        return self._bytes

    def get(self, sha256: str) -> str | None:
        kept = self._documents.get(sha256)
        if kept is None:
            return None
        self._documents.move_to_end(sha256)
        return kept[0]

    def size_of(self, document: str) -> int | None:
        """The UTF-8 size of ``document``, or None when it is over ``max_document_bytes``
        (counted in characters first, so a huge text is never encoded)."""
        if len(document) > self.max_document_bytes:
            return None
        size = len(document.encode("utf-8", "surrogatepass"))
        return size if size <= self.max_document_bytes else None

    def add(self, sha256: str, document: str) -> bool:
        """Keep ``document`` under ``sha256`` (the caller checked that it is its hash); False
        when it is over the size cap."""
        size = self.size_of(document)
        if size is None:
            return False
        previous = self._documents.pop(sha256, None)
        if previous is not None:
            self._bytes -= previous[1]
        self._documents[sha256] = (document, size)
        self._bytes += size
        while len(self._documents) > self.max_documents or self._bytes > self.max_bytes:
            _, (_, dropped) = self._documents.popitem(last=False)
            self._bytes -= dropped
        return True


@dataclass(frozen=True)
class _Registration:
    store: PersistedDocuments
    sha256: str
    document: str


# The registration the current HTTP operation asks for, if any (one operation per request).
_PENDING: ContextVar[_Registration | None] = ContextVar("persisted_registration", default=None)


@contextmanager
def registration_scope() -> Iterator[None]:
    """Around one HTTP request: a registration asked for inside it ends with it."""
    token = _PENDING.set(None)
    try:
        yield
    finally:
        _PENDING.reset(token)


def register_when_valid(store: PersistedDocuments, sha256: str, document: str) -> None:
    """Store ``document`` under ``sha256`` if this request's operation passes every check."""
    _PENDING.set(_Registration(store, sha256, document))


def register_pending() -> None:
    """The operation was answered from the response cache: it passed every check when that
    answer was computed, and its cost was charged again now, so the document this request asked
    to register is kept as if it had run (else a client whose query is cached would be told
    PersistedQueryNotFound for ever)."""
    pending = _PENDING.get()
    if pending is not None:
        _PENDING.set(None)
        pending.store.add(pending.sha256, pending.document)


class RegisterValidDocument(SchemaExtension):
    """Listed last: its hook runs after validation and the request guard, and stores the
    document the request asked to register only when none of them refused it."""

    def on_validate(self) -> Iterator[None]:
        pending = _PENDING.get()
        if pending is not None and self.execution_context.pre_execution_errors == []:
            _PENDING.set(None)
            pending.store.add(pending.sha256, pending.document)
        yield
