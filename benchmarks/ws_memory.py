"""Where the API server's memory per idle subscribed WebSocket goes.

For each uvicorn WebSocket implementation (websockets-sansio, websockets, wsproto when
installed) with and without permessage-deflate, one API process (``spirit-tours serve``'s
configuration otherwise) is measured with the subscription benchmark's clients (all signed in
as the operator, each subscribed to ``quotationEvents``, no events sent):

- plain: RSS before the clients connect and once they are subscribed and the server is quiet;
- traced (``tracemalloc``, 12 frames; websockets-sansio only, what serve runs): the same, plus
  a snapshot at each point. The growth is grouped by who allocated it — the innermost frame
  outside the standard library, mapped to a part (uvicorn's protocol, the WebSocket library,
  its permessage-deflate and zlib, strawberry's per-connection handler, graphql-core, our
  Context, the hub's Listener, presence, …) — and the asyncio tasks and gc-tracked objects
  per connection are counted.

The server answers ``/__bench/memory`` (``probed_app``: the app wrapped by this module) with
its RSS, task count and traced memory, after a full collection, and dumps a snapshot on demand.
Finally the compression a typical event frame gets per socket (context takeover, the window
and memory level uvicorn asks of zlib) is shown, to weigh against its memory.
"""

from __future__ import annotations

import asyncio
import gc
import importlib.util
import json
import multiprocessing
import os
import sysconfig
import tempfile
import time
import tracemalloc
import uuid
import zlib
from collections import Counter
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from multiprocessing.context import SpawnContext
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import uvloop
from redis.asyncio import Redis

from benchmarks.live_processes import free_port, raise_open_files, rss_kib, stop, wait_quiet
from benchmarks.live_seed import Room, prepare_database, viewer_kinds
from benchmarks.live_servers import api_environment, baseline_event, serve_api
from benchmarks.subscriptions import Fleet, api_target, client_specs, wait_subscribed, warm_up
from spirit_tours.dev import servers as devservers

TRACE_ENV = "BENCH_TRACEMALLOC_FRAMES"
FRAMES = 12  # enough to pass the standard library's frames; more slows the server down
PROBE = "/__bench/memory"
#: "served": what ``spirit-tours serve`` runs (edge/server.py: the lean sans-I/O protocol).
IMPLEMENTATIONS = ("served", "websockets-sansio", "websockets", "wsproto")
STDLIB = (sysconfig.get_paths()["stdlib"], "<frozen ", "<string>", "<unknown>")

Scope = MutableMapping[str, Any]
ASGI = Callable[[Scope, Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]],
                Awaitable[None]]  # fmt: skip


# --- in the server --------------------------------------------------------------------------


def _memory(dump: str | None) -> dict[str, Any]:
    gc.collect()
    figures: dict[str, Any] = {
        "rss_kib": rss_kib(os.getpid()),
        "tasks": len(asyncio.all_tasks()),
        "objects": dict(Counter(type(o).__qualname__ for o in gc.get_objects())),
    }
    if tracemalloc.is_tracing():
        figures["traced"] = tracemalloc.get_traced_memory()[0]
        figures["tracing_overhead"] = tracemalloc.get_tracemalloc_memory()
        if dump:
            tracemalloc.take_snapshot().dump(dump)
    return figures


def probed_app() -> ASGI:
    """``create_app()`` behind ``/__bench/memory``; tracing from the start when asked."""
    if frames := int(os.environ.get(TRACE_ENV, "0")):
        tracemalloc.start(frames)
    from spirit_tours.app import create_app

    app = create_app()

    async def probed(scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] != PROBE:
            await app(scope, receive, send)
            return
        query = parse_qs(scope.get("query_string", b"").decode())
        body = json.dumps(_memory(query.get("dump", [None])[0])).encode()
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return probed


# --- grouping a snapshot difference ---------------------------------------------------------

PARTS = (  # (path fragment, part), first match wins
    ("websockets/extensions/permessage_deflate", "permessage-deflate (websockets, zlib)"),
    ("wsproto/extensions", "permessage-deflate (wsproto, zlib)"),
    ("uvicorn/protocols/websockets", "uvicorn WebSocket protocol"),
    ("uvicorn/", "uvicorn (other)"),
    ("site-packages/websockets/", "websockets library"),
    ("site-packages/wsproto/", "wsproto library"),
    ("site-packages/h11/", "h11"),
    ("strawberry/subscriptions", "strawberry per-connection handler"),
    ("strawberry/", "strawberry (execution)"),
    ("site-packages/graphql/", "graphql-core (execution)"),
    ("site-packages/starlette/", "starlette"),
    ("spirit_tours/context", "our Context"),
    ("spirit_tours/realtime/hub", "hub Listener"),
    ("spirit_tours/realtime/presence", "presence"),
    ("spirit_tours/", "spirit_tours: "),
    ("site-packages/redis/", "redis client"),
    ("site-packages/sqlalchemy/", "database (sqlalchemy)"),
    ("site-packages/asyncpg/", "database (asyncpg)"),
    ("site-packages/", "other packages: "),
)


def part_of(traceback: tracemalloc.Traceback) -> tuple[str, str]:
    """The part that allocated (the innermost frame outside the standard library), and that
    frame as file:line."""
    for frame in reversed(traceback):  # tracemalloc lists the oldest frame first
        name = frame.filename
        if name.startswith(STDLIB):
            continue
        where = f"{name.split('site-packages/')[-1].split('/spirit_tours/')[-1]}:{frame.lineno}"
        for fragment, part in PARTS:
            if fragment in name:
                if part.endswith(": "):
                    part += name.rsplit(fragment, 1)[-1].split("/")[0].removesuffix(".py")
                return part, where
        return "other", where
    innermost = traceback[-1]
    return f"stdlib: {Path(innermost.filename).name}", f"{innermost.filename}:{innermost.lineno}"


@dataclass(frozen=True)
class Breakdown:
    parts: list[tuple[str, float, float]]  # part, bytes per connection, blocks per connection
    lines: list[tuple[str, str, float]]  # part, file:line, bytes per connection


def breakdown(before: Path, after: Path, connections: int) -> Breakdown:
    old = tracemalloc.Snapshot.load(str(before))
    new = tracemalloc.Snapshot.load(str(after))
    sizes: Counter[str] = Counter()
    blocks: Counter[str] = Counter()
    lines: Counter[tuple[str, str]] = Counter()
    for stat in new.compare_to(old, "traceback"):
        part, where = part_of(stat.traceback)
        sizes[part] += stat.size_diff
        blocks[part] += stat.count_diff
        lines[(part, where)] += stat.size_diff
    n = max(1, connections)
    return Breakdown(
        parts=[(part, size / n, blocks[part] / n) for part, size in sizes.most_common()],
        lines=[(part, where, size / n) for (part, where), size in lines.most_common(15)],
    )


# --- one variant ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Variant:
    ws: str
    deflate: bool

    @property
    def label(self) -> str:
        return f"{self.ws}, deflate {'on' if self.deflate else 'off'}"


@dataclass(frozen=True)
class Measured:
    variant: Variant
    traced: bool
    connected: int
    rss_kib: float  # per connection (traced: less tracemalloc's own growth)
    traced_kib: float
    tasks: float
    objects: list[tuple[str, float]]
    breakdown: Breakdown | None


async def _probe(base: str, dump: Path | None = None) -> dict[str, Any]:
    params = {"dump": str(dump)} if dump else {}
    async with httpx.AsyncClient(base_url=base, timeout=300) as http:
        response = await http.get(PROBE, params=params)
        response.raise_for_status()
        figures: dict[str, Any] = response.json()
        return figures


async def measure(
    context: SpawnContext, variant: Variant, traced: bool, database_url: str,
    rooms: list[Room], clients: int, folder: Path,
) -> Measured:  # fmt: skip
    port = free_port()
    redis_url = devservers.redis_url()
    environment = api_environment(database_url, redis_url, variant.deflate)
    environment[TRACE_ENV] = str(FRAMES if traced else 0)
    options: dict[str, Any] = {"ws_per_message_deflate": variant.deflate}
    if variant.ws != "served":
        options["ws"] = variant.ws
    server = context.Process(
        target=serve_api, args=(environment, port, 1, "benchmarks.ws_memory:probed_app"),
        kwargs=options,
    )  # fmt: skip
    server.start()
    redis = Redis.from_url(redis_url)
    kinds = viewer_kinds()
    busy = 0.5 if traced else 0.25  # tracing slows the connections' upkeep down too
    try:
        assert server.pid is not None
        target, tokens = await api_target(server.pid, port, database_url, redis, rooms, kinds)
        await warm_up(target, rooms[0].quotation_id)
        await wait_quiet(server.pid, busy)
        before = await _probe(target.base, folder / "before.snapshot" if traced else None)
        # All as the operator: the presence signals of other viewers joining, resolved per
        # subscriber, would compete with the starts (a traced server then refuses some).
        specs = client_specs(rooms, kinds[:1], tokens, clients)
        # Few handshakes at once: a traced server is slow, and a subscription start that waits
        # its turn too long is refused (SERVICE_UNAVAILABLE) and would not be measured.
        fleet = Fleet(context, target.ws_url, [specs[0::2], specs[1::2]], 4 if traced else 16)
        try:
            connected, problems = await fleet.open()
            subscribed = await wait_subscribed(target, connected, 1800 if traced else 300)
            await wait_quiet(server.pid, busy)
            after = await _probe(target.base, folder / "after.snapshot" if traced else None)
        finally:
            await fleet.close()
    finally:
        await redis.aclose()
        await asyncio.to_thread(stop, server)
    if subscribed < clients:
        print(f"  warning: {connected}/{clients} connected, {subscribed} subscribed")
        print(f"  problems: {problems[:3]}")
    n = max(1, connected)
    overhead = after.get("tracing_overhead", 0) - before.get("tracing_overhead", 0)
    objects = Counter(after["objects"])
    objects.subtract(Counter(before["objects"]))
    return Measured(
        variant=variant,
        traced=traced,
        connected=connected,
        rss_kib=(after["rss_kib"] - before["rss_kib"] - overhead / 1024) / n,
        traced_kib=(after.get("traced", 0) - before.get("traced", 0)) / 1024 / n,
        tasks=(after["tasks"] - before["tasks"]) / n,
        objects=[(name, count / n) for name, count in objects.most_common(8)],
        breakdown=(
            breakdown(folder / "before.snapshot", folder / "after.snapshot", connected)
            if traced
            else None
        ),
    )


# --- the report -----------------------------------------------------------------------------


def frame_compression(events: int = 100) -> str:
    """What permessage-deflate saves on a typical event frame, per socket, as uvicorn's
    websockets-sansio configures zlib (12-bit window, memLevel 5, context takeover)."""
    frames = [
        json.dumps({"id": "1", "type": "next", "payload": baseline_event(
            str(uuid.UUID(int=7)), f"MTIzNDU{index}", f"Group of 16; change {index}."
        )}).encode()
        for index in range(events)
    ]  # fmt: skip
    compressor = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -12, 5)
    sizes = []
    started = time.perf_counter()
    for frame in frames:
        sizes.append(len(compressor.compress(frame) + compressor.flush(zlib.Z_SYNC_FLUSH)) - 4)
    micros = (time.perf_counter() - started) * 1e6 / events
    raw = sum(len(frame) for frame in frames) / events
    steady = sum(sizes[1:]) / (events - 1)
    return (
        f"A typical event frame: {raw:.0f} bytes; deflated {sizes[0]} bytes for the first one, "
        f"{steady:.0f} bytes for the next ones with context takeover; {micros:.1f} µs of "
        "compression per frame and socket."
    )


def show(results: list[Measured]) -> None:
    print("\n| ws | deflate | clients | RSS KiB/conn | traced KiB/conn | tasks/conn |")
    print("|---|---|---|---|---|---|")
    for variant in dict.fromkeys(r.variant for r in results):
        plain = next((r for r in results if r.variant == variant and not r.traced), None)
        traced = next((r for r in results if r.variant == variant and r.traced), None)
        rss = f"{plain.rss_kib:.1f}" if plain else "—"
        if traced:
            rss += f" (traced run: {traced.rss_kib:.1f})"
        figures = traced or plain
        assert figures is not None
        print(f"| {variant.ws} | {'on' if variant.deflate else 'off'} | {figures.connected} | "
              f"{rss} | {traced.traced_kib if traced else float('nan'):.1f} | "
              f"{figures.tasks:.2f} |")  # fmt: skip
    for result in results:
        if result.breakdown is None:
            continue
        print(f"\n{result.variant.label}: traced growth per connection by part")
        print("| part | KiB/conn | blocks/conn |\n|---|---|---|")
        for part, size, blocks in result.breakdown.parts:
            if abs(size) >= 51.2:  # 0.05 KiB
                print(f"| {part} | {size / 1024:.2f} | {blocks:.1f} |")
        print("top lines: " + "; ".join(
            f"{where} {size / 1024:.2f} KiB" for _, where, size in result.breakdown.lines[:8]
        ))  # fmt: skip
        print("gc objects per connection: " + ", ".join(
            f"{name} {count:.1f}" for name, count in result.objects
        ))  # fmt: skip
    print("\n" + frame_compression())


def installed(ws: str) -> bool:
    module = {"served": "websockets", "websockets-sansio": "websockets",
              "websockets": "websockets"}.get(ws, ws)  # fmt: skip
    return importlib.util.find_spec(module) is not None


def main(clients: int = 1000, rooms: int = 10, compression: bool | None = None,
         trace: bool = True, implementations: list[str] | None = None) -> None:  # fmt: skip
    raise_open_files()
    context = multiprocessing.get_context("spawn")
    deflates = [True, False] if compression is None else [compression]
    chosen = implementations or list(IMPLEMENTATIONS)
    variants = [Variant(ws, d) for ws in chosen if installed(ws) for d in deflates]
    missing = [ws for ws in chosen if not installed(ws)]
    print(f"WebSocket memory: {clients} idle subscribed clients (ADMIN, {rooms} rooms) "
          f"per variant, one API process; {', '.join(v.label for v in variants)}"
          + (f"; not installed: {', '.join(missing)}" if missing else ""), flush=True)  # fmt: skip
    database_url, made = asyncio.run(prepare_database(rooms))
    results: list[Measured] = []
    try:
        with tempfile.TemporaryDirectory(prefix="ws-memory-") as folder:
            for variant in variants:
                # The breakdown of the implementation `serve` uses; the others' RSS only.
                traces = [False, True] if trace and variant.ws == IMPLEMENTATIONS[0] else [False]
                for traced in traces:
                    started = time.monotonic()
                    result = uvloop.run(measure(context, variant, traced, database_url, made,
                                                clients, Path(folder)))  # fmt: skip
                    print(f"  {variant.label}{', traced' if traced else ''}: "
                          f"{result.connected} connected, RSS {result.rss_kib:.1f} KiB/conn, "
                          f"{result.tasks:.2f} tasks/conn ({time.monotonic() - started:.0f} s)",
                          flush=True)  # fmt: skip
                    results.append(result)
        show(results)
    finally:
        asyncio.run(devservers.drop_database(database_url))
