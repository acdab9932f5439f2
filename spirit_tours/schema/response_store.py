"""The response cache's memory: a least-recently-used map bounded in entries and in bytes.

Answers are kept as their JSON text, so the byte bound is the size of what is kept, and a hit
decodes a fresh copy that nothing else shares. Counters and gauges go to the process registry
(``/metrics``); the gauges move by differences, so several caches in one process (the tests
start more than one app) add up.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from prometheus_client import Counter, Gauge

from spirit_tours.core.metrics import LIVESUM, PROCESS

LOOKUPS = Counter(
    "spirit_response_cache_lookups", "GraphQL queries the response cache could serve, by outcome "
    "(hit, miss: computed, bypass: Cache-Control: no-cache)", ["outcome"], registry=PROCESS,
)  # fmt: skip
STORES = Counter(
    "spirit_response_cache_stores", "Answers stored in the response cache", registry=PROCESS
)
EVICTIONS = Counter(
    "spirit_response_cache_evictions", "Answers dropped from the response cache, by reason "
    "(capacity: the bounds; stale: the database or the clock moved on)", ["reason"],
    registry=PROCESS,
)  # fmt: skip
ENTRIES = Gauge(
    "spirit_response_cache_entries", "Answers held by the response cache", registry=PROCESS,
    multiprocess_mode=LIVESUM,
)  # fmt: skip
BYTES = Gauge(
    "spirit_response_cache_bytes", "JSON bytes held by the response cache", registry=PROCESS,
    multiprocess_mode=LIVESUM,
)  # fmt: skip


@dataclass(frozen=True)
class Entry:
    body: bytes
    """The execution result's ``data`` (and ``extensions``) as JSON."""
    snapshot: str
    """The database snapshot the answer was computed at (``persistence.snapshot``)."""
    stored_at: float
    """``time.monotonic()`` when stored."""
    cost: int
    """The operation's cost points, charged to the viewer on every hit."""


class ResponseStore:
    def __init__(self, *, max_entries: int, max_bytes: int) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._entries: OrderedDict[bytes, Entry] = OrderedDict()
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def size(self) -> int:
        """Bytes held."""
        return self._bytes

    def get(self, key: bytes) -> Entry | None:
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
        return entry

    def put(self, key: bytes, entry: Entry) -> bool:
        """Keep ``entry``, dropping the least recently used ones past the bounds; an answer
        larger than the whole byte budget is not kept (False)."""
        if len(entry.body) > self.max_bytes:
            return False
        self.discard(key, reason=None)
        self._entries[key] = entry
        self._bytes += len(entry.body)
        ENTRIES.inc()
        BYTES.inc(len(entry.body))
        STORES.inc()
        while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
            oldest = next(iter(self._entries))
            self.discard(oldest, reason="capacity")
        return True

    def discard(self, key: bytes, *, reason: str | None = "stale") -> None:
        entry = self._entries.pop(key, None)
        if entry is None:
            return
        self._bytes -= len(entry.body)
        ENTRIES.dec()
        BYTES.dec(len(entry.body))
        if reason is not None:
            EVICTIONS.labels(reason).inc()
