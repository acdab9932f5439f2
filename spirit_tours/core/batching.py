"""Coalesce concurrent calls into one batched call.

While one batch runs, the calls that arrive wait together and go as the next batch. There is
no timer: a lone call goes on the loop's next turn, and under load the batches grow with the
rate of calls — one database round trip for many concurrent jobs instead of one each.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


class Coalescer(Generic[Item, Result]):
    """``await submit(item)`` returns ``run(batch)[i]`` for the batch its item went in.

    ``run`` takes the items of one batch and returns one result per item, in order; if it
    raises, every call of that batch raises the same error. Batches run one at a time. A
    caller cancelled before its batch starts is left out of it; one cancelled later does not
    stop the batch (shield the call where the batch's work must not be lost on its account).
    """

    def __init__(
        self, run: Callable[[list[Item]], Awaitable[Sequence[Result]]], *, max_batch: int = 500
    ) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self._run = run
        self._max_batch = max_batch
        self._pending: list[tuple[Item, asyncio.Future[Result]]] = []
        self._drainer: asyncio.Task[None] | None = None

    async def submit(self, item: Item) -> Result:
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        if self._drainer is None:
            self._drainer = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        try:
            while self._pending:
                batch = [entry for entry in self._pending[: self._max_batch] if not entry[1].done()]
                del self._pending[: self._max_batch]
                if batch:
                    await self._run_batch(batch)
        finally:
            self._drainer = None
            for _, future in self._pending:  # only if this task was cancelled (loop shutdown)
                future.cancel()
            self._pending.clear()

    async def _run_batch(self, batch: list[tuple[Item, asyncio.Future[Result]]]) -> None:
        try:
            results = await self._run([item for item, _ in batch])
        except asyncio.CancelledError:
            for _, future in batch:
                future.cancel()
            raise
        except Exception as error:
            _fail(batch, error)
            return
        if len(results) != len(batch):  # a bug in ``run``: never hand out shifted results
            _fail(batch, RuntimeError(f"a batch of {len(batch)} got {len(results)} results"))
            return
        for (_, future), result in zip(batch, results, strict=True):
            if not future.done():
                future.set_result(result)


def _fail(batch: list[tuple[Any, asyncio.Future[Any]]], error: Exception) -> None:
    for _, future in batch:
        if not future.done():
            future.set_exception(error)
