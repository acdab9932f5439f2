"""The saq queue every job of ours goes through."""

from __future__ import annotations

from saq.queue.redis import RedisQueue


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
