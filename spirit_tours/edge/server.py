"""The one uvicorn configuration of this server, for ``spirit-tours serve``, the tests' live
server and the benchmarks, so that all of them run with the same edge limits."""

from __future__ import annotations

import sys
from typing import Any

import uvicorn
from prometheus_client import multiprocess
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import Multiprocess

from spirit_tours.config import Settings
from spirit_tours.core.metrics import multiprocess_dir
from spirit_tours.edge.protocol import EdgeConfig, EdgeHttpToolsProtocol
from spirit_tours.edge.websocket import LeanWebSocketProtocol
from spirit_tours.logs.setup import logging_config
from spirit_tours.security_headers import serves_https

WS_MAX_SIZE = 64 * 1024
WORKER_HEALTHCHECK_SECONDS = 60


def server_config(app: Any, settings: Settings, **options: Any) -> EdgeConfig:
    """uvicorn's settings with the edge limits of ``settings``; ``options`` (host, port,
    workers, log_level, …) are passed to :class:`uvicorn.Config` and override the defaults."""
    defaults: dict[str, Any] = {
        "http": EdgeHttpToolsProtocol,
        "ws": LeanWebSocketProtocol,
        "ws_max_size": WS_MAX_SIZE,
        # Off by default: see README, Live updates (Compression).
        "ws_per_message_deflate": settings.websocket_compression,
        # A vanished client is dropped within 25 + 30 s: presence turns it offline inside a
        # minute, with room for a busy loop.
        "ws_ping_interval": 25,
        "ws_ping_timeout": 30,
        # Only used by uvicorn's h11 protocol (not ours); kept in line with our head limit.
        "h11_max_incomplete_event_size": settings.max_header_bytes,
        "log_level": settings.log_level.lower(),
        # Ours, applied by uvicorn in this process and in each worker process it starts (the
        # tests' in-process server passes None: pytest keeps its own).
        "log_config": logging_config(settings.logs_as, settings.log_level),
        # A worker process answers uvicorn's health pings only once it has imported the app;
        # on a busy host that takes longer than uvicorn's 5 s, and the supervisor would kill
        # and restart healthy workers in a loop.
        "timeout_worker_healthcheck": WORKER_HEALTHCHECK_SECONDS,
    }
    return EdgeConfig(
        app,
        max_header_bytes=settings.max_header_bytes,
        request_head_timeout=settings.request_head_timeout_seconds,
        request_body_timeout=settings.request_body_timeout_seconds,
        https=serves_https(settings.public_url),
        **(defaults | options),
    )


class _Supervisor(Multiprocess):
    """uvicorn's supervisor, telling prometheus_client when a worker process has gone (died
    and replaced, or retired by a SIGHUP's restart, or stopped with the server): its ``livesum``
    gauges (open WebSockets, cache entries) stop counting, its counters still do."""

    def _pids(self) -> set[int]:
        return {process.pid for process in self.processes if process.pid is not None}

    def _reap(self, before: set[int]) -> None:
        folder = multiprocess_dir()
        if folder is not None:
            for pid in before - self._pids():
                multiprocess.mark_process_dead(pid, str(folder))  # type: ignore[no-untyped-call]

    def keep_subprocess_alive(self) -> None:
        before = self._pids()
        super().keep_subprocess_alive()
        self._reap(before)

    def restart_all(self) -> None:
        before = self._pids()
        super().restart_all()
        self._reap(before)

    def run(self) -> None:
        try:
            super().run()
        finally:
            every = self._pids()
            self.processes = []
            self._reap(every)


def run(config: EdgeConfig) -> None:
    """``uvicorn.run`` for a ready configuration: one process, or ``config.workers``. As there,
    the SIGINT that uvicorn re-raises after a graceful shutdown ends it quietly, and a server
    that could not start exits with uvicorn's startup-failure status."""
    server = uvicorn.Server(config)
    try:
        if config.workers > 1:
            _Supervisor(config, sockets=[config.bind_socket()]).run()
        else:
            server.run()
    except KeyboardInterrupt:
        pass
    if config.workers == 1 and not server.started:
        sys.exit(STARTUP_FAILURE)
