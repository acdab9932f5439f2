"""How much memory a process keeps after what clients sent: for bounded-cache tests."""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Awaitable, Callable


async def bytes_kept(send: Callable[[int], Awaitable[None]], times: int) -> int:
    """The traced memory still held after ``send(n)`` for each ``n`` below ``times``."""
    tracemalloc.start()
    try:
        gc.collect()
        before, _ = tracemalloc.get_traced_memory()
        for n in range(times):
            await send(n)
        gc.collect()
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return after - before
