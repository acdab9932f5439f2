"""The process's Prometheus registry, and how a scrape reads it with one process or several.

Counters are defined beside what they count (HTTP traffic in ``metrics``, refused webhooks in
``payments.refusals``, e-mail outcomes in ``emails.delivery``…) and all register here, so the
``/metrics`` endpoints at the top serve them without the layers below importing them.

With several server processes (``serve --workers N``) ``serve`` gives them a private folder in
``PROMETHEUS_MULTIPROC_DIR`` before they start: prometheus_client then keeps every value in a
memory-mapped file per process there, and a scrape answered by any one process sums the
counters and histograms of all of them (the dead ones' too, so totals never go back) and the
``livesum`` gauges of the living ones. Gauges must say how they combine: :data:`LIVESUM`.
Without the variable (one process: the development default, the tests' server, the worker)
the registry is read as it is.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Final

from prometheus_client import CollectorRegistry, Gauge, PlatformCollector, ProcessCollector
from prometheus_client.exposition import generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.mmap_dict import MmapedDict
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
LIVESUM: Final = "livesum"
"""The ``multiprocess_mode`` of a gauge counting what a process holds (sockets, cache entries):
the sum over the living processes."""

PROCESS = CollectorRegistry()

SERVING = Gauge(
    "spirit_serving_processes", "Server processes running (1 per process; summed: how many)",
    registry=PROCESS, multiprocess_mode="liveall",
)  # fmt: skip


def multiprocess_dir() -> Path | None:
    """The shared folder of ``serve --workers N``, or None for a process on its own."""
    value = os.environ.get(MULTIPROC_ENV)
    return Path(value) if value else None


def mark_serving() -> None:
    """This process answers /metrics: in multiprocess mode its file names its pid, which is how
    a scrape finds the living processes whose CPU and memory it reports."""
    SERVING.set(1)


def _live_pids(folder: Path) -> list[int]:
    """The server processes with a ``liveall`` file (removed by ``mark_process_dead`` when one
    exits) that said they serve (``serve``'s supervisor may have one too, at 0) and are still
    running (one killed outright leaves its file)."""
    pids = []
    for path in folder.glob("gauge_liveall_*.db"):
        pid = int(path.stem.rpartition("_")[2])
        serving = any(
            value == 1 and "spirit_serving_processes" in key
            for key, value, _, _ in MmapedDict.read_all_values_from_file(str(path))  # type: ignore[no-untyped-call]
        )
        if serving and Path(f"/proc/{pid}").exists():
            pids.append(pid)
    return sorted(pids)


def _fixed(pid: int) -> Callable[[], int]:
    return lambda: pid


class PerProcessCollector(Collector):
    """The standard ``process_*`` metrics (CPU seconds, resident and virtual memory, open and
    maximum file descriptors, start time) of every living server process, labelled ``pid``:
    prometheus_client's ProcessCollector reads only the process it runs in, which in
    multiprocess mode is whichever one the scrape reached. Sum over ``pid`` for the server."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def collect(self) -> Iterator[Metric]:
        merged: dict[str, Metric] = {}
        for pid in _live_pids(self.folder):
            collector = ProcessCollector(pid=_fixed(pid), registry=None)
            for family in collector.collect():
                target = merged.setdefault(
                    family.name, Metric(family.name, family.documentation, family.type)
                )
                for sample in family.samples:
                    labels = {**sample.labels, "pid": str(pid)}
                    target.add_sample(sample.name, labels, sample.value)
        yield from merged.values()


class _Platform(Collector):
    """``python_info``: the interpreter, the same for every process."""

    def collect(self) -> Iterable[Metric]:
        return PlatformCollector(registry=None).collect()


_SINGLE_ADDED = False


def _single_registry() -> CollectorRegistry:
    global _SINGLE_ADDED  # the standard collectors join the registry once
    if not _SINGLE_ADDED:
        ProcessCollector(registry=PROCESS)
        PROCESS.register(_Platform())
        _SINGLE_ADDED = True
    return PROCESS


def exposition() -> bytes:
    """Every metric of this server in the text format: this process's, or in multiprocess mode
    those of all the server's processes combined."""
    folder = multiprocess_dir()
    if folder is None:
        return generate_latest(_single_registry())
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(folder))  # type: ignore[no-untyped-call]
    registry.register(PerProcessCollector(folder))
    registry.register(_Platform())
    return generate_latest(registry)
