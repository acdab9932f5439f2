"""A small keep-alive HTTP/1.1 load generator, run in processes of its own.

An asyncio ``Protocol`` on uvloop instead of an HTTP client library or streams: the generator
must not be the bottleneck on a two-core machine (about 2,000 requests/s of 20 KB pages). Every
response is checked — status 200, a ``data`` member, no ``errors`` — and any other counts as an
error, so a broken case cannot look fast.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import cast

import uvloop


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes = b""

    def encode(self, host: str) -> bytes:
        lines = [f"{self.method} {self.path} HTTP/1.1", f"Host: {host}"]
        lines += [f"{name}: {value}" for name, value in self.headers.items()]
        if self.body:
            lines.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + self.body


@dataclass(frozen=True)
class Figures:
    requests: int
    errors: int
    seconds: float
    latencies_ms: list[float]
    first_error: str = ""

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def percentile(self, p: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]

    @property
    def mean_ms(self) -> float:
        return statistics.fmean(self.latencies_ms) if self.latencies_ms else float("nan")

    def row(self, name: str) -> str:
        return (
            f"{name:<34} {self.rps:>9.0f} req/s  p50 {self.percentile(50):>7.2f} ms  "
            f"p95 {self.percentile(95):>7.2f} ms  p99 {self.percentile(99):>7.2f} ms  "
            f"mean {self.mean_ms:>7.2f} ms  errors {self.errors}"
        )

    @staticmethod
    def merge(parts: list[Figures]) -> Figures:
        """The figures of load processes that ran side by side over the same interval."""
        return Figures(
            requests=sum(part.requests for part in parts),
            errors=sum(part.errors for part in parts),
            seconds=max(part.seconds for part in parts),
            latencies_ms=[latency for part in parts for latency in part.latencies_ms],
            first_error=next((part.first_error for part in parts if part.first_error), ""),
        )


def valid(status: int, body: bytes) -> bool:
    """A GraphQL-shaped success: 200, data, no errors (the floor and the baselines answer
    ``{"data": …}`` too). Byte searches: parsing 2,000 pages a second would load the generator."""
    return status == 200 and b'"data"' in body and b'"errors"' not in body


class _Connection(asyncio.Protocol):
    """One keep-alive connection sending ``request`` again as soon as the answer is in."""

    def __init__(self, request: bytes, deadline: float, latencies: list[float]) -> None:
        self.request = request
        self.deadline = deadline
        self.latencies = latencies
        self.errors = 0
        self.first_error = ""
        self.buffer = bytearray()
        self.started = 0.0
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self._send()

    def _send(self) -> None:
        assert self.transport is not None
        self.started = time.perf_counter()
        self.transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (parsed := _parse(self.buffer)) is not None:
            status, body, used = parsed
            del self.buffer[:used]
            now = time.perf_counter()
            self.latencies.append((now - self.started) * 1000)
            if not valid(status, body):
                self.errors += 1
                if not self.first_error:
                    self.first_error = f"{status} {body[:300]!r}"
            if now >= self.deadline:
                self._finish()
                return
            self._send()

    def _finish(self) -> None:
        if not self.done.done():
            self.done.set_result(None)
        if self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_exception(exc or ConnectionError("the server closed the connection"))


def _parse(buffer: bytearray) -> tuple[int, bytes, int] | None:
    """One whole response at the start of ``buffer``: (status, body, bytes used)."""
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = bytes(buffer[:end]).decode("latin-1").split("\r\n")
    status = int(head[0].split(" ", 2)[1])
    length, chunked = 0, False
    for line in head[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "transfer-encoding" and "chunked" in value.lower():
            chunked = True
    start = end + 4
    if not chunked:
        if len(buffer) < start + length:
            return None
        return status, bytes(buffer[start : start + length]), start + length
    body = bytearray()
    position = start
    while True:
        line_end = buffer.find(b"\r\n", position)
        if line_end < 0:
            return None
        size = int(bytes(buffer[position:line_end]).split(b";")[0], 16)
        chunk_start = line_end + 2
        if len(buffer) < chunk_start + size + 2:
            return None
        body += buffer[chunk_start : chunk_start + size]
        position = chunk_start + size + 2
        if size == 0:  # no trailers from our servers
            return status, bytes(body), position


async def run_load(
    host: str, port: int, request: Request, *, concurrency: int, seconds: float
) -> Figures:
    """Keep ``concurrency`` connections busy for ``seconds`` and measure every request."""
    loop = asyncio.get_running_loop()
    raw = request.encode(f"{host}:{port}")
    latencies: list[float] = []
    started = time.perf_counter()
    deadline = started + seconds
    connections = []
    for _ in range(concurrency):
        _, protocol = await loop.create_connection(
            lambda: _Connection(raw, deadline, latencies), host, port
        )
        connections.append(protocol)
    # A connection the server stops answering ends the run rather than hanging it.
    await asyncio.wait_for(
        asyncio.gather(*(connection.done for connection in connections)), seconds + 60
    )
    elapsed = time.perf_counter() - started
    first_error = next((c.first_error for c in connections if c.first_error), "")
    errors = sum(connection.errors for connection in connections)
    return Figures(len(latencies), errors, elapsed, latencies, first_error)


def run_load_process(
    host: str, port: int, request: Request, concurrency: int, seconds: float
) -> Figures:
    """Entry point for a ProcessPoolExecutor: load from outside the server's process."""
    return uvloop.run(run_load(host, port, request, concurrency=concurrency, seconds=seconds))


def run_split(
    pool: Executor,
    processes: int,
    host: str,
    port: int,
    request: Request,
    concurrency: int,
    seconds: float,
) -> Figures:
    """``concurrency`` connections shared out over ``processes`` load processes of ``pool``
    (which must have that many workers), their figures merged."""
    shares = [concurrency // processes + (i < concurrency % processes) for i in range(processes)]
    futures = [
        pool.submit(run_load_process, host, port, request, share, seconds)
        for share in shares
        if share
    ]
    return Figures.merge([future.result() for future in futures])
