"""The saq queue every job of ours goes through."""

from __future__ import annotations

from typing import Any

from saq.job import Job
from saq.queue.redis import RedisQueue

from spirit_tours.core.tracing import enabled as tracing_enabled
from spirit_tours.jobs.tracing import TRACE_META, enqueue_span


class JobQueue(RedisQueue):  # type: ignore[misc]  # saq's redis module is untyped
    """saq's Redis queue, with a sweep that does not wait for the stuck job to acknowledge
    its abort, and jobs that carry the trace that queued them.

    saq 0.26 waits for that acknowledgement on its shared pub/sub listener, and tearing the
    listener down afterwards can raise (the cancelled reader has already dropped the
    connection): the sweep then stops before re-queuing the job, every time, so the job of a
    worker that was killed is never run again. Not waiting is safe for our jobs: each one
    claims its row under a lease in PostgreSQL and records its outcome only while the claim
    is still its own, so a late answer from the stuck attempt changes nothing.
    """

    async def sweep(self, lock: int = 60, abort: float | None = None) -> list[str]:
        swept: list[str] = await super().sweep(lock, abort=None)
        return swept

    async def enqueue(self, job_or_func: str | Job, **kwargs: Any) -> Job | None:
        """saq's enqueue; with tracing on, inside a producer span whose context the job keeps
        in its ``meta`` (``jobs.tracing``)."""
        if not tracing_enabled():
            return await super().enqueue(job_or_func, **kwargs)
        function = job_or_func if isinstance(job_or_func, str) else job_or_func.function
        with enqueue_span(function, self.name) as carrier:
            if carrier:
                if isinstance(job_or_func, Job):
                    job_or_func.meta = {**(job_or_func.meta or {}), TRACE_META: carrier}
                else:
                    kwargs["meta"] = {**(kwargs.get("meta") or {}), TRACE_META: carrier}
            return await super().enqueue(job_or_func, **kwargs)
