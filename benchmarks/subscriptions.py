"""Subscription benchmark: live-event delivery to many WebSocket subscribers, beside a baseline.

The API (``spirit-tours serve``'s uvicorn configuration: uvloop, httptools, websockets-sansio;
``--workers N`` processes) serves a scratch database. Client processes (about 2,500
connections each) open ``clients`` graphql-transport-ws connections, each subscribed to
``quotationEvents`` of one of ``rooms`` quotations as one of the room's viewers: operator staff
(ADMIN), the owner agency's users, the invited hotels' users; the rooms' competitor modes are
HIDDEN, RANK_ONLY and OPEN in turn (``benchmarks.live_seed``), and the subscription selects
fields that depend on that scope (``benchmarks.live_clients.SUBSCRIPTION``). The driver changes
the quotations' notes through ``updateQuotation``; every subscriber of the room receives each
such event, so the expected counts are exact. Each change travels commit → relay → Redis → hub
→ resolution → WebSocket, and each client measures, per event, its arrival time minus the
event's ``occurredAt`` (one machine, one clock).

Two phases per case:

- **burst**: ``events`` changes from ``SENDERS`` concurrent HTTP requests, as fast as the
  server takes them: throughput (deliveries/s, CPU per delivery). Latency here is queueing.
- **paced**: changes at the rate that makes ``rate`` deliveries/s (rate ÷ subscribers per
  room events/s) for ``paced_seconds``: latency at that load.

The baseline is the same clients against a plain Starlette fan-out (``benchmarks.live_servers``)
in the same run. Memory per connection is the servers' RSS growth (all processes) from before
the clients connected to once they are subscribed and the server is quiet, divided by the
connections; CPU is the server processes' CPU time during a phase, divided by its deliveries.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import multiprocessing
import os
import statistics
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from multiprocessing.context import SpawnContext
from multiprocessing.process import BaseProcess
from multiprocessing.queues import Queue
from queue import Empty
from typing import Any

import httpx
import uvloop
from redis.asyncio import Redis
from sqlalchemy import func, select

from benchmarks.keys import KEYRING
from benchmarks.live_clients import (
    CONNECTING,
    PROTOCOL,
    SUBSCRIPTION,
    ClientSpec,
    PhaseReport,
    Shape,
    Subscriber,
    client_process,
)
from benchmarks.live_processes import (
    cpu_seconds,
    free_port,
    open_files_limit,
    process_tree,
    raise_open_files,
    rss_kib,
    stop,
    wait_quiet,
    wait_ready,
)
from benchmarks.live_seed import Room, ViewerKind, prepare_database, viewer_kinds
from benchmarks.live_servers import api_environment, serve_api, serve_baseline
from spirit_tours.config import Settings
from spirit_tours.dev import servers as devservers
from spirit_tours.dev.demo import DEMO_PASSWORD
from spirit_tours.persistence.database import create_engine
from spirit_tours.persistence.events import OutboxEvent
from spirit_tours.realtime.rooms import quotation_room

PRESENCE_PREFIX = "presence:"  # spirit_tours.realtime.presence keeps one sorted set per room
UPDATE = (
    "mutation($input: UpdateQuotationInput!) "
    "{ updateQuotation(input: $input) { quotation { id } } }"
)
CONNECTIONS_PER_PROCESS = 2500
SENDERS = 4  # concurrent HTTP requests generating the burst
STALL_SECONDS = 30.0  # a phase ends when nothing arrived for this long
WARM_UP_EVENTS = 5


# --- driving a server -----------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """A running server and how to drive it."""

    name: str
    port: int
    pid: int
    warm_up_token: str
    publish: Callable[[httpx.AsyncClient, str, str], Coroutine[Any, Any, None]]  # http, room, notes
    subscribed: Callable[[], Awaitable[int]]

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/graphql"

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


async def wait_subscribed(target: Target, count: int, seconds: float = 300) -> int:
    """Until ``count`` subscriptions have started, or none more did for 60 s (the rest were
    refused), or ``seconds`` passed."""
    deadline = time.monotonic() + seconds
    current, changed = -1, time.monotonic()
    while time.monotonic() < deadline and time.monotonic() - changed < 60:
        if (now := await target.subscribed()) >= count:
            return now
        if now != current:
            current, changed = now, time.monotonic()
        await asyncio.sleep(0.25)
    return await target.subscribed()


async def warm_up(target: Target, room: str) -> float:
    """One subscriber, a few events one at a time, end to end: fail fast, load what the first
    event loads before memory is measured, and return the median latency of an idle server."""
    from websockets.asyncio.client import connect

    subscriber = Subscriber(ClientSpec(room, target.warm_up_token, "admin", "?"))
    subscriber.start_phase(0.0)
    async with connect(target.ws_url, subprotocols=[PROTOCOL], ping_interval=None) as ws:
        init = {"type": "connection_init", "payload": {"token": target.warm_up_token}}
        await ws.send(json.dumps(init))
        await ws.recv()
        payload = {"query": SUBSCRIPTION, "variables": {"q": room}}
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
        await wait_subscribed(target, 1, 30)
        async with httpx.AsyncClient(base_url=target.base) as http, asyncio.timeout(60):
            for event in range(WARM_UP_EVENTS):
                await target.publish(http, room, f"Warm-up {event}.")
                while subscriber.received <= event and not subscriber.problems:
                    subscriber.record(await ws.recv(), time.time())
        if subscriber.problems:
            raise RuntimeError(f"warm-up event not delivered: {subscriber.problems}")
    for _ in range(100):  # until the server has let go of the warm-up subscription
        if await target.subscribed() == 0:
            break
        await asyncio.sleep(0.05)
    return statistics.median(subscriber.latencies_ms)


class Fleet:
    """The client processes of one case."""

    def __init__(
        self, context: SpawnContext, url: str, shares: list[list[ClientSpec]],
        connecting: int = CONNECTING,
    ) -> None:  # fmt: skip
        self.replies: Queue[Any] = context.Queue()
        self.commands: list[Queue[Any]] = [context.Queue() for _ in shares]
        self.processes: list[BaseProcess] = [
            context.Process(target=client_process,
                            args=(url, share, index, self.commands[index], self.replies,
                                  connecting),
                            daemon=True)
            for index, share in enumerate(shares)
        ]  # fmt: skip

    async def _replies(self, kind: str, seconds: float) -> list[tuple[Any, ...]]:
        """One reply of ``kind`` per process, unless one of them dies or it takes too long."""
        got: list[tuple[Any, ...]] = []
        deadline = time.monotonic() + seconds
        while len(got) < len(self.processes):
            if time.monotonic() > deadline:
                raise TimeoutError(f"the client processes did not answer {kind!r} in time")
            if any(process.exitcode not in (None, 0) for process in self.processes):
                raise RuntimeError("a client process died; see its traceback above")
            with contextlib.suppress(Empty):
                reply = await asyncio.to_thread(self.replies.get, True, 0.5)
                if reply[0] == kind:
                    got.append(reply)
        return got

    async def open(self) -> tuple[int, list[str]]:
        for process in self.processes:
            process.start()
        ready = await self._replies("ready", 1800)
        return sum(reply[2] for reply in ready), [p for reply in ready for p in reply[3]]

    async def start_phase(self, start: float) -> None:
        for commands in self.commands:
            commands.put(("phase", start))
        await self._replies("phase-ok", 60)

    async def collect(self, expected_by_room: dict[str, int]) -> list[PhaseReport]:
        for commands in self.commands:
            commands.put(("collect", expected_by_room, STALL_SECONDS))
        return [reply[2] for reply in await self._replies("report", 3600)]

    async def close(self) -> None:
        for commands in self.commands:
            commands.put(("close",))
        with contextlib.suppress(TimeoutError, RuntimeError):
            await self._replies("closed", 60)
        for process in self.processes:
            await asyncio.to_thread(process.join, 10)
            if process.is_alive():
                process.terminate()


# --- figures --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Phase:
    name: str
    events: int
    send_seconds: float
    seconds: float  # from the first event sent to the last one received
    cpu_seconds: float
    reports: list[PhaseReport]

    @property
    def expected(self) -> int:
        return sum(r.expected for r in self.reports)

    @property
    def received(self) -> int:
        return sum(r.received for r in self.reports)

    @property
    def alive(self) -> int:
        return sum(r.alive for r in self.reports)

    @property
    def duplicates(self) -> int:
        return sum(r.duplicates for r in self.reports)

    @property
    def lost(self) -> int:
        return sum(max(0, e - r) for e, r, _ in self._by_kind().values())

    @property
    def rate(self) -> float:
        return self.received / self.seconds if self.seconds > 0 else 0.0

    @property
    def cpu_ms_per_delivery(self) -> float:
        return self.cpu_seconds * 1000 / max(1, self.received)

    def percentile(self, p: float) -> float:
        ordered = sorted(latency for r in self.reports for latency in r.latencies_ms)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]

    def _by_kind(self) -> dict[str, list[int]]:
        merged: dict[str, list[int]] = {}
        for report in self.reports:
            for kind, counts in report.by_kind.items():
                total = merged.setdefault(kind, [0, 0, 0])
                for i, value in enumerate(counts):
                    total[i] += value
        return merged

    def shapes(self) -> dict[str, set[Shape]]:
        merged: dict[str, set[Shape]] = {}
        for report in self.reports:
            for group, shapes in report.shapes.items():
                merged.setdefault(group, set()).update(shapes)
        return merged

    def details(self) -> list[str]:
        lines = [
            f"{self.events} events sent in {self.send_seconds:.1f} s, deliveries {self.received}"
            f" of {self.expected} ({self.lost} lost, {self.duplicates} duplicated) in "
            f"{self.seconds:.1f} s = {self.rate:.0f}/s, {self.alive} subscribers still live; "
            f"CPU {self.cpu_ms_per_delivery:.3f} ms per delivery; latency p50 "
            f"{self.percentile(50):.0f} ms, p95 {self.percentile(95):.0f} ms, p99 "
            f"{self.percentile(99):.0f} ms, max {self.percentile(100):.0f} ms"
        ]
        kinds = self._by_kind()
        if any(e != r or d for e, r, d in kinds.values()):
            lines.append("by viewer (expected/received/duplicated): " + ", ".join(
                f"{kind} {e}/{r}/{d}" for kind, (e, r, d) in sorted(kinds.items())
            ))  # fmt: skip
        shapes = self.shapes()
        mixed = {group: s for group, s in shapes.items() if len(s) > 1}
        described = ", ".join(f"{g} {sorted(s)}" for g, s in sorted(shapes.items()))
        prefix = "SCOPES MIXED: " if mixed else "payload shapes (offers, priced, myRank, count): "
        lines.append(prefix + described)
        problems: Counter[str] = Counter()
        for report in self.reports:
            problems.update(report.problems)
        lines += [f"problem ({n} subscribers): {text}" for text, n in problems.most_common(5)]
        if retries := sum(report.retries for report in self.reports):
            lines.append(f"subscription starts refused as too busy and retried as told: {retries}")
        return lines


@dataclass(frozen=True)
class Case:
    name: str
    clients: int
    connected: int
    subscribed: int  # subscriptions started (the server's count once it is quiet)
    rss_before_kib: int
    rss_after_kib: int
    server_processes: int
    idle_latency_ms: float
    phases: dict[str, Phase]

    @property
    def kib_per_connection(self) -> float:
        return (self.rss_after_kib - self.rss_before_kib) / max(1, self.connected)

    def show(self) -> None:
        print(
            f"{self.name}\n    {self.connected} of {self.clients} clients connected, "
            f"{self.subscribed} subscribed; RSS of the "
            f"{self.server_processes} server process(es)"
            f" {self.rss_before_kib / 1024:.1f} → {self.rss_after_kib / 1024:.1f} MiB = "
            f"{self.kib_per_connection:.1f} KiB per connection; idle latency (1 subscriber, 1 "
            f"event at a time) p50 {self.idle_latency_ms:.1f} ms"
        )
        for phase in self.phases.values():
            print(f"    {phase.name}: " + "\n        ".join(phase.details()), flush=True)


def summary(baseline: Case, api: Case, rate: float) -> str:
    header = (
        "| case | phase | connected, subscribed | KiB/conn | deliveries/s | CPU/delivery | p50 "
        "| p95 | p99 | lost | dup | vs baseline |\n" + "|---" * 12 + "|"
    )
    rows = [header]
    for name in ("burst", "paced"):
        for case in (baseline, api):
            phase = case.phases[name]
            against = baseline.phases[name].rate
            ratio = f"{phase.rate / against:.2f}x" if name == "burst" and against else ""
            label = name if name == "burst" else f"paced, {rate:.0f}/s asked"
            rows.append(
                f"| {case.name.split(':')[0]} | {label} | {case.connected}, {case.subscribed} | "
                f"{case.kib_per_connection:.1f} | {phase.rate:.0f} | "
                f"{phase.cpu_ms_per_delivery:.3f} ms | {phase.percentile(50):.0f} ms | "
                f"{phase.percentile(95):.0f} ms | {phase.percentile(99):.0f} ms | {phase.lost} | "
                f"{phase.duplicates} | {ratio} |"
            )
    return "\n".join(rows)


# --- one case -------------------------------------------------------------------------------


async def _burst(target: Target, rooms: list[Room], events: int) -> Counter[str]:
    sent: Counter[str] = Counter()
    indices = iter(range(events))
    async with httpx.AsyncClient(base_url=target.base, timeout=120) as http:

        async def sender() -> None:
            for index in indices:
                room = rooms[index % len(rooms)].quotation_id
                sent[room] += 1
                await target.publish(http, room, f"Burst event {index}.")

        await asyncio.gather(*(sender() for _ in range(SENDERS)))
    return sent


async def _paced(
    target: Target, rooms: list[Room], per_second: float, seconds: float
) -> Counter[str]:
    """``per_second`` events for ``seconds``, each sent on time whatever the previous ones."""
    sent: Counter[str] = Counter()
    count = max(1, round(per_second * seconds))
    limits = httpx.Limits(max_connections=200)
    async with httpx.AsyncClient(base_url=target.base, timeout=300, limits=limits) as http:
        start = time.monotonic()
        tasks: list[asyncio.Task[None]] = []
        for index in range(count):
            await asyncio.sleep(max(0.0, start + index / per_second - time.monotonic()))
            room = rooms[index % len(rooms)].quotation_id
            sent[room] += 1
            tasks.append(asyncio.create_task(target.publish(http, room, f"Paced event {index}.")))
        await asyncio.gather(*tasks)
    return sent


async def _phase(
    target: Target, fleet: Fleet, name: str, send: Callable[[], Awaitable[Counter[str]]]
) -> Phase:
    started = time.time()
    await fleet.start_phase(started)
    cpu_before = cpu_seconds(target.pid)
    sent = await send()
    send_seconds = time.time() - started
    reports = await fleet.collect(dict(sent))
    cpu = cpu_seconds(target.pid) - cpu_before
    last = max((report.last_at for report in reports), default=started)
    return Phase(name, sum(sent.values()), send_seconds, max(last - started, 1e-9), cpu, reports)


async def run_case(
    context: SpawnContext, target: Target, rooms: list[Room], specs: list[ClientSpec],
    processes: int, events: int, rate: float, paced_seconds: float,
) -> Case:  # fmt: skip
    idle_latency = await warm_up(target, rooms[0].quotation_id)
    await wait_quiet(target.pid)
    rss_before = rss_kib(target.pid)
    fleet = Fleet(context, target.ws_url, [specs[i::processes] for i in range(processes)])
    try:
        connected, problems = await fleet.open()
        subscribed = await wait_subscribed(target, connected)
        if connected < len(specs) or subscribed < connected:
            print(f"  warning: {connected}/{len(specs)} connected, {subscribed} subscribed")
            for problem in problems[:5]:
                print(f"  problem: {problem}")
        await wait_quiet(target.pid)
        rss_after = rss_kib(target.pid)
        servers = len(process_tree(target.pid))
        subscribed = await target.subscribed()
        burst = await _phase(target, fleet, "burst", lambda: _burst(target, rooms, events))
        phases = {"burst": burst}
        per_room = max(1.0, connected / len(rooms))
        phases["paced"] = await _phase(
            target, fleet, "paced", lambda: _paced(target, rooms, rate / per_room, paced_seconds)
        )
    finally:
        await fleet.close()
    return Case(
        target.name,
        len(specs),
        connected,
        subscribed,
        rss_before,
        rss_after,
        servers,
        idle_latency,
        phases,
    )


def client_specs(rooms: list[Room], kinds: list[ViewerKind], tokens: dict[str, str],
                 clients: int) -> list[ClientSpec]:  # fmt: skip
    """Client ``i`` watches room ``i % rooms`` as viewer kind ``i // rooms % kinds``, so every
    room holds every kind in about equal numbers, and each kind's users take turns."""
    specs = []
    for i in range(clients):
        room = rooms[i % len(rooms)]
        kind = kinds[i // len(rooms) % len(kinds)]
        email = kind.emails[i // (len(rooms) * len(kinds)) % len(kind.emails)]
        specs.append(ClientSpec(room.quotation_id, tokens.get(email, ""), kind.name, room.mode))
    return specs


# --- the two servers ------------------------------------------------------------------------


async def _login(base: str, emails: list[str]) -> dict[str, str]:
    query = (
        "mutation($e: String!, $p: String!) "
        "{ login(input: {email: $e, password: $p}) { accessToken } }"
    )
    tokens = {}
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        for email in emails:
            variables = {"e": email, "p": DEMO_PASSWORD}
            response = await http.post("/graphql", json={"query": query, "variables": variables})
            tokens[email] = response.json()["data"]["login"]["accessToken"]
    return tokens


async def _relayed(database_url: str) -> None:
    """Until the server's relay has published the seeded outbox (it would compete otherwise)."""
    engine = create_engine(database_url, pool_size=1, keyring=KEYRING)
    try:
        for _ in range(600):
            async with engine.connect() as connection:
                waiting = await connection.scalar(
                    select(func.count())
                    .select_from(OutboxEvent)
                    .where(OutboxEvent.published_at.is_(None))
                )
            if not waiting:
                return
            await asyncio.sleep(0.1)
    finally:
        await engine.dispose()
    raise RuntimeError("the relay did not publish the seeded outbox")


async def api_target(
    pid: int, port: int, database_url: str, redis: Redis, rooms: list[Room],
    kinds: list[ViewerKind],
) -> tuple[Target, dict[str, str]]:  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    await wait_ready(base)
    tokens = await _login(base, [email for kind in kinds for email in kind.emails])
    await _relayed(database_url)
    keys = [PRESENCE_PREFIX + quotation_room(uuid.UUID(room.quotation_id)) for room in rooms]
    admin = tokens[kinds[0].emails[0]]

    async def publish(http: httpx.AsyncClient, room: str, notes: str) -> None:
        variables = {"input": {"quotationId": room, "notes": notes}}
        response = await http.post(
            "/graphql",
            json={"query": UPDATE, "variables": variables},
            headers={"Authorization": f"Bearer {admin}"},
        )
        body = response.json()
        if response.status_code != 200 or body.get("errors"):
            raise RuntimeError(f"updateQuotation failed: {response.status_code} {body}")

    async def subscribed() -> int:
        now = time.time()
        async with redis.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.zcount(key, now, "+inf")
            return sum(await pipe.execute())

    name = "GraphQL quotationEvents: mixed viewers (outbox, relay, Redis, hub, resolution)"
    return Target(name, port, pid, admin, publish, subscribed), tokens


async def _baseline_target(pid: int, port: int) -> Target:
    base = f"http://127.0.0.1:{port}"
    await wait_ready(base)

    async def publish(http: httpx.AsyncClient, room: str, notes: str) -> None:
        response = await http.post("/publish", json={"room": room, "notes": notes})
        response.raise_for_status()

    async def subscribed() -> int:
        async with httpx.AsyncClient(base_url=base) as http:
            count: int = (await http.get("/subscribed")).json()["subscribed"]
            return count

    name = "baseline: Starlette WebSocket fan-out (no GraphQL, database or Redis)"
    return Target(name, port, pid, "", publish, subscribed)


@dataclass(frozen=True)
class Options:
    clients: int
    rooms: int
    events: int
    processes: int
    workers: int
    rate: float
    paced_seconds: float
    compression: bool


async def _baseline(context: SpawnContext, options: Options, rooms: list[Room],
                    specs: list[ClientSpec]) -> Case:  # fmt: skip
    port = free_port()
    server = context.Process(target=serve_baseline, args=(port, options.compression))
    server.start()
    try:
        assert server.pid is not None
        target = await _baseline_target(server.pid, port)
        return await run_case(context, target, rooms, specs, options.processes, options.events,
                              options.rate, options.paced_seconds)  # fmt: skip
    finally:
        await asyncio.to_thread(stop, server)


async def _api(context: SpawnContext, options: Options, database_url: str, rooms: list[Room],
               kinds: list[ViewerKind]) -> Case:  # fmt: skip
    port = free_port()
    redis_url = devservers.redis_url()
    environment = api_environment(database_url, redis_url, options.compression)
    server = context.Process(target=serve_api, args=(environment, port, options.workers))
    server.start()
    redis = Redis.from_url(redis_url)
    try:
        assert server.pid is not None
        target, tokens = await api_target(server.pid, port, database_url, redis, rooms, kinds)
        specs = client_specs(rooms, kinds, tokens, options.clients)
        return await run_case(context, target, rooms, specs, options.processes, options.events,
                              options.rate, options.paced_seconds)  # fmt: skip
    finally:
        await redis.aclose()
        await asyncio.to_thread(stop, server)


def main(
    clients: int = 1000, rooms: int = 50, events: int = 300, processes: int | None = None,
    workers: int = 1, rate: float = 1000.0, paced_seconds: float = 20.0,
    compression: bool | None = None,
) -> None:  # fmt: skip
    if min(clients, rooms, events, workers) < 1 or rate <= 0 or paced_seconds <= 0:
        raise SystemExit("clients, rooms, events, workers, rate and seconds must be positive")
    options = Options(
        clients, rooms, events,
        processes or max(2, math.ceil(clients / CONNECTIONS_PER_PROCESS)),
        workers, rate, paced_seconds,
        Settings().websocket_compression if compression is None else compression,
    )  # fmt: skip
    raise_open_files()
    context = multiprocessing.get_context("spawn")
    database_url, made = asyncio.run(prepare_database(rooms))
    kinds = viewer_kinds()
    modes = Counter(room.mode.value for room in made)
    print(
        f"Subscription benchmark: {clients} WebSocket clients in {options.processes} processes "
        f"({len(kinds)} viewer kinds: {', '.join(k.name for k in kinds)}), {rooms} rooms "
        f"({', '.join(f'{n} {mode}' for mode, n in modes.items())}), burst of {events} events "
        f"from {SENDERS} concurrent HTTP requests, then {paced_seconds:.0f} s paced at {rate:.0f}"
        f" deliveries/s; API: {workers} worker process(es); WebSocket compression "
        f"{'on' if options.compression else 'off'}; {os.cpu_count()} cores; open files "
        f"{open_files_limit()}",
        flush=True,
    )
    try:
        # The baseline's clients are the same (rooms, kinds, processes); it ignores tokens.
        specs = client_specs(made, kinds, {}, clients)
        baseline = uvloop.run(_baseline(context, options, made, specs))
        baseline.show()
        api = uvloop.run(_api(context, options, database_url, made, kinds))
        api.show()
        print(summary(baseline, api, rate))
    finally:
        asyncio.run(devservers.drop_database(database_url))


if __name__ == "__main__":
    main()
