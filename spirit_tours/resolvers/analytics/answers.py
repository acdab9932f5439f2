"""The reports' answers kept in memory until the rollups they come from are refreshed.

A report is a pure function of its question (range, grouping, limit) and of the views' contents,
which change only when they are refreshed; so an answer is kept under its question and the
refresh time it was computed after (``analytics_refreshes``), and a request costs one small
read of that time while nothing was refreshed. The time is read *before* the views: should a
refresh commit in between, the newer answer lands under the older time, which no later request
asks for; an older answer is never filed under a newer time. Per process, bounded (least
recently used answers go first).
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from datetime import datetime
from typing import TypeVar

T = TypeVar("T")

MAX_ANSWERS = 256
MAX_ROWS = 100_000
"""The most rows (groups, rows, outcomes…) the kept answers hold together."""


def rows_of(answer: object) -> int:
    """An answer's weight: 1, plus the items of each list it holds, plus the items of the
    lists those hold (a funnel group's steps)."""
    if not dataclasses.is_dataclass(answer) or isinstance(answer, type):
        return 1
    weight = 1
    for field in dataclasses.fields(answer):
        value = getattr(answer, field.name)
        if isinstance(value, list):
            weight += sum(rows_of(item) for item in value)
        elif dataclasses.is_dataclass(value):
            weight += rows_of(value)
    return weight


class Answers:
    def __init__(self, size: int = MAX_ANSWERS, max_rows: int = MAX_ROWS) -> None:
        self._size = size
        self._max_rows = max_rows
        self._kept: OrderedDict[Hashable, tuple[object, int]] = OrderedDict()
        self._rows = 0

    @property
    def rows(self) -> int:
        """The rows the kept answers hold together."""
        return self._rows

    async def get_or_compute(
        self,
        question: Hashable,
        refreshed_at: datetime | None,
        compute: Callable[[], Awaitable[T]],
    ) -> T:
        """The answer kept for ``question`` at this refresh, else ``compute()`` kept; never
        kept when the views' refresh time is unknown, nor when it alone outweighs the budget."""
        if refreshed_at is None:
            return await compute()
        key = (question, refreshed_at)
        if key in self._kept:
            self._kept.move_to_end(key)
            return self._kept[key][0]  # type: ignore[return-value]
        answer = await compute()
        weight = rows_of(answer)
        if weight > self._max_rows or key in self._kept:  # too big; or kept meanwhile
            return answer
        self._kept[key] = (answer, weight)
        self._rows += weight
        while len(self._kept) > self._size or self._rows > self._max_rows:
            _, (_, dropped) = self._kept.popitem(last=False)
            self._rows -= dropped
        return answer


ANSWERS = Answers()
