"""A small keep-alive HTTP/1.1 load generator, run in its own process.

Raw asyncio streams instead of an HTTP client library: the generator must not be the bottleneck
on a two-core machine.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass


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

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def percentile(self, p: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]

    def row(self, name: str) -> str:
        mean = statistics.fmean(self.latencies_ms) if self.latencies_ms else float("nan")
        return (
            f"{name:<34} {self.rps:>9.0f} req/s  p50 {self.percentile(50):>7.2f} ms  "
            f"p95 {self.percentile(95):>7.2f} ms  p99 {self.percentile(99):>7.2f} ms  "
            f"mean {mean:>7.2f} ms  errors {self.errors}"
        )


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.lower() == "content-length":
            length = int(value.strip())
    body = await reader.readexactly(length) if length else b""
    return status, body


async def _connection(
    host: str, port: int, request: bytes, deadline: float, latencies: list[float]
) -> int:
    errors = 0
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            writer.write(request)
            status, body = await _read_response(reader)
            if status != 200 or b'"errors"' in body:
                errors += 1
            latencies.append((time.perf_counter() - started) * 1000)
    finally:
        writer.close()
    return errors


async def run_load(
    host: str, port: int, request: Request, *, concurrency: int, seconds: float
) -> Figures:
    """Keep ``concurrency`` connections busy for ``seconds`` and measure every request."""
    raw = request.encode(f"{host}:{port}")
    latencies: list[float] = []
    started = time.perf_counter()
    deadline = started + seconds
    errors = await asyncio.gather(
        *(_connection(host, port, raw, deadline, latencies) for _ in range(concurrency))
    )
    elapsed = time.perf_counter() - started
    return Figures(len(latencies), sum(errors), elapsed, latencies)


def run_load_process(
    host: str, port: int, request: Request, concurrency: int, seconds: float
) -> Figures:
    """Entry point for a ProcessPoolExecutor: load from outside the server's process."""
    return asyncio.run(run_load(host, port, request, concurrency=concurrency, seconds=seconds))
