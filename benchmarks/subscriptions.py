"""Subscription benchmark: live-event delivery to many WebSocket subscribers, beside a baseline.

One uvicorn process (uvloop, httptools, websockets-sansio) serves the API against a scratch
database; client processes open ``clients`` graphql-transport-ws connections, each subscribed to
``quotationEvents`` of one of ``rooms`` quotations. The driver then changes the quotations'
notes through ``updateQuotation`` over HTTP; every change travels commit → relay → Redis → hub →
per-subscriber resolution → WebSocket. Each client measures, per event, receive time minus the
event's ``occurredAt`` (one machine, one clock).

The baseline is a plain Starlette WebSocket endpoint in its own uvicorn process speaking just
enough of graphql-transport-ws for the same clients: a ``publish`` request stamps the time and an
in-process fan-out pushes the same JSON frame to every connection of the room. No GraphQL, no
database, no Redis, no permissions: what is left is uvicorn, WebSocket framing and asyncio.

Clients negotiate permessage-deflate as browsers do; its zlib state is a good part of the memory
per connection in both cases. Latency under load is mostly queueing: the senders produce
events faster than the server fans them out, so compare it with the idle figure.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import multiprocessing
import os
import resource
import socket
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing.context import SpawnContext
from multiprocessing.process import BaseProcess
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event
from queue import Empty
from typing import Any

import httpx
import uvloop
import websockets
from pydantic import SecretStr
from redis.asyncio import Redis
from sqlalchemy import func, select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect
from websockets.asyncio.client import ClientConnection, connect

from benchmarks.keys import KEYRING
from spirit_tours.app import create_app
from spirit_tours.config import Environment, Settings
from spirit_tours.dev import servers as devservers
from spirit_tours.dev.demo import DEMO_PASSWORD, add_demo_quotation, seed_demo
from spirit_tours.edge.server import run as run_server
from spirit_tours.edge.server import server_config
from spirit_tours.persistence.accounts import User
from spirit_tours.persistence.database import create_engine, create_session_factory
from spirit_tours.persistence.events import OutboxEvent
from spirit_tours.persistence.migrate import migrate
from spirit_tours.persistence.quotations import Quotation
from spirit_tours.realtime.rooms import quotation_room

ADMIN = "admin@spirit-tours.example"
PROTOCOL = websockets.Subprotocol("graphql-transport-ws")
PRESENCE_PREFIX = "presence:"  # spirit_tours.realtime.presence keeps one sorted set per room
SUBSCRIPTION = (
    "subscription($q: ID!) { quotationEvents(quotationId: $q) "
    "{ __typename ... on QuotationChanged { cursor occurredAt kind } } }"
)
UPDATE = (
    "mutation($input: UpdateQuotationInput!) "
    "{ updateQuotation(input: $input) { quotation { id } } }"
)
CLIENT_PROCESSES = 4
SENDERS = 4  # concurrent HTTP requests generating events
CONNECTING = 32  # handshakes in flight per client process
GRACE_SECONDS = 30.0  # how long clients wait for missing events once all were sent
WARM_UP_EVENTS = 5


# --- processes ------------------------------------------------------------------------------


def raise_open_files() -> None:
    """Allow as many sockets as the hard limit permits."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _run_uvicorn(app: Starlette, port: int) -> None:
    raise_open_files()
    # The edge limits and WebSocket settings of `spirit-tours serve` (default settings).
    config = server_config(app, Settings(), host="127.0.0.1", port=port, loop="uvloop",
                           log_level="warning", access_log=False, backlog=4096)  # fmt: skip
    run_server(config)


def _serve_api(database_url: str, redis_url: str, port: int) -> None:
    settings = Settings(
        env=Environment.PRODUCTION,
        database_url=database_url,
        redis_url=redis_url,
        jwt_secret=SecretStr("benchmark-secret-" + "x" * 32),
        email_secret=SecretStr("benchmark-email-secret-" + "x" * 32),
        public_url="http://127.0.0.1",  # production requires it; nothing here follows links
        log_level="warning",
        # The load generator is a handful of viewers: keep the rate limiter's round trip in
        # the measurement, never its refusals.
        rate_limit_points=10**12,
        # Every client signs in as the same operator: lift the per-user caps of live
        # connections and subscriptions (the per-process caps stay), as for the rate limit.
        max_websockets_per_user=1_000_000,
        max_subscriptions_per_user=1_000_000,
    )
    _run_uvicorn(create_app(settings), port)


# --- the baseline server ----------------------------------------------------------------------


class Rooms:
    """The baseline's in-process fan-out: one queue per connection, by room."""

    def __init__(self) -> None:
        self.members: dict[str, set[asyncio.Queue[str]]] = {}

    def count(self) -> int:
        return sum(len(queues) for queues in self.members.values())


async def _baseline_socket(websocket: WebSocket) -> None:
    rooms: Rooms = websocket.app.state.rooms
    await websocket.accept(subprotocol=PROTOCOL)
    if (await websocket.receive_json()).get("type") != "connection_init":
        await websocket.close(4400)
        return
    await websocket.send_json({"type": "connection_ack"})
    subscribe = await websocket.receive_json()
    key, room = subscribe["id"], subscribe["payload"]["variables"]["q"]
    queue: asyncio.Queue[str] = asyncio.Queue()
    rooms.members.setdefault(room, set()).add(queue)

    async def push() -> None:
        while True:
            data = await queue.get()
            await websocket.send_text(
                '{"id":' + json.dumps(key) + ',"type":"next","payload":' + data + "}"
            )

    pusher = asyncio.create_task(push())
    try:
        while True:
            message = await websocket.receive_json()
            if message.get("type") == "ping":
                await websocket.send_json({"type": "pong"})
    except WebSocketDisconnect:
        pass
    finally:
        pusher.cancel()
        rooms.members[room].discard(queue)


async def _baseline_publish(request: Request) -> JSONResponse:
    """Stamp the event, then hand the same frame to every connection of its room."""
    rooms: Rooms = request.app.state.rooms
    room = (await request.json())["room"]
    now = datetime.now(UTC).isoformat()
    data = json.dumps({"data": {"quotationEvents": {
        "__typename": "QuotationChanged", "cursor": "p0", "occurredAt": now,
        "kind": "quotation.updated",
    }}})  # fmt: skip
    queues = rooms.members.get(room, set())
    for queue in queues:
        queue.put_nowait(data)
    return JSONResponse({"delivered": len(queues)})


async def _baseline_count(request: Request) -> JSONResponse:
    rooms: Rooms = request.app.state.rooms
    return JSONResponse({"subscribed": rooms.count()})


async def _ready(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ready"})


def _serve_baseline(port: int) -> None:
    app = Starlette(
        routes=[
            WebSocketRoute("/graphql", _baseline_socket),
            Route("/publish", _baseline_publish, methods=["POST"]),
            Route("/subscribed", _baseline_count),
            Route("/readyz", _ready),
        ]
    )
    app.state.rooms = Rooms()
    _run_uvicorn(app, port)


# --- the clients ------------------------------------------------------------------------------


@dataclass
class Subscriber:
    room: str
    expected: int
    latencies_ms: list[float] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    last_at: float = 0.0
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def record(self, raw: str | bytes, received_at: float) -> bool:
        """Account for one message; False when it was a keep-alive ping."""
        message = json.loads(raw)
        kind = message.get("type")
        if kind == "ping":
            return False
        if kind != "next":  # error or complete: nothing more will come
            self.problems.append(json.dumps(message)[:300])
            self.done.set()
            return True
        payload = message["payload"]
        event = (payload.get("data") or {}).get("quotationEvents")
        if payload.get("errors") or not event or event.get("__typename") != "QuotationChanged":
            self.problems.append(json.dumps(payload)[:300])
            return True
        occurred = datetime.fromisoformat(event["occurredAt"]).timestamp()
        self.latencies_ms.append((received_at - occurred) * 1000)
        self.last_at = received_at
        if len(self.latencies_ms) >= self.expected:
            self.done.set()
        return True


async def _open(
    url: str, token: str, subscriber: Subscriber, gate: asyncio.Semaphore
) -> ClientConnection | None:
    try:
        async with gate:
            ws = await connect(url, subprotocols=[PROTOCOL], open_timeout=60, close_timeout=5)
            await ws.send(json.dumps({"type": "connection_init", "payload": {"token": token}}))
            ack = json.loads(await asyncio.wait_for(ws.recv(), 60))
            if ack.get("type") != "connection_ack":
                raise RuntimeError(f"no connection_ack: {ack}")
            payload = {"query": SUBSCRIPTION, "variables": {"q": subscriber.room}}
            await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
            return ws
    except Exception as error:
        subscriber.problems.append(f"connect: {error!r}")
        subscriber.done.set()
        return None


async def _read(ws: ClientConnection, subscriber: Subscriber) -> None:
    try:
        async for raw in ws:
            if not subscriber.record(raw, time.time()):
                await ws.send('{"type":"pong"}')
    except websockets.ConnectionClosed as error:
        if not subscriber.done.is_set():
            subscriber.problems.append(f"closed: {error!r}")
            subscriber.done.set()


@dataclass(frozen=True)
class ClientReport:
    connected: int
    expected: int
    latencies_ms: list[float]
    problems: list[str]
    last_at: float


async def _clients(
    url: str,
    token: str,
    assignments: list[tuple[str, int]],
    ready: Queue[int],
    reports: Queue[ClientReport],
    sent: Event,
    close: Event,
) -> None:
    subscribers = [Subscriber(room, expected) for room, expected in assignments]
    gate = asyncio.Semaphore(CONNECTING)
    sockets = await asyncio.gather(*(_open(url, token, s, gate) for s in subscribers))
    pairs = zip(sockets, subscribers, strict=True)
    readers = [asyncio.create_task(_read(ws, s)) for ws, s in pairs if ws is not None]
    ready.put(len(readers))
    everyone = asyncio.gather(*(s.done.wait() for s in subscribers))
    loop = asyncio.get_running_loop()
    deadline: float | None = None
    while not everyone.done():
        if deadline is None and sent.is_set():
            deadline = loop.time() + GRACE_SECONDS
        if deadline is not None and loop.time() > deadline:
            everyone.cancel()
            break
        await asyncio.wait([everyone], timeout=0.1)
    reports.put(ClientReport(
        connected=len(readers),
        expected=sum(s.expected for s in subscribers),
        latencies_ms=[latency for s in subscribers for latency in s.latencies_ms],
        problems=[problem for s in subscribers for problem in s.problems][:5],
        last_at=max((s.last_at for s in subscribers), default=0.0),
    ))  # fmt: skip
    await asyncio.to_thread(close.wait)  # stay connected until every client process reported
    for reader in readers:
        reader.cancel()
    await asyncio.gather(*(ws.close() for ws in sockets if ws is not None), return_exceptions=True)


def _client_process(
    url: str,
    token: str,
    assignments: list[tuple[str, int]],
    ready: Queue[int],
    reports: Queue[ClientReport],
    sent: Event,
    close: Event,
) -> None:
    raise_open_files()
    uvloop.run(_clients(url, token, assignments, ready, reports, sent, close))


# --- one measured case ------------------------------------------------------------------------


@dataclass(frozen=True)
class Figures:
    clients: int
    rooms: int
    events: int
    expected: int
    latencies_ms: list[float]
    problems: list[str]
    rss_before_kib: int
    rss_after_kib: int
    cpu_seconds: float
    seconds: float  # from the first event sent to the last one received
    send_seconds: float
    idle_latency_ms: float  # one subscriber, one event at a time

    @property
    def received(self) -> int:
        return len(self.latencies_ms)

    def percentile(self, p: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]

    def rows(self, name: str) -> str:
        per_connection = (self.rss_after_kib - self.rss_before_kib) / max(1, self.clients)
        cpu_per_delivery = self.cpu_seconds * 1000 / max(1, self.received)
        missing = self.expected - self.received
        lost = f"{missing} LOST" if missing > 0 else f"{-missing} EXTRA" if missing else "0 lost"
        pad = " " * 4
        return (
            f"{name}\n"
            f"{pad}{self.clients} clients, {self.rooms} rooms, {self.events} events sent in "
            f"{self.send_seconds:.1f} s ({self.events / self.send_seconds:.0f}/s), deliveries "
            f"{self.received} of {self.expected} expected ({lost})\n"
            f"{pad}server RSS {self.rss_before_kib / 1024:.1f} → {self.rss_after_kib / 1024:.1f}"
            f" MiB = {per_connection:.1f} KiB per connection; server CPU "
            f"{cpu_per_delivery:.3f} ms per delivery (events included)\n"
            f"{pad}latency p50 {self.percentile(50):.1f} ms  p95 {self.percentile(95):.1f} ms  "
            f"p99 {self.percentile(99):.1f} ms  max {max(self.latencies_ms, default=0.0):.1f} ms"
            f"  {self.received / self.seconds:.0f} deliveries/s  "
            f"(idle: 1 subscriber, 1 event at a time, p50 {self.idle_latency_ms:.1f} ms)"
        )


@dataclass(frozen=True)
class Target:
    """A running server and how to drive it."""

    port: int
    pid: int
    token: str
    room_ids: list[str]
    publish: Callable[[httpx.AsyncClient, int], Awaitable[None]]
    subscribed: Callable[[], Awaitable[int]]

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/graphql"


def expected_per_room(events: int, rooms: int) -> list[int]:
    """Event ``i`` goes to room ``i % rooms``."""
    return [events // rooms + (1 if room < events % rooms else 0) for room in range(rooms)]


async def _send_events(target: Target, events: int) -> None:
    indices = iter(range(events))
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{target.port}", timeout=60) as http:

        async def sender() -> None:
            for index in indices:
                await target.publish(http, index)

        await asyncio.gather(*(sender() for _ in range(SENDERS)))


async def _wait_subscribed(target: Target, clients: int) -> int:
    for _ in range(600):
        count = await target.subscribed()
        if count >= clients:
            return count
        await asyncio.sleep(0.1)
    return await target.subscribed()


async def _warm_up(target: Target) -> float:
    """One subscriber, a few events one at a time, end to end: fail fast, load what the first
    event loads before memory is measured, and return the median latency of an idle server."""
    subscriber = Subscriber(target.room_ids[0], WARM_UP_EVENTS)
    ws = await _open(target.ws_url, target.token, subscriber, asyncio.Semaphore(1))
    if ws is None:
        raise RuntimeError(f"warm-up subscription failed: {subscriber.problems}")
    try:
        await _wait_subscribed(target, 1)
        async with (
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{target.port}") as http,
            asyncio.timeout(30),
        ):
            for event in range(WARM_UP_EVENTS):
                await target.publish(http, event * len(target.room_ids))  # all to room 0
                while len(subscriber.latencies_ms) <= event and not subscriber.problems:
                    subscriber.record(await ws.recv(), time.time())
        if subscriber.problems:
            raise RuntimeError(f"warm-up event not delivered: {subscriber.problems}")
    finally:
        await ws.close()
    for _ in range(100):  # until the server has let go of the warm-up subscription
        if await target.subscribed() == 0:
            break
        await asyncio.sleep(0.05)
    return statistics.median(subscriber.latencies_ms)


async def _get(queue: Queue[Any], seconds: float, processes: list[BaseProcess]) -> Any:
    """The next item a client process sends, unless one of them died or it takes too long."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(Empty):
            return await asyncio.to_thread(queue.get, True, 0.5)
        if any(process.exitcode not in (None, 0) for process in processes):
            raise RuntimeError("a client process died; see its traceback above")
    raise TimeoutError("the client processes did not report in time")


async def measure(context: SpawnContext, target: Target, clients: int, events: int) -> Figures:
    idle_latency = await _warm_up(target)
    await asyncio.sleep(1.0)
    rss_before = rss_kib(target.pid)
    per_room = expected_per_room(events, len(target.room_ids))
    assignments: list[list[tuple[str, int]]] = [[] for _ in range(CLIENT_PROCESSES)]
    for index in range(clients):
        room = index % len(target.room_ids)
        assignments[index % CLIENT_PROCESSES].append((target.room_ids[room], per_room[room]))
    ready: Queue[int] = context.Queue()
    reports: Queue[ClientReport] = context.Queue()
    sent, close = context.Event(), context.Event()
    processes: list[BaseProcess] = [
        context.Process(
            target=_client_process,
            args=(target.ws_url, target.token, share, ready, reports, sent, close),
            daemon=True,
        )
        for share in assignments
        if share
    ]
    for process in processes:
        process.start()
    try:
        connected = sum([await _get(ready, 300, processes) for _ in processes])
        subscribed = await _wait_subscribed(target, connected)
        if connected < clients or subscribed < connected:
            print(f"  warning: {connected}/{clients} connected, {subscribed} subscribed")
        await asyncio.sleep(1.0)
        rss_after = rss_kib(target.pid)
        cpu_before = cpu_seconds(target.pid)
        started = time.time()
        await _send_events(target, events)
        send_seconds = time.time() - started
        sent.set()
        collected: list[ClientReport] = [
            await _get(reports, GRACE_SECONDS + 120, processes) for _ in processes
        ]
        cpu = cpu_seconds(target.pid) - cpu_before
        last = max(report.last_at for report in collected)
    finally:
        sent.set()
        close.set()
        for process in processes:
            await asyncio.to_thread(process.join, 30)
            if process.is_alive():
                process.terminate()
    return Figures(
        clients=sum(report.connected for report in collected),
        rooms=len(target.room_ids),
        events=events,
        expected=sum(report.expected for report in collected),
        latencies_ms=[latency for report in collected for latency in report.latencies_ms],
        problems=[problem for report in collected for problem in report.problems],
        rss_before_kib=rss_before,
        rss_after_kib=rss_after,
        cpu_seconds=cpu,
        seconds=max(last - started, 1e-9),
        send_seconds=send_seconds,
        idle_latency_ms=idle_latency,
    )


# --- the two cases ----------------------------------------------------------------------------


async def _prepare_database(rooms: int) -> tuple[str, list[str]]:
    url = await devservers.create_database("spirit_bench")
    engine = create_engine(url, pool_size=2, keyring=KEYRING)
    try:
        await migrate(engine)
        async with create_session_factory(engine)() as session, session.begin():
            await seed_demo(session, Settings(seed_demo=False))
            users = {user.email: user for user in await session.scalars(select(User))}
            for _ in range(rooms - 1):  # seed_demo made the first
                await add_demo_quotation(session, users)
            ids = await session.scalars(
                select(Quotation.id)
                .where(Quotation.destination == "Cusco and the Sacred Valley")
                .order_by(Quotation.created_at, Quotation.id)
            )
            room_ids = [str(quotation_id) for quotation_id in ids]
    finally:
        await engine.dispose()
    return url, room_ids


async def _wait_ready(base: str) -> None:
    async with httpx.AsyncClient(base_url=base) as http:
        for _ in range(300):
            with contextlib.suppress(httpx.TransportError):
                if (await http.get("/readyz")).status_code == 200:
                    return
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{base} never became ready")


async def _login(base: str) -> str:
    query = (
        "mutation($e: String!, $p: String!) "
        "{ login(input: {email: $e, password: $p}) { accessToken } }"
    )
    async with httpx.AsyncClient(base_url=base) as http:
        response = await http.post(
            "/graphql", json={"query": query, "variables": {"e": ADMIN, "p": DEMO_PASSWORD}}
        )
    token: str = response.json()["data"]["login"]["accessToken"]
    return token


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


async def _graphql_case(
    context: SpawnContext, process: BaseProcess, port: int, database_url: str,
    redis_url: str, room_ids: list[str], clients: int, events: int,
) -> Figures:  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    await _wait_ready(base)
    token = await _login(base)
    await _relayed(database_url)
    redis = Redis.from_url(redis_url)
    keys = [PRESENCE_PREFIX + quotation_room(uuid.UUID(room)) for room in room_ids]
    run = uuid.uuid4().hex[:8]

    async def publish(http: httpx.AsyncClient, index: int) -> None:
        variables = {"input": {
            "quotationId": room_ids[index % len(room_ids)],
            "notes": f"Benchmark {run}, event {index}.",
        }}  # fmt: skip
        response = await http.post(
            "/graphql",
            json={"query": UPDATE, "variables": variables},
            headers={"Authorization": f"Bearer {token}"},
        )
        body = response.json()
        if response.status_code != 200 or body.get("errors"):
            raise RuntimeError(f"updateQuotation failed: {response.status_code} {body}")

    async def subscribed() -> int:
        now = time.time()
        counts = [await redis.zcount(key, now, "+inf") for key in keys]
        return sum(counts)

    try:
        assert process.pid is not None
        target = Target(port, process.pid, token, room_ids, publish, subscribed)
        return await measure(context, target, clients, events)
    finally:
        await redis.aclose()


async def _baseline_case(
    context: SpawnContext, process: BaseProcess, port: int, room_ids: list[str],
    clients: int, events: int,
) -> Figures:  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    await _wait_ready(base)

    async def publish(http: httpx.AsyncClient, index: int) -> None:
        response = await http.post("/publish", json={"room": room_ids[index % len(room_ids)]})
        response.raise_for_status()

    async def subscribed() -> int:
        async with httpx.AsyncClient(base_url=base) as http:
            count: int = (await http.get("/subscribed")).json()["subscribed"]
            return count

    assert process.pid is not None
    target = Target(port, process.pid, "", room_ids, publish, subscribed)
    return await measure(context, target, clients, events)


def _stop(process: BaseProcess) -> None:
    process.terminate()
    process.join(15)
    if process.is_alive():
        process.kill()
        process.join(5)


def _report(name: str, figures: Figures) -> None:
    print(figures.rows(name))
    for problem in figures.problems[:5]:
        print(f"    problem: {problem}")


def main(clients: int = 1000, rooms: int = 50, events: int = 300) -> None:
    if min(clients, rooms, events) < 1:
        raise SystemExit("clients, rooms and events must be positive")
    raise_open_files()
    context = multiprocessing.get_context("spawn")
    database_url, room_ids = asyncio.run(_prepare_database(rooms))
    redis_url = devservers.redis_url()
    servers: list[BaseProcess] = []
    try:
        print(
            f"Subscription benchmark: {clients} WebSocket clients in {CLIENT_PROCESSES} "
            f"processes, {rooms} rooms, {events} events from {SENDERS} concurrent HTTP "
            f"requests, 1 server process, {os.cpu_count()} cores"
        )
        port = _free_port()
        baseline = context.Process(target=_serve_baseline, args=(port,), daemon=True)
        servers.append(baseline)
        baseline.start()
        figures = uvloop.run(_baseline_case(context, baseline, port, room_ids, clients, events))
        _report("baseline: Starlette WebSocket fan-out (no GraphQL, database or Redis)", figures)
        _stop(baseline)

        port = _free_port()
        api = context.Process(target=_serve_api, args=(database_url, redis_url, port), daemon=True)
        servers.append(api)
        api.start()
        figures = uvloop.run(
            _graphql_case(context, api, port, database_url, redis_url, room_ids, clients, events)
        )
        _report("GraphQL quotationEvents as ADMIN (outbox, relay, Redis, hub, resolution)", figures)
    finally:
        for server in servers:
            if server.is_alive():
                _stop(server)
        asyncio.run(devservers.drop_database(database_url))


if __name__ == "__main__":
    main()
