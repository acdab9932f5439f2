"""Exact medians for the analytics queries: of a column, in SQL, and of the sorted arrays a
monthly rollup keeps, in Python."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from itertools import chain
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Numeric, func, type_coerce
from sqlalchemy.dialects.postgresql import ARRAY, array
from sqlalchemy.sql.elements import Grouping

T = TypeVar("T", int, float, Decimal)

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


def middles(runs: Iterable[Sequence[T]]) -> tuple[T, T] | None:
    """The lower and upper middle values of the union of sorted ``runs`` (a monthly rollup's
    sorted arrays): the same value when the count is odd; None when there is none. Python's
    sort merges runs that are already in order in about linear time."""
    values = sorted(chain.from_iterable(runs))
    if not values:
        return None
    return values[(len(values) - 1) // 2], values[len(values) // 2]


def packed_middles(runs: Sequence[bytes]) -> tuple[int, int] | None:
    """``middles`` of sorted runs of big-endian 8-byte integers (``int8send``), in numpy
    (imported here, on the first report that needs it, so no process starts with numpy)."""
    import numpy as np

    values = np.frombuffer(b"".join(runs), dtype=">i8")
    if not len(values):
        return None
    lower, upper = (len(values) - 1) // 2, len(values) // 2
    found = np.partition(values, [lower, upper])
    return int(found[lower]), int(found[upper])
