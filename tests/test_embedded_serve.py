"""`spirit-tours serve` with nothing configured: embedded PostgreSQL and Redis, demo data,
other commands sharing the servers, data kept across restarts, servers stopped on exit."""

from __future__ import annotations

import asyncio
import signal
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

from spirit_tours.demo import DEMO_PASSWORD
from spirit_tours.embedded import EmbeddedRedis
from tests.cli import SCRIPT, clean_env, run_cli
from tests.graphql_client import GraphQLClient


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@asynccontextmanager
async def _serving(data_dir: Path) -> AsyncIterator[GraphQLClient]:
    port = _free_port()
    process = await asyncio.create_subprocess_exec(
        SCRIPT, "serve", "--demo", "--port", str(port),
        env=clean_env(SPIRIT_DATA_DIR=str(data_dir)),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
        try:
            for _ in range(600):
                if process.returncode is not None:
                    raise AssertionError("serve exited early")
                try:
                    if (await http.get("/readyz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
            else:
                raise AssertionError("serve did not become ready")
            yield GraphQLClient(http)
        finally:
            process.send_signal(signal.SIGINT)
            output, _ = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, output.decode()


def _redis_answers(data_dir: Path) -> bool:
    return EmbeddedRedis(data_dir).responds()


async def test_serve_runs_on_embedded_servers_with_demo_data(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    async with _serving(data_dir) as gql:
        admin = await gql.login("admin@spirit-tours.example", DEMO_PASSWORD)
        viewer = (await gql.execute("{ viewer { email role } }", token=admin["accessToken"])).ok()
        assert viewer == {"viewer": {"email": "admin@spirit-tours.example", "role": "ADMIN"}}

        # Another command shares the running servers through the same data folder.
        created = await run_cli(
            "create-user", "--email", "new@agency.example", "--password", "secret-pass-1",
            "--role", "AGENCY", "--company", "New Agency",
            env=clean_env(SPIRIT_DATA_DIR=str(data_dir)),
        )  # fmt: skip
        assert created.code == 0, created.stderr
        assert await gql.login("new@agency.example", "secret-pass-1")
        assert _redis_answers(data_dir)

    # Stopped on exit: Redis gone, PostgreSQL's pid file removed.
    assert not _redis_answers(data_dir)
    assert not (data_dir / "postgres" / "postmaster.pid").exists()

    # Data survives a restart.
    async with _serving(data_dir) as gql:
        assert await gql.login("new@agency.example", "secret-pass-1")
