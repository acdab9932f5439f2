"""A response cache for GraphQL queries over HTTP that never crosses privacy scopes
(docs/privacy.md §2.1, "Cached answers").

What is cached: a query (never a mutation or subscription) whose every root field is in
``ROOT_FIELDS``, fields whose whole answer comes from PostgreSQL through the request's reads,
asked by a signed-in viewer; an answer with any error is never stored.

The key is the SHA-256 of the document text, the operation name, the variables' canonical JSON
and the viewer's exact identity (user id, role, company id): two users never share an entry,
even of one company, since answers such as ``viewer { email }`` differ per user. The token is
not part of it; authentication (signature, expiry, revocation) ran for the request before, and
the viewer's cost points are charged again on every hit (``request_guard.charge``).

Validity is exact: ``persistence.snapshot`` is read before the operation runs and the answer is
stored with that reading; it is served only while the current snapshot still equals it, so
nothing committed since, and every row the operation read is unchanged. (Had anything committed
while it ran, the snapshot has already moved on for good and the entry is never served.) The
outbox position cannot prove that (the relay assigns it after the commit, and
not every write is an event). Besides, an answer is served at most ``max_age`` seconds after it
was computed, because answers also compare the clock with deadlines (an OPEN quotation past its
deadline is CLOSED). ``Cache-Control: no-cache`` on the request computes a fresh answer.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any, cast

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationType,
    SelectionSetNode,
    parse,
)
from graphql.utilities import get_operation_ast
from sqlalchemy.exc import TimeoutError as PoolTimeout
from strawberry.types import ExecutionResult

from spirit_tours.auth.rate_limit import CostRateLimiter
from spirit_tours.context import Context
from spirit_tours.core import json_codec
from spirit_tours.permissions.viewer import Viewer
from spirit_tours.persistence.snapshot import current_snapshot
from spirit_tours.schema.request_guard import charge
from spirit_tours.schema.response_store import LOOKUPS, Entry, ResponseStore

log = logging.getLogger(__name__)

ROOT_FIELDS = frozenset(
    {
        # Each read through the request's sessions and DataLoaders only, down to every type
        # below it; none reads Redis, another service, or the clock except to compare it with
        # a stored deadline (bounded by max_age). A hotel's first ``quotation`` marks its
        # invitation viewed: a commit, so that answer is never stored.
        "viewer",
        "quotation",
        "quotations",
        "booking",
        "bookings",
        "payment",
        "payments",
        "messages",
        "__typename",
    }
)
"""Root fields a cached query may select. Not here: ``emailStats``, ``jobQueues`` (saq's
Redis), introspection, and the operator's other lists until someone checks them."""

HIT, MISS, BYPASS = "hit", "miss", "bypass"
_PLANS = 1024


def _only_allowed(
    selections: SelectionSetNode,
    fragments: dict[str, FragmentDefinitionNode],
    seen: set[str],
) -> bool:
    for selection in selections.selections:
        if isinstance(selection, FieldNode):
            if selection.name.value not in ROOT_FIELDS:
                return False
        elif isinstance(selection, InlineFragmentNode):
            if not _only_allowed(selection.selection_set, fragments, seen):
                return False
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            if name in seen:
                continue
            seen.add(name)
            fragment = fragments.get(name)
            if fragment is None or not _only_allowed(fragment.selection_set, fragments, seen):
                return False
    return True


def cacheable(query: str, operation_name: str | None, max_tokens: int) -> bool:
    """Whether the operation that will run is a query selecting only ``ROOT_FIELDS``."""
    try:
        document = parse(query, no_location=True, max_tokens=max_tokens)
    except (GraphQLError, RecursionError):
        return False
    operation = get_operation_ast(document, operation_name)
    if operation is None or operation.operation != OperationType.QUERY:
        return False
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    return _only_allowed(operation.selection_set, fragments, set())


def cache_key(
    document_hash: str, operation_name: str | None, variables: object, viewer: Viewer
) -> bytes | None:
    """The entry's key; None when the variables have no canonical JSON (then: no caching)."""
    identity = [str(viewer.user_id), viewer.role.value, str(viewer.company_id or "")]
    try:
        material = json.dumps(
            [document_hash, operation_name, variables or {}, identity],
            sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False,
        )  # fmt: skip
    except (TypeError, ValueError):
        return None
    return hashlib.sha256(material.encode()).digest()


def _encode(result: ExecutionResult) -> bytes | None:
    try:
        return json_codec.dumps({"data": result.data, "extensions": result.extensions})
    except (TypeError, ValueError):
        return None


def _decode(body: bytes) -> ExecutionResult:
    stored = cast(dict[str, Any], json_codec.loads(body))
    return ExecutionResult(data=stored["data"], errors=None, extensions=stored["extensions"])


class ResponseCache:
    def __init__(
        self,
        *,
        max_age_seconds: float,
        max_entries: int,
        max_bytes: int,
        max_tokens: int,
        limiter: CostRateLimiter,
    ) -> None:
        self.max_age_seconds = max_age_seconds
        self.max_tokens = max_tokens
        self.limiter = limiter
        self.store = ResponseStore(max_entries=max_entries, max_bytes=max_bytes)
        self._plans: OrderedDict[bytes, bool] = OrderedDict()

    def _cacheable(self, document_hash: str, query: str, operation_name: str | None) -> bool:
        # By digest: the operation name is any text a client sends, never kept.
        name = json.dumps(operation_name, ensure_ascii=False).encode("utf-8", "surrogatepass")
        plan = hashlib.sha256(document_hash.encode() + b"\0" + name).digest()
        known = self._plans.get(plan)
        if known is None:
            known = self._plans[plan] = cacheable(query, operation_name, self.max_tokens)
            if len(self._plans) > _PLANS:
                self._plans.popitem(last=False)
        else:
            self._plans.move_to_end(plan)
        return known

    async def execute(
        self,
        context: Context,
        query: object,
        operation_name: str | None,
        variables: object,
        *,
        fresh: bool,
        run: Callable[[], Awaitable[ExecutionResult]],
    ) -> tuple[ExecutionResult, str | None]:
        """The answer, and how the cache took part: ``hit``, ``miss``, ``bypass`` (asked
        fresh), or None when this operation is not one it keeps."""
        viewer = context.viewer  # None: anonymous, or a token that was refused
        if viewer is None or not isinstance(query, str):
            return await run(), None
        document_hash = hashlib.sha256(query.encode()).hexdigest()
        if not self._cacheable(document_hash, query, operation_name):
            return await run(), None
        key = cache_key(document_hash, operation_name, variables, viewer)
        if key is None:
            return await run(), None
        before: str | None = None
        looked = False
        outcome = BYPASS if fresh else MISS
        entry = None if fresh else self.store.get(key)
        if entry is not None:
            if time.monotonic() - entry.stored_at < self.max_age_seconds:
                before, looked = await _snapshot(context), True
                if before == entry.snapshot:
                    refusal = await charge(self.limiter, context, entry.cost)
                    if refusal is not None:
                        return ExecutionResult(data=None, errors=[refusal]), None
                    LOOKUPS.labels(HIT).inc()
                    return _decode(entry.body), HIT
            self.store.discard(key)
        LOOKUPS.labels(outcome).inc()
        if not looked:
            before = await _snapshot(context)
        result = await run()
        cost = context.operation_cost
        if before is None or result.errors or result.data is None or cost is None:
            return result, outcome
        body = _encode(result)
        if body is not None:
            # Stored under the snapshot read before it ran. Had anything committed meanwhile,
            # the snapshot has moved on and never comes back (xmax only grows; below it the
            # running ids only end), so such an entry is never served, only aged out.
            self.store.put(key, Entry(body, before, time.monotonic(), cost))
        return result, outcome


async def _snapshot(context: Context) -> str | None:
    """The current snapshot; None when it cannot be read (then nothing is served or stored).
    An exhausted pool is not hidden: the request answers SERVICE_UNAVAILABLE as any other."""
    try:
        async with context.loaders.reads.session() as session:
            return await current_snapshot(session)
    except PoolTimeout:
        raise
    except Exception as error:
        log.warning("response cache: database snapshot not read (%r); not caching", error)
        return None
