"""The benchmark's WebSocket clients: a client process holds its share of the connections, each
subscribed to ``quotationEvents`` of one room as one viewer, and accounts for every event.

A client process obeys the driver through a command queue:

- ``("phase", start)``: a phase begins (its events are those that occurred at ``start`` or
  later); answered ``("phase-ok", index)``;
- ``("collect", expected_by_room, stall_seconds)``: the phase's events are all sent; wait until
  every live subscriber has its room's count, or nothing arrived for ``stall_seconds``, then
  answer ``("report", index, PhaseReport)``;
- ``("close",)``: close the connections and end.

Each client counts an event by its ``cursor`` (an event's identity): a cursor seen again is a
duplicate, a count short of the room's is a loss. It measures receive time minus the event's
``occurredAt`` (one machine, one clock), and notes the shape of each payload by viewer kind and
competitor mode, so that a payload computed for another scope shows up as a second shape.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from multiprocessing.queues import Queue
from typing import Any

import uvloop
import websockets
from websockets.asyncio.client import ClientConnection, connect

from benchmarks.live_processes import raise_open_files

PROTOCOL = websockets.Subprotocol("graphql-transport-ws")
# Scope-dependent fields: notes for all, the offer count and rank by competitor mode, the
# offers (aliases, net prices) by relation and mode.
SUBSCRIPTION = (
    "subscription($q: ID!) { quotationEvents(quotationId: $q) { __typename "
    "... on QuotationChanged { cursor occurredAt kind quotation { id notes offerCount myRank "
    "offers { hotelAlias netPrice { amount currency } } } } } }"
)
CONNECTING = 32  # handshakes in flight per client process
OPEN_TIMEOUT = 180.0


@dataclass(frozen=True)
class ClientSpec:
    room: str
    token: str
    kind: str  # "admin", "owner", "hotel:…"
    mode: str  # the room's competitor mode


Shape = tuple[int, int, bool, bool]  # offers, offers with a price, myRank set, offerCount set


def shape_of(quotation: dict[str, Any]) -> Shape:
    offers = quotation.get("offers") or []
    priced = sum(1 for offer in offers if offer.get("netPrice") is not None)
    return (len(offers), priced, quotation.get("myRank") is not None,
            quotation.get("offerCount") is not None)  # fmt: skip


def shape_group(kind: str, mode: str) -> str:
    """Viewers who must all see the same fields: a hotel by its mode, the others in any."""
    return f"hotel/{mode}" if kind.startswith("hotel:") else kind


@dataclass
class Subscriber:
    spec: ClientSpec
    seen: set[str] = field(default_factory=set)
    phase_start: float = float("inf")
    expected: int = 0
    received: int = 0
    duplicates: int = 0
    other: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    shapes: set[Shape] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)
    closed: bool = False
    retries: int = 0  # starts refused with SERVICE_UNAVAILABLE, subscribed again as told
    retry_after: float | None = None

    def start_phase(self, start: float) -> None:
        self.phase_start, self.expected, self.received, self.duplicates = start, 0, 0, 0
        self.other, self.latencies_ms = 0, []

    def record(self, raw: str | bytes, received_at: float) -> str:
        """Account for one message: "ping", "event" (of this phase), or "other"."""
        message = json.loads(raw)
        kind = message.get("type")
        if kind == "ping":
            return "ping"
        if kind == "complete" and self.retry_after is not None:
            return "retry"  # the refused start's end: subscribe again after retryAfterSeconds
        if kind != "next":  # error or complete: nothing more will come
            self.problems.append(json.dumps(message)[:300])
            self.closed = True
            return "other"
        payload = message["payload"]
        event = (payload.get("data") or {}).get("quotationEvents") or {}
        if payload.get("errors"):
            extensions = payload["errors"][0].get("extensions") or {}
            if extensions.get("code") == "SERVICE_UNAVAILABLE":  # as a client should
                self.retries += 1
                self.retry_after = float(extensions.get("retryAfterSeconds", 1))
                return "other"
            self.problems.append(json.dumps(payload)[:300])
            return "other"
        if event.get("__typename") != "QuotationChanged":
            self.other += 1  # presence of the other viewers joining
            return "other"
        occurred = datetime.fromisoformat(event["occurredAt"]).timestamp()
        if occurred < self.phase_start:
            return "other"  # the warm-up's, or a late one of the previous phase
        if event["cursor"] in self.seen:
            self.duplicates += 1
            return "event"
        self.seen.add(event["cursor"])
        self.received += 1
        self.latencies_ms.append((received_at - occurred) * 1000)
        self.shapes.add(shape_of(event["quotation"]))
        return "event"


@dataclass
class PhaseReport:
    connected: int
    alive: int
    expected: int
    received: int
    duplicates: int
    other: int
    latencies_ms: list[float]
    problems: dict[str, int]  # the most frequent, with how many subscribers had each
    retries: int  # subscription starts refused (SERVICE_UNAVAILABLE) and made again
    last_at: float
    by_kind: dict[str, list[int]]  # kind → [expected, received, duplicates]
    shapes: dict[str, set[Shape]]


class Clients:
    """One process's connections."""

    def __init__(self, url: str, specs: list[ClientSpec], connecting: int = CONNECTING) -> None:
        self.url = url
        self.connecting = connecting
        self.subscribers = [Subscriber(spec) for spec in specs]
        self.sockets: list[ClientConnection | None] = []
        self.readers: list[asyncio.Task[None]] = []
        self.retrying: set[asyncio.Task[None]] = set()
        self.last_at = 0.0

    async def open(self) -> int:
        gate = asyncio.Semaphore(self.connecting)
        self.sockets = list(await asyncio.gather(*(self._open(s, gate) for s in self.subscribers)))
        self.readers = [
            asyncio.create_task(self._read(ws, s))
            for ws, s in zip(self.sockets, self.subscribers, strict=True)
            if ws is not None
        ]
        return len(self.readers)

    async def _open(
        self, subscriber: Subscriber, gate: asyncio.Semaphore
    ) -> ClientConnection | None:
        spec = subscriber.spec
        try:
            async with gate:
                # As a browser: permessage-deflate offered, no client-side pings.
                ws = await connect(self.url, subprotocols=[PROTOCOL], open_timeout=OPEN_TIMEOUT,
                                   close_timeout=5, ping_interval=None)  # fmt: skip
                init = {"type": "connection_init", "payload": {"token": spec.token}}
                await ws.send(json.dumps(init))
                ack = json.loads(await asyncio.wait_for(ws.recv(), OPEN_TIMEOUT))
                if ack.get("type") != "connection_ack":
                    raise RuntimeError(f"no connection_ack: {ack}")
                await self._subscribe(ws, subscriber)
                return ws
        except Exception as error:
            subscriber.problems.append(f"connect: {error!r}"[:300])
            subscriber.closed = True
            return None

    async def _subscribe(
        self, ws: ClientConnection, subscriber: Subscriber, delay: float = 0.0
    ) -> None:
        await asyncio.sleep(delay)
        payload = {"query": SUBSCRIPTION, "variables": {"q": subscriber.spec.room}}
        operation = str(subscriber.retries + 1)  # a fresh id per attempt
        await ws.send(json.dumps({"id": operation, "type": "subscribe", "payload": payload}))

    async def _read(self, ws: ClientConnection, subscriber: Subscriber) -> None:
        try:
            async for raw in ws:
                now = time.time()
                what = subscriber.record(raw, now)
                if what == "ping":
                    await ws.send('{"type":"pong"}')
                elif what == "retry":
                    delay, subscriber.retry_after = subscriber.retry_after or 1.0, None
                    retry = asyncio.create_task(self._subscribe(ws, subscriber, delay))
                    self.retrying.add(retry)
                    retry.add_done_callback(self.retrying.discard)
                elif what == "event":
                    self.last_at = now
        except websockets.ConnectionClosed as error:
            subscriber.problems.append(f"closed: {error!r}"[:300])
        finally:
            subscriber.closed = True

    def start_phase(self, start: float) -> None:
        for subscriber in self.subscribers:
            subscriber.start_phase(start)

    async def collect(self, expected_by_room: dict[str, int], stall_seconds: float) -> PhaseReport:
        for subscriber in self.subscribers:
            subscriber.expected = expected_by_room.get(subscriber.spec.room, 0)
        started = time.time()
        while any(not s.closed and s.received < s.expected for s in self.subscribers):
            if time.time() - max(self.last_at, started) > stall_seconds:
                break
            await asyncio.sleep(0.2)
        return self._report()

    def _report(self) -> PhaseReport:
        by_kind: dict[str, list[int]] = {}
        shapes: dict[str, set[Shape]] = {}
        problems: Counter[str] = Counter()
        for s in self.subscribers:
            counts = by_kind.setdefault(s.spec.kind, [0, 0, 0])
            counts[0] += s.expected
            counts[1] += s.received
            counts[2] += s.duplicates
            shapes.setdefault(shape_group(s.spec.kind, s.spec.mode), set()).update(s.shapes)
            problems.update(s.problems)
        return PhaseReport(
            connected=len(self.readers),
            alive=sum(1 for s in self.subscribers if not s.closed),
            expected=sum(s.expected for s in self.subscribers),
            received=sum(s.received for s in self.subscribers),
            duplicates=sum(s.duplicates for s in self.subscribers),
            other=sum(s.other for s in self.subscribers),
            latencies_ms=[latency for s in self.subscribers for latency in s.latencies_ms],
            problems=dict(problems.most_common(10)),
            retries=sum(s.retries for s in self.subscribers),
            last_at=self.last_at,
            by_kind=by_kind,
            shapes=shapes,
        )

    async def close(self) -> None:
        for reader in self.readers:
            reader.cancel()
        await asyncio.gather(
            *(ws.close() for ws in self.sockets if ws is not None), return_exceptions=True
        )


async def _serve_driver(
    url: str, specs: list[ClientSpec], index: int, commands: Queue[Any], replies: Queue[Any],
    connecting: int,
) -> None:  # fmt: skip
    clients = Clients(url, specs, connecting)
    connected = await clients.open()
    replies.put(("ready", index, connected, list(clients._report().problems)))
    while True:
        command = await asyncio.to_thread(commands.get)
        if command[0] == "phase":
            clients.start_phase(command[1])
            replies.put(("phase-ok", index))
        elif command[0] == "collect":
            replies.put(("report", index, await clients.collect(command[1], command[2])))
        else:
            await clients.close()
            replies.put(("closed", index))
            return


def client_process(
    url: str, specs: list[ClientSpec], index: int, commands: Queue[Any], replies: Queue[Any],
    connecting: int = CONNECTING,
) -> None:  # fmt: skip
    raise_open_files()
    with contextlib.suppress(KeyboardInterrupt):
        uvloop.run(_serve_driver(url, specs, index, commands, replies, connecting))
