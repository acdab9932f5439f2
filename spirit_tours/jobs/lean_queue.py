"""saq's Redis queue with fewer round trips per job, for queues that run many short jobs (the
e-mail lanes: one job per message).

saq spends six round trips on a job: BLMOVE and GET to take it, SET and PUBLISH to mark it
active, a MULTI/EXEC and a PUBLISH to finish it. Here a waiting job is taken with one script
(LMOVE and GET), and each write goes with its PUBLISH in one pipeline: three round trips. The
keys, values and notifications are saq's own, so saq's sweep, scheduler, monitor and
``apply`` work unchanged.
"""

from __future__ import annotations

from typing import Any

from saq.job import Job, Status
from saq.utils import now

from spirit_tours.jobs.queue import JobQueue

# Take the oldest waiting job, if any, and return its stored value (nil: none waiting).
_TAKE = """
local id = redis.call('LMOVE', KEYS[1], KEYS[2], 'LEFT', 'RIGHT')
if not id then return false end
return redis.call('GET', id)
"""


class LeanJobQueue(JobQueue):
    _take_script: Any = None

    async def dequeue(self, timeout: float = 0.0, poll_interval: float = 0.0) -> Job | None:  # noqa: ASYNC109 - saq's signature
        """A waiting job in one round trip; when none waits, saq's blocking dequeue."""
        if await self.version() >= (6, 2, 0):
            if self._take_script is None:
                self._take_script = self.redis.register_script(_TAKE)
            stored = await self._take_script(keys=[self._queued, self._active], client=self.redis)
            if stored:
                job: Job | None = self.deserialize(stored)
                return job
        taken: Job | None = await super().dequeue(timeout, poll_interval)
        return taken

    async def update(self, job: Job, **kwargs: Any) -> None:
        """A status change (the worker marking a job active) written with its notification in
        one pipeline; anything else as saq does it."""
        if set(kwargs) != {"status"} or not kwargs["status"]:
            await super().update(job, **kwargs)
            return
        job.touched = now()
        job.status = kwargs["status"]
        async with self.redis.pipeline(transaction=False) as pipe:
            await pipe.set(job.id, self.serialize(job)).publish(job.id, job.status).execute()

    async def _finish(
        self, job: Job, status: Status, *, result: Any = None, error: str | None = None
    ) -> None:
        """saq's finish, its PUBLISH inside the same MULTI/EXEC."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.lrem(self._active, 1, job.id).zrem(self._incomplete, job.id)
            if job.ttl > 0:
                pipe.setex(job.id, job.ttl, self.serialize(job))
            elif job.ttl == 0:
                pipe.set(job.id, self.serialize(job))
            else:
                pipe.delete(job.id)
            await pipe.publish(job.id, job.status).execute()
