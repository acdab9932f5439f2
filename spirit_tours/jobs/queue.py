"""The saq queue every job of ours goes through, and the histogram of how long its jobs take
(observed by the workers; defined here, so every process that knows the queues announces it)."""

from __future__ import annotations

from prometheus_client import Histogram
from saq.queue.redis import RedisQueue

from spirit_tours.core.metrics import PROCESS

JOB_DURATION = Histogram(
    "spirit_job_duration_seconds", "Jobs run by the workers: from start to end (done, failed, "
    "retried or aborted), by queue", ["queue"], registry=PROCESS,
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)  # fmt: skip


class JobQueue(RedisQueue):  # type: ignore[misc]  # saq's redis module is untyped
    """saq's Redis queue, with a sweep that does not wait for the stuck job to acknowledge
    its abort.

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
