"""The relay: publishes committed outbox events in commit order.

Every API process runs one, but a PostgreSQL advisory lock lets a single one work at a time.
It gives each unpublished event the next ``position`` (gap-free, in the order the events were
committed as far as it can see), its rooms, and its inbox notifications, all in one
transaction; then it tells every process through Redis that new positions exist. When Redis is
down the events wait safely in PostgreSQL and the hubs' own polling still finds them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass

from redis.asyncio import Redis
from sqlalchemy import Table, bindparam, func, select, update
from sqlalchemy.dialects.postgresql import insert

from spirit_tours.core.clock import now_utc
from spirit_tours.core.tracing import linked
from spirit_tours.persistence.database import SessionFactory
from spirit_tours.persistence.events import Notification, OutboxEvent
from spirit_tours.realtime.inbox import NOTIFIED, addressees
from spirit_tours.realtime.rooms import prefetch, rooms_of, user_room
from spirit_tours.realtime.tasks import stop_tasks

log = logging.getLogger(__name__)

EVENTS_CHANNEL = "spirit:events"
_LOCK = 0x5317_0E17
_BATCH = 200
_IDLE_SECONDS = 0.25
# After a batch of several events (but not a full one), the next batch waits this long, so
# events committed meanwhile are published together: under load, fewer and larger batches
# instead of many of a few events, each a dozen round trips. A lone event (a quiet server, one
# change after another) is followed by no wait: the next one still goes out at once.
_GATHER_SECONDS = 0.03
_EVENTS, _NOTIFICATIONS = OutboxEvent.__table__, Notification.__table__
assert isinstance(_EVENTS, Table)
assert isinstance(_NOTIFICATIONS, Table)
# Core, by primary key: the relay's events are never changed through the ORM, so no autoflush
# splits a batch into a statement per event.
_PUBLISH = (
    update(_EVENTS)
    .where(_EVENTS.c.id == bindparam("event_id"))
    .values(
        position=bindparam("position"),
        published_at=bindparam("published_at"),
        rooms=bindparam("rooms"),
    )
)
_NOTIFY = insert(_NOTIFICATIONS).on_conflict_do_nothing()


@dataclass(frozen=True)
class Published:
    position: int  # the highest position given
    count: int  # events in the batch


async def relay_once(sessions: SessionFactory) -> Published | None:
    """Publish one batch; None when there was nothing to do (or another process holds the
    relay lock)."""
    async with sessions() as session, session.begin():
        waiting = await session.scalar(
            select(OutboxEvent.id).where(OutboxEvent.published_at.is_(None)).limit(1)
        )
        if waiting is None:
            return None
        if not await session.scalar(select(func.pg_try_advisory_xact_lock(_LOCK))):
            return None
        events = list(
            await session.scalars(
                select(OutboxEvent)
                .where(OutboxEvent.published_at.is_(None))
                .order_by(OutboxEvent.id)
                .limit(_BATCH)
            )
        )
        position = int(
            await session.scalar(select(func.coalesce(func.max(OutboxEvent.position), 0))) or 0
        )
        now = now_utc()
        known = await prefetch(session, events)
        published: list[dict[str, object]] = []
        notifications: list[dict[str, object]] = []
        # One span for the batch, linked to the trace of each event's request (when traced).
        with linked("publish outbox events", (event.trace_parent for event in events)):
            for event in events:
                position += 1
                rooms = await rooms_of(session, event, known)
                readers = await addressees(session, event) if event.kind in NOTIFIED else []
                published.append({
                    "event_id": event.id,
                    "position": position,
                    "published_at": now,
                    "rooms": sorted({*rooms, *(user_room(user_id) for user_id in readers)}),
                })  # fmt: skip
                notifications += [
                    {"user_id": user_id, "kind": NOTIFIED[event.kind], "event_position": position,
                     "aggregate_type": event.aggregate_type, "aggregate_id": event.aggregate_id,
                     "created_at": now}
                    for user_id in readers
                ]  # fmt: skip
            # The batch in two executemany statements, not two or three statements per event.
            if published:
                await session.execute(_PUBLISH, published)
            if notifications:
                await session.execute(_NOTIFY, notifications)
        return Published(position, len(events))


class Relay:
    """The background loop of one process; ``poke`` wakes it right after a commit."""

    def __init__(self, sessions: SessionFactory, redis: Redis) -> None:
        self._sessions = sessions
        self._redis = redis
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def poke(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    @property
    def running(self) -> bool:
        """Started and not ended (its loop survives every error; ending means it died)."""
        return self._task is not None and not self._task.done()

    async def stop(self) -> None:
        if self._task is not None:
            await stop_tasks([self._task])

    async def _run(self) -> None:
        while True:
            self._wake.clear()  # a poke during the batch (events it may miss) wakes the next
            try:
                published = await relay_once(self._sessions)
            except Exception:
                log.exception("outbox relay failed; retrying")
                published = None
                await asyncio.sleep(1)
            if published is not None:
                await self._announce(published.position)
                if 1 < published.count < _BATCH:  # events come in close together
                    await asyncio.sleep(_GATHER_SECONDS)  # let the next batch gather
                continue  # there may be more
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), _IDLE_SECONDS)

    async def _announce(self, position: int) -> None:
        try:
            await self._redis.publish(EVENTS_CHANNEL, json.dumps({"position": position}))
        except Exception as error:  # Redis down: hubs find the events by polling
            log.warning("could not announce outbox position %s: %s", position, error)
