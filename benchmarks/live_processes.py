"""Process plumbing of the live benchmarks: open-file limits, memory and CPU of a server and its
worker processes (read from /proc), waiting for a server to be ready or quiet."""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import socket
import sys
import time
from multiprocessing.process import BaseProcess
from pathlib import Path

import httpx


def raise_open_files() -> None:
    """Allow as many sockets as the hard limit permits (10,000 clients need 10,000 each side)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def detach_stdin() -> None:
    """No standard input for uvicorn's worker processes: uvicorn hands them ``sys.stdin``'s file
    number to reopen, which a spawned process started without a terminal (under ``timeout``,
    in the background) has not got, and every worker would die with EBADF."""
    sys.stdin = None  # uvicorn then passes none (typeshed allows it: TextIO | MaybeNone)


def open_files_limit() -> int:
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def process_tree(pid: int) -> list[int]:
    """``pid`` and its live descendants (uvicorn's worker processes, with ``--workers``)."""
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            with contextlib.suppress(OSError):
                pending += [int(child) for child in (task / "children").read_text().split()]
    return found


def rss_kib(pid: int) -> int:
    """Resident memory of ``pid`` and its descendants."""
    total = 0
    for member in process_tree(pid):
        with contextlib.suppress(OSError), open(f"/proc/{member}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of ``pid`` and its descendants."""
    ticks = 0
    for member in process_tree(pid):
        with contextlib.suppress(OSError), open(f"/proc/{member}/stat") as stat:
            fields = stat.read().rpartition(")")[2].split()
            ticks += int(fields[11]) + int(fields[12])  # utime + stime
    return ticks / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def wait_ready(base: str, seconds: float = 120) -> None:
    async with httpx.AsyncClient(base_url=base) as http:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.TransportError):
                if (await http.get("/readyz")).status_code == 200:
                    return
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{base} never became ready")


async def wait_quiet(pid: int, busy_share: float = 0.25, seconds: float = 300) -> float:
    """Until the server uses less than ``busy_share`` of a core for two seconds running: the
    work that connecting clients set off is over (what stays is their upkeep: pings, presence
    refreshes). Returns the seconds waited."""
    started = time.monotonic()
    quiet = 0
    while time.monotonic() - started < seconds and quiet < 2:
        before = cpu_seconds(pid)
        await asyncio.sleep(1.0)
        quiet = quiet + 1 if cpu_seconds(pid) - before < busy_share else 0
    return time.monotonic() - started


def stop(process: BaseProcess) -> None:
    process.terminate()
    process.join(20)
    if process.is_alive():
        process.kill()
        process.join(5)
