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

from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from datetime import datetime
from typing import TypeVar

T = TypeVar("T")

MAX_ANSWERS = 256


class Answers:
    def __init__(self, size: int = MAX_ANSWERS) -> None:
        self._size = size
        self._kept: OrderedDict[Hashable, object] = OrderedDict()

    async def get_or_compute(
        self,
        question: Hashable,
        refreshed_at: datetime | None,
        compute: Callable[[], Awaitable[T]],
    ) -> T:
        """The answer kept for ``question`` at this refresh, else ``compute()`` kept; never
        kept when the views' refresh time is unknown."""
        if refreshed_at is None:
            return await compute()
        key = (question, refreshed_at)
        if key in self._kept:
            self._kept.move_to_end(key)
            return self._kept[key]  # type: ignore[return-value]
        answer = await compute()
        self._kept[key] = answer
        while len(self._kept) > self._size:
            self._kept.popitem(last=False)
        return answer


ANSWERS = Answers()
