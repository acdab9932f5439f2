"""The saq queue every job of ours goes through, and the histogram of how long its jobs take
(observed by the workers; defined here, so every process that knows the queues announces it)."""

from __future__ import annotations

from typing import Any

from prometheus_client import Histogram
from saq.job import Job
from saq.queue.redis import RedisQueue

from spirit_tours.core.metrics import PROCESS
from spirit_tours.core.tracing import enabled as tracing_enabled
from spirit_tours.jobs.tracing import TRACE_META, enqueue_span
from spirit_tours.logs.context import REQUEST_ID, current_request_id

JOB_DURATION = Histogram(
    "spirit_job_duration_seconds", "Jobs run by the workers: from start to end (done, failed, "
    "retried or aborted), by queue", ["queue"], registry=PROCESS,
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)  # fmt: skip


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
        """saq's enqueue; a job enqueued while serving a request keeps the request's id in its
        ``meta``, so the worker's log lines of that job carry it (``worker.JobRequestIds``),
        and, with tracing on, it is enqueued inside a producer span whose context the job keeps
        in its ``meta`` too (``jobs.tracing``)."""
        request_id = current_request_id()
        if request_id is not None:
            if isinstance(job_or_func, Job):
                job_or_func.meta.setdefault(REQUEST_ID, request_id)
            else:
                kwargs["meta"] = {REQUEST_ID: request_id, **kwargs.get("meta", {})}
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
