"""The per-process hub: one supervised broadcaster connection to Redis, events read back from
PostgreSQL in position order, fanned out to this process's subscriptions by room.

Redis only carries "new positions exist" and ephemeral signals (typing, presence); the events
themselves are read from the outbox, so a subscriber never sees one out of order or twice, and
nothing is lost while Redis is away: a slow poll keeps reading the outbox, and the supervisor
reconnects broadcaster (whose listener dies silently when Redis drops) with a backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from broadcaster import Broadcast
from broadcaster._backends.redis import RedisBackend
from prometheus_client import Counter
from sqlalchemy import func, select

from spirit_tours.core.clock import now_utc
from spirit_tours.core.errors import DomainError, ErrorCode, bad_input
from spirit_tours.core.metrics import PROCESS
from spirit_tours.persistence.database import SessionFactory
from spirit_tours.persistence.events import OutboxEvent
from spirit_tours.realtime.relay import EVENTS_CHANNEL
from spirit_tours.realtime.tasks import stop_tasks

log = logging.getLogger(__name__)

EPHEMERAL_CHANNEL = "spirit:ephemeral"
REPLAY_WINDOW = timedelta(seconds=60)
_POLL_SECONDS = 1.0
_HEARTBEAT_SECONDS = 5.0
RECONNECTS = Counter(
    "spirit_live_hub_reconnects", "Times the hub lost its Redis subscription and rebuilt it",
    registry=PROCESS,
)  # fmt: skip
_QUEUE_LIMIT = 1000


@dataclass(frozen=True)
class StoredEvent:
    """A published outbox event as subscribers receive it."""

    position: int
    kind: str
    aggregate_type: str
    aggregate_id: uuid.UUID
    payload: dict[str, Any]
    occurred_at: datetime
    rooms: tuple[str, ...]

    @classmethod
    def from_row(cls, row: OutboxEvent) -> StoredEvent:
        assert row.position is not None
        return cls(row.position, row.kind, row.aggregate_type, row.aggregate_id,
                   dict(row.payload), row.occurred_at, tuple(row.rooms))  # fmt: skip


@dataclass(frozen=True)
class Signal:
    """An ephemeral event (typing, presence): live only, never stored or replayed."""

    room: str
    kind: str
    data: dict[str, Any]
    occurred_at: datetime


Delivery = StoredEvent | Signal


@dataclass(eq=False)
class Listener:
    rooms: frozenset[str]
    queue: asyncio.Queue[Delivery | None] = field(
        default_factory=lambda: asyncio.Queue(maxsize=_QUEUE_LIMIT)
    )
    overflowed: bool = False

    def offer(self, delivery: Delivery) -> None:
        try:
            self.queue.put_nowait(delivery)
        except asyncio.QueueFull:
            # A subscriber this far behind is dropped; it resumes from its last cursor.
            self.overflowed = True
            with contextlib.suppress(asyncio.QueueEmpty):
                self.queue.get_nowait()
            self.queue.put_nowait(None)

    async def next(self) -> Delivery:
        delivery = await self.queue.get()
        if delivery is None or self.overflowed:
            raise DomainError(
                ErrorCode.CONFLICT, "The subscriber fell behind; resume from your last cursor."
            )
        return delivery


class RoomListener(Protocol):
    """Anything the hub can route deliveries to: a subscriber's queue, the fan-out's feeds."""

    @property
    def rooms(self) -> frozenset[str]: ...

    def offer(self, delivery: Delivery) -> None: ...


MAX_REPLAY = 1000


def _expired() -> DomainError:
    return DomainError(
        ErrorCode.CURSOR_EXPIRED,
        "The cursor is too old to resume from; refetch, then subscribe again.",
        field="after",
    )


def encode_cursor(position: int) -> str:
    return f"p{position}"


MAX_POSITION = 2**63 - 1
"""The largest outbox position (a PostgreSQL ``bigint``)."""


def decode_cursor(cursor: str) -> int:
    """The outbox position ``encode_cursor`` wrote: ASCII digits that fit a ``bigint``
    (anything longer would reach the database as a value it cannot hold)."""
    digits = cursor[1:]
    if (
        not cursor.startswith("p")
        or not (digits.isascii() and digits.isdigit())
        or len(digits) > len(str(MAX_POSITION))
        or int(digits) > MAX_POSITION
    ):
        raise bad_input("after", "The cursor is not one this API gave out.")
    return int(digits)


class EventHub:
    def __init__(
        self, sessions: SessionFactory, redis_url: str, *, publish_timeout: float = 5.0
    ) -> None:
        self._sessions = sessions
        self._redis_url = redis_url
        self._publish_timeout = publish_timeout  # a stalled Redis must not hold a signal up
        self._rooms: dict[str, set[RoomListener]] = {}
        self._last = 0
        self._tasks: list[asyncio.Task[None]] = []
        self._broadcast: Broadcast | None = None
        self._catching_up = asyncio.Lock()
        self._stopping = False
        self.connected = asyncio.Event()

    async def start(self) -> None:
        async with self._sessions() as session:
            last = await session.scalar(select(func.max(OutboxEvent.position)))
        self._last = int(last or 0)
        self._tasks = [
            asyncio.create_task(self._supervise(), name="hub-broadcaster"),
            asyncio.create_task(self._poll(), name="hub-poll"),
        ]

    async def stop(self) -> None:
        self._stopping = True
        await stop_tasks(self._tasks)

    def attach(self, listener: RoomListener) -> None:
        """Route the deliveries of ``listener.rooms`` to ``listener.offer``."""
        for room in listener.rooms:
            self._rooms.setdefault(room, set()).add(listener)

    def detach(self, listener: RoomListener) -> None:
        for room in listener.rooms:
            members = self._rooms.get(room)
            if members is not None:
                members.discard(listener)
                if not members:
                    del self._rooms[room]

    @contextlib.asynccontextmanager
    async def listen(self, rooms: Iterable[str]) -> AsyncIterator[Listener]:
        listener = Listener(frozenset(rooms))
        self.attach(listener)
        try:
            yield listener
        finally:
            self.detach(listener)

    def subscribers(self, room: str) -> int:
        """How many subscriptions of this process listen in ``room``."""
        return sum(getattr(listener, "size", 1) for listener in self._rooms.get(room, ()))

    @property
    def position(self) -> int:
        """The last position this process has dispatched."""
        return self._last

    async def replay(self, room: str, after: int) -> list[StoredEvent]:
        """The room's events after ``after``, if the client can resume from there: the
        cursor is one we gave out and the first event it missed is at most 60 s old."""
        room_events = (OutboxEvent.position > after, OutboxEvent.rooms.contains([room]))
        async with self._sessions() as session:
            known = await session.scalar(
                select(OutboxEvent.position).where(OutboxEvent.position == after)
            )
            if known is None:
                raise bad_input("after", "The cursor is not one this API gave out.")
            first_missed = await session.scalar(
                select(func.min(OutboxEvent.published_at)).where(*room_events)
            )
            if first_missed is not None and first_missed < now_utc() - REPLAY_WINDOW:
                raise _expired()
            rows = list(
                await session.scalars(
                    select(OutboxEvent)
                    .where(*room_events)
                    .order_by(OutboxEvent.position)
                    .limit(MAX_REPLAY + 1)
                )
            )
        if len(rows) > MAX_REPLAY:
            raise _expired()
        return [StoredEvent.from_row(row) for row in rows]

    async def publish_signal(self, room: str, kind: str, data: dict[str, Any]) -> None:
        """Send an ephemeral signal to every process; lost (harmlessly) if Redis is down."""
        message = json.dumps({"room": room, "kind": kind, "data": data})
        broadcast = self._broadcast
        try:
            if broadcast is None:
                raise ConnectionError("not connected")
            async with asyncio.timeout(self._publish_timeout):
                await broadcast.publish(EPHEMERAL_CHANNEL, message)
        except Exception as error:
            log.info("signal %s not sent: %s", kind, error)
            self._deliver_signal(message)  # at least this process's subscribers get it

    def _dispatch(self, delivery: Delivery, rooms: Iterable[str]) -> None:
        targets: set[RoomListener] = set()
        for room in rooms:
            targets |= self._rooms.get(room, set())
        for listener in targets:
            listener.offer(delivery)

    async def catch_up(self) -> None:
        """Deliver every event published after the last one this process saw, in order. With
        nobody listening in this process, only the position moves on: reading and decoding
        every event in every process (API-only ones too) was wasted work under load."""
        async with self._catching_up:
            if not self._rooms:
                async with self._sessions() as session:
                    top = await session.scalar(select(func.max(OutboxEvent.position)))
                if not self._rooms:  # still nobody: no await since the check, none can join
                    self._last = max(self._last, int(top or 0))
                    return
                # A subscription started meanwhile, from the position before the read: it gets
                # every event after that one, read below.
            while True:
                async with self._sessions() as session:
                    rows = list(
                        await session.scalars(
                            select(OutboxEvent)
                            .where(OutboxEvent.position > self._last)
                            .order_by(OutboxEvent.position)
                            .limit(500)
                        )
                    )
                for row in rows:
                    event = StoredEvent.from_row(row)
                    self._last = event.position
                    self._dispatch(event, event.rooms)
                if len(rows) < 500:
                    return

    def _deliver_signal(self, message: str) -> None:
        data = json.loads(message)
        signal = Signal(data["room"], data["kind"], data["data"], now_utc())
        self._dispatch(signal, [signal.room])

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(_POLL_SECONDS)
            try:
                await self._rewind_if_truncated()
                await self.catch_up()
            except Exception as error:
                log.warning("hub poll failed: %s", error)

    async def _rewind_if_truncated(self) -> None:
        """Positions only grow, unless the outbox was emptied (a restored database, the test
        suite): then start again from what is there."""
        async with self._sessions() as session:
            last = int(await session.scalar(select(func.max(OutboxEvent.position))) or 0)
        if last < self._last:
            async with self._catching_up:
                self._last = last

    async def _supervise(self) -> None:
        """Keep a live broadcaster subscription; rebuild it whenever it goes quiet or fails."""
        backoff = 0.2
        while not self._stopping:
            backend = RedisBackend(self._redis_url)
            broadcast = Broadcast(backend=backend)
            try:
                await broadcast.connect()
                backoff = 0.2
                await self._listen(broadcast)
            except Exception as error:
                log.warning("broadcaster connection lost: %s", error)
                RECONNECTS.inc()
            finally:
                self._broadcast = None
                self.connected.clear()
                await _close(broadcast, backend)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 5.0)

    async def _listen(self, broadcast: Broadcast) -> None:
        async with (
            broadcast.subscribe(EVENTS_CHANNEL) as events,
            broadcast.subscribe(EPHEMERAL_CHANNEL) as signals,
        ):
            self._broadcast = broadcast
            self.connected.set()
            await self.catch_up()  # whatever was published while we were away
            pending: dict[str, asyncio.Future[Any]] = {}
            try:
                while True:
                    for name, subscriber in (("events", events), ("signals", signals)):
                        if name not in pending:
                            pending[name] = asyncio.ensure_future(subscriber.get())
                    done, _ = await asyncio.wait(
                        pending.values(),
                        timeout=_HEARTBEAT_SECONDS,
                        return_when=asyncio.FIRST_COMPLETED,
                    )
                    if not done:
                        await self._probe(broadcast, pending["signals"])
                        continue
                    for name in [n for n, task in pending.items() if task in done]:
                        received = pending.pop(name).result()
                        if name == "events":
                            await self.catch_up()
                        else:
                            self._deliver_signal(received.message)
            finally:
                for task in pending.values():
                    task.cancel()

    async def _probe(self, broadcast: Broadcast, signals: asyncio.Future[Any]) -> None:
        """Quiet for a while: prove the subscription still works with a round trip of our
        own; a TimeoutError here makes the supervisor rebuild the connection."""
        ping = json.dumps({"room": "", "kind": "ping", "data": {}})
        async with asyncio.timeout(_HEARTBEAT_SECONDS):
            await broadcast.publish(EPHEMERAL_CHANNEL, ping)
            await asyncio.shield(signals)


async def _close(broadcast: Broadcast, backend: RedisBackend) -> None:
    """Tear a broadcaster connection down completely, even one that never connected (its
    own ``disconnect`` then skips the backend and leaks the backend's listener task)."""
    listener = getattr(broadcast, "_listener_task", None)
    if listener is not None:
        listener.cancel()
    with contextlib.suppress(Exception):
        await asyncio.wait_for(backend.disconnect(), 5)
