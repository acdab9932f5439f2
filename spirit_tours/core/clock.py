"""The one clock: every reading of the current time in the project goes through here, so
"now" means the same thing (aware, UTC) in the database rows, the rules and the tokens."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime


def now_utc() -> datetime:
    """The current instant, timezone-aware in UTC."""
    return datetime.now(UTC)


def today_utc() -> date:
    """Today's date in UTC (deadlines and tour dates are compared in UTC)."""
    return now_utc().date()


def epoch_seconds() -> float:
    """Seconds since the Unix epoch: Redis scores and the signed timestamps of webhooks."""
    return time.time()
