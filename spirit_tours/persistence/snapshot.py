"""PostgreSQL's current snapshot, the proof that nothing committed in between two readings.

``pg_current_snapshot()`` is ``xmin:xmax:xip_list`` (64-bit ids, so no wraparound), where xmax
is one past the latest transaction id that completed and ``xip_list`` the ids below it still
running. xmax never decreases, and new ids are only ever handed out from xmax up, so a
transaction that takes an id and then commits or aborts either raises xmax or leaves
``xip_list``: two equal readings mean no transaction holding an id ended in between, and every
statement run between them saw the same committed rows. The snapshot is the cluster's, so
writes to other databases change it too (only ever a false "changed").
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

_QUERY = text("SELECT pg_current_snapshot()::text")


async def current_snapshot(session: AsyncSession) -> str:
    """The snapshot as text: one statement, on the operation's read session (autocommit, so
    no BEGIN and ROLLBACK around it, and on the connection its other reads use)."""
    return str(await session.scalar(_QUERY))
