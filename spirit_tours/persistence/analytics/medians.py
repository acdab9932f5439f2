"""The exact median of a column, in SQL, for the analytics queries."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, func


def exact_median(column: ColumnElement[Any]) -> ColumnElement[Any]:
    """The median of the non-null values, exact in ``numeric``: the mean of the lower and upper
    middle values (``percentile_disc`` ascending and descending), which is the middle value
    itself when their number is odd. ``percentile_cont`` would go through ``double precision``
    and give hours and percentages a float's rounding."""
    lower = func.percentile_disc(0.5).within_group(column.asc())
    upper = func.percentile_disc(0.5).within_group(column.desc())
    return (lower + upper) / 2
