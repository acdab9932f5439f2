"""saq's web monitor, mounted at /ops/queues behind ADMIN sign-in (see app.py).

saq keeps the monitor's queues in a module-level registry; the app fills it once the queue
connections exist (after the embedded Redis has started)."""

from __future__ import annotations

from collections.abc import Iterable

from saq import Queue
from saq.web import starlette as saq_starlette
from starlette.applications import Starlette

MOUNT = "/ops/queues"


def queue_monitor() -> Starlette:
    app: Starlette = saq_starlette.saq_web(MOUNT, queues=[])
    return app


def show_queues(queues: Iterable[Queue]) -> None:
    saq_starlette.QUEUES.clear()
    saq_starlette.QUEUES.update({queue.name: queue for queue in queues})
