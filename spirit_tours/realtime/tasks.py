"""Stopping background tasks within a grace period."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any


async def stop_tasks(tasks: Iterable[asyncio.Task[Any]], grace: float = 5.0) -> None:
    """Cancel background tasks and wait for them, but never forever: a task that swallowed
    its cancellation must not hold a server's shutdown."""
    pending = [task for task in tasks if not task.done()]
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending, timeout=grace)
