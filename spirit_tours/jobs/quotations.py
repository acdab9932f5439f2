"""Quotation crons."""

from __future__ import annotations

from datetime import date
from typing import Any

from spirit_tours.core.clock import today_utc
from spirit_tours.resolvers.quotations.lifecycle import expire_started


async def expire_quotations(ctx: dict[str, Any], *, today: date | None = None) -> int:
    """Hourly: quotations never booked whose trip has started are EXPIRED (an event tells
    everyone; no mail, there is no template for it)."""
    async with ctx["sessions"]() as session, session.begin():
        expired = await expire_started(session, today or today_utc())
    return len(expired)
