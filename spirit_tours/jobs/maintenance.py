"""Housekeeping jobs."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import delete, or_

from spirit_tours.core.clock import now_utc
from spirit_tours.persistence.accounts import RefreshToken

# Revoked tokens are kept a while so a replayed one is still recognised as a reuse.
REVOKED_TOKEN_RETENTION = timedelta(days=7)


async def purge_refresh_tokens(ctx: dict[str, Any]) -> int:
    """Delete refresh tokens that expired, or were revoked over a week ago."""
    now = now_utc()
    async with ctx["sessions"]() as session, session.begin():
        result = await session.execute(
            delete(RefreshToken).where(
                or_(
                    RefreshToken.expires_at < now,
                    RefreshToken.revoked_at < now - REVOKED_TOKEN_RETENTION,
                )
            )
        )
    return int(result.rowcount)
