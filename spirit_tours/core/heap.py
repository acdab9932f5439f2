"""The garbage collector of a serving process: the start-up heap frozen, young collections
less often.

A server process imports and builds a large, long-lived heap (SQLAlchemy's mappers and
compiled-statement cache, the GraphQL schema, graphql-core's and strawberry's types): every
full collection walked all of it again, and a request allocates enough short-lived objects
(ORM states, rows, results) to trigger collections many times a second. Profiles of the
payment benchmark showed the collector as a tenth of the server's CPU. Frozen objects stay
alive (they are the process's for its lifetime anyway); reference cycles made after the start
are still collected, only in larger batches.
"""

from __future__ import annotations

import gc

# Allocations (net of deallocations) between two young collections: CPython's default is 700.
YOUNG_THRESHOLD = 20_000


def settle_heap() -> None:
    """Call once the process is ready to serve: collect, then move what survived (the
    start-up heap) out of the collector's sight, and collect the young less often."""
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, older, oldest)
