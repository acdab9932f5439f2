"""The exact median of a column, in SQL, for the analytics queries."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Numeric, func, type_coerce
from sqlalchemy.dialects.postgresql import ARRAY, array
from sqlalchemy.sql.elements import Grouping

UPPER_MIDDLE = 0.5 + 1e-9
"""A fraction just above one half: ``percentile_disc`` picks the value at position
ceil(f * n), so 0.5 gives the lower middle value and this the upper one (the same value when n
is odd), for any n under a hundred million."""


def exact_median(column: ColumnElement[Any]) -> ColumnElement[Any]:
    """The median of the non-null values, exact in ``numeric``: the mean of the lower and upper
    middle values, both taken by one ``percentile_disc`` (one sort). ``percentile_cont``
    would go through ``double precision`` and give hours and percentages a float's rounding."""
    middles = func.percentile_disc(array([0.5, UPPER_MIDDLE])).within_group(column)
    both = type_coerce(Grouping(middles), ARRAY(Numeric()))
    return (both[1] + both[2]) / 2
