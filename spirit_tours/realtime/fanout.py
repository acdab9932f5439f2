"""Live fan-out: each event is rendered once per group of subscribers who see it alike, and the
same bytes are written to every member of the group.

A live subscription, once started, is a :class:`LiveSubscription`: its room, its group key and
the socket it writes to — no task, no generator, no database work of its own. The hub hands
every delivery of a watched room to the fan-out; one task takes them in bursts, asks the
renderer (the GraphQL layer, ``schema.live_render``) for one payload per (delivery, group) of
the burst — one read of the rows feeds every group — and appends the frames, in order, to each
member's :class:`SocketWriter`.

The group key is built above from the document, its variables and the viewer's privacy identity
(``permissions.live.shared_viewer``); two subscribers share a rendering only when all three are
equal. Ordering per room is the hub's (commit order); a stored event is never sent twice to a
subscriber, nor before the events it replays when resuming.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

from prometheus_client import Counter, Gauge, Histogram

from spirit_tours.core.clock import now_utc
from spirit_tours.core.errors import ErrorCode
from spirit_tours.core.metrics import LIVESUM, PROCESS
from spirit_tours.realtime.hub import Delivery, EventHub, Signal, StoredEvent
from spirit_tours.realtime.tasks import stop_tasks

log = logging.getLogger(__name__)

#: Frames a connection may fall behind before its live subscriptions end with CONFLICT (the
#: client resumes from its last cursor); it bounds the memory one slow reader can hold.
WRITE_QUEUE_LIMIT = 1000
#: Deliveries rendered together: their rows are read in one batch per kind.
BURST = 256
#: Deliveries waiting for the fan-out; beyond, the process is too far behind: the rooms
#: concerned end their subscriptions with CONFLICT (the clients resume from their cursors).
MAX_PENDING = 50_000
#: The ``error`` payload of a subscription that fell behind.
FELL_BEHIND = json.dumps(
    [{"message": "The subscriber fell behind; resume from your last cursor.",
      "extensions": {"code": ErrorCode.CONFLICT.value}}],
    separators=(",", ":"),
)  # fmt: skip

DELIVERIES = Counter(
    "spirit_live_deliveries", "Live events written to subscribers' sockets, by kind (stored "
    "events, ephemeral signals)", ["delivery"], registry=PROCESS,
)  # fmt: skip
EXECUTIONS = Counter(
    "spirit_live_scope_executions", "Live events rendered: one GraphQL execution per event and "
    "group of subscribers sharing a scope, by kind", ["delivery"], registry=PROCESS,
)  # fmt: skip
LAG = Histogram(
    "spirit_live_delivery_lag_seconds", "From an event's commit to its frames being written",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10), registry=PROCESS,
)  # fmt: skip
SUBSCRIPTIONS = Gauge(
    "spirit_live_subscriptions", "Live subscriptions held, by kind of room",
    ["room_kind"], registry=PROCESS, multiprocess_mode=LIVESUM,
)  # fmt: skip
SOCKETS = Gauge(
    "spirit_live_websockets", "WebSocket connections open", registry=PROCESS,
    multiprocess_mode=LIVESUM,
)  # fmt: skip
GROUPS = Gauge(
    "spirit_live_scope_groups", "Groups of subscribers sharing one rendering", registry=PROCESS,
    multiprocess_mode=LIVESUM,
)  # fmt: skip


def room_kind(room: str) -> str:
    """A bounded label: ``quotation`` for ``quotation:<id>``."""
    return room.split(":", 1)[0]


class SocketWriter:
    """Writes one WebSocket's frames in order without holding up the fan-out.

    A frame is sent at once when the socket takes it without waiting, which is the rule: no
    task per frame or per connection. Only when a send has to wait for the socket to drain does
    a task take over the rest of that send and the frames queued behind it. A reader is behind
    when ``limit`` frames wait meanwhile: the queue is then emptied but for the frames that end
    an operation, and ``on_overflow`` ends the live ones (they resume from their cursors)."""

    __slots__ = ("_frames", "_limit", "_send", "_sending", "_task", "closed", "on_overflow")

    def __init__(self, send: Callable[[str], Awaitable[None]], limit: int = WRITE_QUEUE_LIMIT):
        self._send = send
        self._limit = limit
        self._frames: deque[tuple[str, bool]] = deque()  # (frame, ends its operation)
        self._task: asyncio.Task[None] | None = None
        self._sending = False  # a send is waiting for the socket to drain
        self.closed = False
        #: Called when the reader fell ``limit`` frames behind (after the queue was emptied).
        self.on_overflow: Callable[[], None] | None = None

    def write(self, frame: str, *, final: bool = False) -> bool:
        """Send or queue ``frame``; ``final`` frames (an operation's error) survive an
        overflow. False when it was dropped."""
        if self.closed:
            return False
        if self._task is None:
            self._send_now(frame)
            return True
        if self._sending and len(self._frames) >= self._limit:
            self._frames = deque(item for item in self._frames if item[1])
            if self.on_overflow is not None:
                self.on_overflow()
            if not final:
                return False
        self._frames.append((frame, final))
        return True

    def _send_now(self, frame: str) -> None:
        """Run the send up to its first wait; if it has to wait, a task finishes it."""
        sending = cast(Coroutine[Any, Any, None], self._send(frame))
        try:
            waiting_on = sending.send(None)
        except StopIteration:
            return
        except Exception:  # the socket is gone; its handler ends the subscriptions
            self.closed = True
            return
        self._sending = True
        self._task = asyncio.get_running_loop().create_task(self._finish(sending, waiting_on))

    async def _finish(self, sending: Coroutine[Any, Any, None], waiting_on: Any) -> None:
        try:
            await _resume(sending, waiting_on)
            while self._frames:
                frame, _ = self._frames.popleft()
                self._sending = True
                await self._send(frame)
                self._sending = False
        except Exception:  # the socket is gone; its handler ends the subscriptions
            self.closed = True
            self._frames.clear()
        finally:
            self._sending = False
            self._task = None


async def _resume(coroutine: Coroutine[Any, Any, None], waiting_on: Any) -> None:
    """Drive ``coroutine``, suspended outside any task on ``waiting_on`` (what it yielded: a
    future, or None for a bare yield), to its end, as the task running it would have."""
    while True:
        try:
            if waiting_on is None:
                await asyncio.sleep(0)
            else:
                # What a task does with a yielded future: clear its flag, then wait for it.
                waiting_on._asyncio_future_blocking = False
                await waiting_on
        except BaseException as error:  # its wait failed or we are cancelled: tell it
            try:
                waiting_on = coroutine.throw(error)
            except StopIteration:
                return
            continue
        try:
            waiting_on = coroutine.send(None)
        except StopIteration:
            return


@dataclass(eq=False, slots=True)
class LiveSubscription:
    writer: SocketWriter
    operation_id: str
    room: str
    # What the renderer needs, and the group key: subscribers with equal queries share one
    # rendering (hashable; built above from the document, variables and privacy identity).
    query: Hashable
    user_id: str  # a subscriber never receives its own signals (typing, presence)
    since: int  # stored events up to this position are not for it
    on_end: Callable[[], Coroutine[Any, Any, None]] | None = None
    live: bool = False  # False while its replay is pending: deliveries wait in ``waiting``
    waiting: list[Delivery] = field(default_factory=list)
    ended: bool = False

    prefix: str = ""  # '{"id":"<operation id>","type":"next","payload":', made once

    def __post_init__(self) -> None:
        self.prefix = '{"id":' + json.dumps(self.operation_id) + ',"type":"next","payload":'

    def error_frame(self, payload: str = FELL_BEHIND) -> str:
        return (
            '{"id":' + json.dumps(self.operation_id) + ',"type":"error","payload":' + payload + "}"
        )


@dataclass(eq=False)
class _Group:
    query: Hashable
    members: set[LiveSubscription] = field(default_factory=set)


@dataclass(frozen=True)
class Rendered:
    payload: str  # the ``next`` payload's JSON, the same bytes for every member


@dataclass(frozen=True)
class Closed:
    errors: str  # the ``error`` payload's JSON: the room closed for this group (NOT_FOUND), or
    # its event could not be rendered (the subscriptions end; the clients resume by replay)


Outcome = Rendered | Closed | None  # None: nothing for this group


class Renderer(Protocol):
    async def render(self, items: Sequence[tuple[Delivery, int, Any]]) -> list[Outcome]:
        """One outcome per (delivery, resume position, group query), in order."""


class _RoomFeed:
    """The fan-out's listener in one hub room."""

    def __init__(self, fanout: Fanout, room: str) -> None:
        self.fanout = fanout
        self.room = room
        self.rooms = frozenset({room})
        self.groups: dict[Hashable, _Group] = {}
        self.size = 0

    def offer(self, delivery: Delivery) -> None:
        self.fanout.take(delivery, self)


@dataclass(frozen=True)
class _Catchup:
    missed: list[StoredEvent]


@dataclass(eq=False)
class _Work:
    delivery: Delivery
    position: int
    query: Any
    members: list[LiveSubscription]


class Fanout:
    def __init__(self, hub: EventHub, *, burst: int = BURST) -> None:
        self._hub = hub
        self._burst = burst
        self._feeds: dict[str, _RoomFeed] = {}
        # (delivery, target, the hub's position when it came: a signal's resume cursor)
        self._queue: deque[tuple[Delivery | _Catchup, _RoomFeed | LiveSubscription, int]] = deque()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._ending: set[asyncio.Task[None]] = set()
        self.renderer: Renderer | None = None

    @property
    def hub_position(self) -> int:
        """The last position the hub dispatched: whatever comes later reaches new members."""
        return self._hub.position

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="live-fanout")

    async def stop(self) -> None:
        if self._task is not None:
            await stop_tasks([self._task])

    # -- membership -------------------------------------------------------------------------

    def add(self, subscription: LiveSubscription) -> None:
        """Start routing the room's deliveries to ``subscription`` (held in ``waiting`` until
        :meth:`go_live`)."""
        feed = self._feeds.get(subscription.room)
        if feed is None:
            feed = self._feeds[subscription.room] = _RoomFeed(self, subscription.room)
            self._hub.attach(feed)
        group = feed.groups.get(subscription.query)
        if group is None:
            group = feed.groups[subscription.query] = _Group(subscription.query)
            GROUPS.inc()
        else:  # the group's copies (document text, variables): one per group, not per member
            subscription.query = group.query
        group.members.add(subscription)
        feed.size += 1
        SUBSCRIPTIONS.labels(room_kind(subscription.room)).inc()

    def go_live(self, subscription: LiveSubscription, missed: list[StoredEvent]) -> None:
        """Send the replayed events, then what arrived meanwhile, then live ones, in order."""
        self._queue.append((_Catchup(missed), subscription, 0))
        self._wake.set()

    def remove(self, subscription: LiveSubscription) -> None:
        if subscription.ended:
            return
        subscription.ended = True
        feed = self._feeds.get(subscription.room)
        group = feed.groups.get(subscription.query) if feed else None
        if feed is None or group is None or subscription not in group.members:
            return
        group.members.discard(subscription)
        feed.size -= 1
        SUBSCRIPTIONS.labels(room_kind(subscription.room)).dec()
        if not group.members:
            del feed.groups[subscription.query]
            GROUPS.dec()
        if not feed.groups:
            del self._feeds[subscription.room]
            self._hub.detach(feed)

    def end(self, subscription: LiveSubscription, frame: str | None) -> None:
        """End ``subscription`` from here (room closed, reader too slow): its last frame, then
        its owner's clean-up."""
        if subscription.ended:
            return
        self.remove(subscription)
        if frame is not None:
            subscription.writer.write(frame, final=True)
        if subscription.on_end is not None:
            task = asyncio.get_running_loop().create_task(subscription.on_end())
            self._ending.add(task)
            task.add_done_callback(self._ending.discard)

    # -- delivery ---------------------------------------------------------------------------

    def take(self, delivery: Delivery, feed: _RoomFeed) -> None:
        if len(self._queue) >= MAX_PENDING:
            self._fell_behind()
        # Everything the hub dispatched before is queued before: a signal's cursor.
        self._queue.append((delivery, feed, self._hub.position))
        self._wake.set()

    def _fell_behind(self) -> None:
        """Too much waiting: drop it, and end every subscription that would have received
        some of it; they resume from their cursors (replay reads the outbox)."""
        dropped: set[LiveSubscription] = set()
        for _, target, _ in self._queue:
            if isinstance(target, LiveSubscription):
                dropped.add(target)
            else:
                dropped.update(m for group in target.groups.values() for m in group.members)
        self._queue.clear()
        log.warning("live fan-out %s deliveries behind: %s subscriptions end", MAX_PENDING,
                    len(dropped))  # fmt: skip
        for subscription in dropped:
            self.end(subscription, subscription.error_frame())

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                count = min(len(self._queue), self._burst)
                burst = [self._queue.popleft() for _ in range(count)]
                try:
                    await self._deliver(burst)
                except Exception:
                    log.exception("live fan-out failed for a burst of %s deliveries", count)

    def _plan(
        self, burst: list[tuple[Delivery | _Catchup, _RoomFeed | LiveSubscription, int]]
    ) -> list[_Work]:
        """What to render, in the order it must be sent."""
        work: list[_Work] = []
        for item, target, dispatched in burst:
            if isinstance(item, _Catchup):
                assert isinstance(target, LiveSubscription)
                work += self._catch_up(item.missed, target)
                continue
            assert isinstance(target, _RoomFeed)
            position = item.position if isinstance(item, StoredEvent) else dispatched
            for group in target.groups.values():
                members = [m for m in group.members if _accepts(m, item)]
                if members:
                    work.append(_Work(item, position, group.query, members))
        return work

    def _catch_up(self, missed: list[StoredEvent], subscription: LiveSubscription) -> list[_Work]:
        if subscription.ended:
            return []
        work: list[_Work] = []
        last = 0
        for event in missed:  # in order, from the replay
            last = event.position
            work.append(_Work(event, last, subscription.query, [subscription]))
        # Live deliveries that came meanwhile: the ones the replay did not already cover.
        last = max(last, subscription.since)
        for delivery in subscription.waiting:
            if isinstance(delivery, StoredEvent):
                if delivery.position <= last:
                    continue
                last = delivery.position
            elif _own_signal(subscription, delivery):
                continue
            work.append(_Work(delivery, last, subscription.query, [subscription]))
        subscription.waiting = []
        subscription.since = last
        subscription.live = True
        return work

    async def _deliver(
        self, burst: list[tuple[Delivery | _Catchup, _RoomFeed | LiveSubscription, int]]
    ) -> None:
        work = self._plan(burst)
        if not work:
            return
        assert self.renderer is not None, "the app installs the renderer at startup"
        outcomes = await self.renderer.render([(w.delivery, w.position, w.query) for w in work])
        for item, outcome in zip(work, outcomes, strict=True):
            kind = _kind(item.delivery)
            EXECUTIONS.labels(kind).inc()
            if outcome is None:
                continue
            if isinstance(outcome, Closed):
                for member in item.members:
                    self.end(member, member.error_frame(outcome.errors))
                continue
            sent = 0
            for member in item.members:
                if not member.ended and member.writer.write(member.prefix + outcome.payload + "}"):
                    sent += 1
            DELIVERIES.labels(kind).inc(sent)
            LAG.observe(max(0.0, (now_utc() - item.delivery.occurred_at).total_seconds()))

    async def drain(self) -> None:
        """Wait for the end-of-subscription clean-ups in flight (shutdown, tests)."""
        with contextlib.suppress(Exception):
            await asyncio.gather(*self._ending)


def _kind(delivery: Delivery) -> str:
    return "stored" if isinstance(delivery, StoredEvent) else "signal"


def _own_signal(subscription: LiveSubscription, delivery: Delivery) -> bool:
    return isinstance(delivery, Signal) and delivery.data.get("user_id") == subscription.user_id


def _accepts(subscription: LiveSubscription, delivery: Delivery) -> bool:
    if subscription.ended:
        return False
    if not subscription.live:
        subscription.waiting.append(delivery)
        return False
    if isinstance(delivery, StoredEvent):
        return delivery.position > subscription.since
    return not _own_signal(subscription, delivery)
