"""A range of days split into the whole calendar months a monthly rollup answers and the days
at either end (of a partial first or last month) that its per-fact view answers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from spirit_tours.core.analytics import DateRange


@dataclass(frozen=True)
class MonthSplit:
    months: tuple[date, date] | None
    """The first days of the first and the last whole month in the range; None: none."""
    edges: tuple[tuple[date, date], ...]
    """The other days, as (first, last) spans: none, one or two."""


def _next_month(day: date) -> date:
    return (day.replace(day=1) + timedelta(days=32)).replace(day=1)


def split_months(days: DateRange) -> MonthSplit:
    """``days`` as its whole months and the spans of days before and after them."""
    first = days.start if days.start.day == 1 else _next_month(days.start)
    after = days.end.replace(day=1) if _next_month(days.end) != days.end_exclusive else None
    stop = after if after is not None else days.end_exclusive  # the day after the last month
    if first >= stop:
        return MonthSplit(None, ((days.start, days.end),))
    edges = []
    if first > days.start:
        edges.append((days.start, first - timedelta(days=1)))
    if stop <= days.end:
        edges.append((stop, days.end))
    last = (stop - timedelta(days=1)).replace(day=1)
    return MonthSplit((first, last), tuple(edges))
