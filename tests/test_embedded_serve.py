"""`spirit-tours serve` with nothing configured: embedded PostgreSQL and Valkey, demo data,
other commands sharing the servers, data kept across restarts, servers stopped on exit (Ctrl+C,
SIGTERM) and after a crash (SIGKILL: the watchdog), an old PostgreSQL 16 folder refused."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from spirit_tours.dev.demo import DEMO_PASSWORD
from spirit_tours.dev.embedded import EmbeddedPostgres, EmbeddedRedis
from tests.cli import SCRIPT, clean_env, run_cli
from tests.email_flows import until
from tests.graphql_client import GraphQLClient

pytestmark = pytest.mark.slow  # serve on embedded servers, in subprocesses


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@asynccontextmanager
async def _serving(
    data_dir: Path, stop: signal.Signals = signal.SIGINT, exit_code: int = 0
) -> AsyncIterator[GraphQLClient]:
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
            process.send_signal(stop)
            output, _ = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == exit_code, output.decode()


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
            # next to the demo, in its (development) mode: its data folder's encryption key
            env=clean_env(SPIRIT_DATA_DIR=str(data_dir), SPIRIT_ENV="development"),
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


def _server_pids(data_dir: Path) -> set[int]:
    """PostgreSQL's postmaster and Valkey, from the pid files they write while running."""
    pids = set()
    for pidfile in (data_dir / "postgres" / "postmaster.pid", data_dir / "redis" / "redis.pid"):
        pids.add(int(pidfile.read_text().split()[0]))
    return pids


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _processes_on(data_dir: Path) -> list[str]:
    """Command lines of the processes naming the folder (postgres -D …, the watchdog)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if str(data_dir) in cmdline:
                found.append(cmdline)
    return found


async def _gone(pids: set[int], data_dir: Path, within: float) -> None:
    await until(
        lambda: not any(_alive(pid) for pid in pids) and not _processes_on(data_dir),
        within,
        "the embedded servers and the watchdog to exit",
    )


async def test_sigterm_stops_the_embedded_servers_and_a_crash_leaves_none_behind(
    tmp_path: Path,
) -> None:
    data_dir = (tmp_path / "data").resolve()
    # SIGKILL: no atexit; the watchdog notices every owner is gone and stops both servers.
    async with _serving(data_dir, stop=signal.SIGKILL, exit_code=-signal.SIGKILL) as gql:
        assert await gql.login("admin@spirit-tours.example", DEMO_PASSWORD)
        pids = _server_pids(data_dir)
        assert all(_alive(pid) for pid in pids)
    await _gone(pids, data_dir, within=30)
    assert EmbeddedPostgres(data_dir).owners() == set()  # the killed pid is still written there
    assert (data_dir / "postgres.owners").read_text() == ""

    # A stale owners file (a pid that is gone) does not keep the next run's servers alive.
    (data_dir / "postgres.owners").write_text("999999999")
    (data_dir / "redis" / "owners").write_text("999999999")
    # SIGTERM (docker stop, Kubernetes): graceful shutdown, exit code 0, both servers stopped.
    async with _serving(data_dir, stop=signal.SIGTERM) as gql:
        assert await gql.login("admin@spirit-tours.example", DEMO_PASSWORD)  # data kept
        pids = _server_pids(data_dir)
    assert not any(_alive(pid) for pid in pids)
    assert not (data_dir / "postgres" / "postmaster.pid").exists()
    await _gone(pids, data_dir, within=10)  # the watchdog leaves too


async def test_a_folder_of_an_older_postgresql_is_refused_and_kept(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    pgdata = data_dir / "postgres"
    pgdata.mkdir(parents=True)
    (pgdata / "PG_VERSION").write_text("16\n")
    (pgdata / "base").mkdir()
    # The demo's folder, used in development as the demo runs (production would first ask
    # for its secrets).
    env = clean_env(SPIRIT_DATA_DIR=str(data_dir), SPIRIT_ENV="development")
    result = await run_cli("migrate", env=env)
    assert result.code == 1
    message = " ".join(result.stderr.split())
    assert "created by PostgreSQL 16" in message
    assert "make clean-data" in message
    assert "Traceback" not in result.stderr
    assert sorted(p.name for p in pgdata.iterdir()) == ["PG_VERSION", "base"]  # untouched
    assert not (pgdata / "postmaster.pid").exists()
