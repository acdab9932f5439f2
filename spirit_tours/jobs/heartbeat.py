"""The worker's liveness, for a probe that cannot ask it over HTTP (the worker serves nothing).

While every part of ``spirit-tours worker`` runs (the saq workers, the e-mail feed, the outbox
relay), a loop on its event loop rewrites a small file with the time; ``spirit-tours
worker-health`` says whether that time is recent, and so does ``python -m
spirit_tours.jobs.heartbeat``, the same check without the command line's imports, which the
Kubernetes exec probe and the compose healthcheck run. A blocked event loop or a part that died
stops the beats, so the orchestrator restarts the worker. An outage of PostgreSQL or Redis does
not: the parts retry on their own, and restarting every worker would not bring a server back.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path

from spirit_tours.core.clock import epoch_seconds
from spirit_tours.realtime.tasks import stop_tasks

log = logging.getLogger(__name__)

BEAT_SECONDS = 10.0
STALE_SECONDS = 60.0  # six missed beats: a busy loop is not a dead one


def heartbeat_path(data_dir: Path) -> Path:
    """Where the worker of the data folder ``data_dir`` beats."""
    return data_dir / "worker-heartbeat"


def write_beat(path: Path, now: float) -> None:
    """Record ``now``; atomically (a probe never reads half a number)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    partial.write_text(f"{now:.3f}\n")
    partial.replace(path)


def stale_reason(path: Path, now: float, max_age: float = STALE_SECONDS) -> str | None:
    """Why the worker beating in ``path`` is not alive, or None when it beat within
    ``max_age`` seconds."""
    try:
        beat = float(path.read_text().strip())
    except FileNotFoundError:
        return f"no heartbeat at {path}: the worker is not running (or not started yet)"
    except (OSError, ValueError) as error:
        return f"unreadable heartbeat at {path}: {error}"
    age = now - beat
    if age > max_age:
        return f"the worker's last heartbeat is {age:.0f} s old (more than {max_age:.0f} s)"
    if age < -max_age:  # written by another clock far ahead: do not trust it
        return f"the worker's heartbeat is {-age:.0f} s in the future"
    return None


class Heartbeat:
    """Beats into ``path`` every ``interval`` seconds while ``alive()`` says every part runs;
    removes the file when stopped, so a worker that is shutting down is not reported alive."""

    def __init__(
        self, path: Path, alive: Callable[[], bool], *, interval: float = BEAT_SECONDS
    ) -> None:
        self.path = path
        self._alive = alive
        self._interval = interval
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="worker-heartbeat")

    async def stop(self) -> None:
        if self._task is not None:
            await stop_tasks([self._task])
            self._task = None
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    async def _run(self) -> None:
        while True:
            if self._alive():
                try:
                    write_beat(self.path, epoch_seconds())
                except OSError as error:  # a full or read-only disk: the probe will say so
                    log.warning("cannot write the worker heartbeat %s: %s", self.path, error)
            else:
                log.error("a part of the worker stopped; no heartbeat until it is restarted")
            await asyncio.sleep(self._interval)


def main(argv: list[str] | None = None) -> int:
    """The exec probe: ``python -m spirit_tours.jobs.heartbeat [--max-age SECONDS]``, 0 when the
    worker of SPIRIT_DATA_DIR beat recently. The check of ``spirit-tours worker-health``, at a
    fifth of its CPU (0.3 s instead of 1.7 s here), every probe period."""
    from spirit_tours.config import get_settings

    parser = argparse.ArgumentParser(prog="python -m spirit_tours.jobs.heartbeat")
    parser.add_argument("--max-age", type=float, default=STALE_SECONDS)
    max_age = max(parser.parse_args(argv).max_age, 1.0)
    reason = stale_reason(heartbeat_path(get_settings().data_dir), epoch_seconds(), max_age)
    if reason is not None:
        print(reason, file=sys.stderr)
        return 1
    print("worker alive")
    return 0


if __name__ == "__main__":
    sys.exit(main())
