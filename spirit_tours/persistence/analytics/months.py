"""A range of days split into the whole calendar months a monthly rollup answers and the days
at either end (of a partial first or last month) that its per-fact view answers."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

from spirit_tours.core.analytics import DateRange


@dataclass(frozen=True)
class MonthSplit:
    months: tuple[date, date] | None
    """The first days of the first and the last whole month in the range; None: none."""
    edges: tuple[tuple[date, date], ...]
    """The other days, as (first, last) spans: none, one or two."""


def _month_index(day: date) -> int:
    return day.year * 12 + day.month - 1


def _first_day(index: int) -> date:
    return date(index // 12, index % 12 + 1, 1)


def split_months(days: DateRange) -> MonthSplit:
    """``days`` as its whole months and the spans of days before and after them (months counted
    as integers, so a range ending on 9999-12-31 needs no day after it)."""
    first = _month_index(days.start) + (days.start.day != 1)
    month_end = days.end.day == calendar.monthrange(days.end.year, days.end.month)[1]
    last = _month_index(days.end) - (not month_end)
    if first > last:
        return MonthSplit(None, ((days.start, days.end),))
    edges = []
    if days.start.day != 1:
        edges.append((days.start, _first_day(first) - timedelta(days=1)))
    if not month_end:
        edges.append((_first_day(last + 1), days.end))
    return MonthSplit((_first_day(first), _first_day(last)), tuple(edges))
