"""Payment benchmark: payments per minute through the real API, from ``startPayment`` to the
booking credited, with the database checked at the end.

The run:

1. A scratch database (migrated, the demo data) with ``--payers`` CLIENT payers, each owning a
   booking that awaits its deposit (``benchmarks.payments_seed``: bulk rows through the
   persistence layer; access tokens minted as the server verifies them, untimed).
2. The real server as a subprocess, ``spirit-tours serve --workers N`` in development (the
   offline gateway exists only there) with every secret set explicitly, on the local
   PostgreSQL and Redis (``SPIRIT_BENCH_REDIS_URL``, default db 13, flushed before and after),
   and one ``spirit-tours worker`` (the outbox relay and the e-mail feed: a payment queues a
   ``payment_received`` mail, the deposit a ``booking_confirmed`` one) sending to an aiosmtpd
   sink in a process of its own. The worker runs under ``nice`` (``--worker-nice``, default
   10): in production it has machines of its own, here it shares two cores with the server,
   and rendering the mail (a PDF voucher per confirmed booking) would otherwise take about
   half of them from the payments; it still gets every idle cycle, and the run waits for it
   to queue every ``payment_received`` mail, reporting how far behind it was.
3. Baselines on the same server, from the same load-generator process, before the payments:
   ``{ __typename }`` (the HTTP and GraphQL floor: no database) and ``{ viewer { id } }`` as a
   payer (authenticated, one read), each with ``Cache-Control: no-cache``.
4. The payers, ``--concurrency`` in flight, from a load-generator process of their own
   (``benchmarks.payments_load``, which documents how the webhooks are delivered: duplicated,
   concurrent, out of order, declines before successes).
5. The figures: payments/minute from the first ``startPayment`` to the last booking credited,
   and in the steady state (between 10 % and 90 % of the payments credited); latency per
   payment (p50/p95/p99); the server's CPU per payment (its processes' utime + stime from
   /proc) and the worker's; the same HTTP requests per second as the baselines, as a ratio.
6. The integrity checks (``benchmarks.payments_checks``) and the mails queued; the run exits
   non-zero when any fails.

``--smoke`` runs a tiny instance (a test of the suite runs it and reads the checks).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import multiprocessing
import os
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from redis.asyncio import Redis

from benchmarks.email import Sink, start_sink
from benchmarks.keys import KEYRING
from benchmarks.live_processes import cpu_seconds, free_port, stop
from benchmarks.loadgen import Figures, Request, run_load_process
from benchmarks.payments_checks import Integrity, check, mails
from benchmarks.payments_load import LoadResult, PayerSpec, run_payers
from benchmarks.payments_seed import prepare_database
from spirit_tours.dev import servers as devservers
from spirit_tours.persistence.database import create_engine, create_session_factory

REDIS_URL = os.environ.get("SPIRIT_BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
HOST = "127.0.0.1"
JWT_SECRET = "benchmark-jwt-secret-" + "x" * 32
EMAIL_SECRET = "benchmark-email-secret-" + "x" * 32
OFFLINE_SECRET = "benchmark-offline-payments-secret-" + "x" * 32
GOAL_PER_MINUTE = 6000
MAIL_WAIT_SECONDS = 60.0
STOP_SECONDS = 15.0


def _environment(database_url: str, port: int, smtp_port: int, data_dir: str) -> dict[str, str]:
    return {
        **os.environ,
        "SPIRIT_ENV": "development",
        "SPIRIT_DATABASE_URL": database_url,
        "SPIRIT_REDIS_URL": REDIS_URL,
        "SPIRIT_JWT_SECRET": JWT_SECRET,
        "SPIRIT_EMAIL_SECRET": EMAIL_SECRET,
        "SPIRIT_OFFLINE_PAYMENTS_SECRET": OFFLINE_SECRET,
        "SPIRIT_ENCRYPTION_KEYS": os.environ["SPIRIT_ENCRYPTION_KEYS"],  # benchmarks.keys
        "SPIRIT_PUBLIC_URL": f"http://{HOST}:{port}",
        "SPIRIT_SMTP_URL": f"smtp://127.0.0.1:{smtp_port}",
        "SPIRIT_DATA_DIR": data_dir,
        "SPIRIT_SEED_DEMO": "false",
        "SPIRIT_RUN_WORKERS": "false",  # the worker process runs them
        "SPIRIT_LOG_LEVEL": "warning",
        # Keep the rate limiter's round trip in the measurement, never its refusals.
        "SPIRIT_RATE_LIMIT_POINTS": str(10**12),
    }


def _command(*args: str) -> list[str]:
    return [str(Path(sys.executable).with_name("spirit-tours")), *args]


def _tail(path: Path, lines: int = 30) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGINT)
    try:
        process.wait(STOP_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


async def _wait_ready(base_port: int, server: subprocess.Popen[bytes], log: Path) -> None:
    """Ready on a run of answers, so every worker process of the server is up."""
    import httpx

    answered, deadline = 0, time.monotonic() + 120
    async with httpx.AsyncClient(base_url=f"http://{HOST}:{base_port}") as http:
        while answered < 16 and time.monotonic() < deadline:
            if server.poll() is not None:
                raise RuntimeError(f"the server exited with {server.returncode}:\n{_tail(log)}")
            try:
                ready = (await http.get("/readyz")).status_code == 200
            except httpx.TransportError:
                ready = False
            answered = answered + 1 if ready else 0
            if not ready:
                await asyncio.sleep(0.2)
    if answered < 16:
        raise RuntimeError(f"the server never became ready:\n{_tail(log)}")


async def _flush_redis() -> None:
    redis = Redis.from_url(REDIS_URL)
    try:
        await redis.flushdb()
    finally:
        await redis.aclose()


@dataclass(frozen=True)
class Baseline:
    name: str
    figures: Figures
    server_cpu: float

    @property
    def cpu_ms(self) -> float:
        return self.server_cpu * 1000 / max(self.figures.requests, 1)


def _baseline(
    pool: ProcessPoolExecutor, server_pid: int, port: int, name: str, request: Request,
    connections: int, seconds: float,
) -> Baseline:  # fmt: skip
    pool.submit(run_load_process, HOST, port, request, connections, 0.5).result()  # warm-up
    before = cpu_seconds(server_pid)
    figures = pool.submit(run_load_process, HOST, port, request, connections, seconds).result()
    return Baseline(name, figures, cpu_seconds(server_pid) - before)


def _graphql(query: str, token: str | None = None) -> Request:
    headers = {"Content-Type": "application/json", "Cache-Control": "no-cache"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return Request("POST", "/graphql", headers, json.dumps({"query": query}).encode())


def _percentile(values: list[float], p: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def _steady(result: LoadResult) -> tuple[int, float]:
    """Payments credited between 10 % and 90 % of them, and the seconds that took."""
    times = sorted(result.credit_times)
    if len(times) < 10:
        return len(times), (times[-1] - result.first_start) if times else math.nan
    low, high = len(times) // 10, len(times) * 9 // 10
    return high - low, times[high] - times[low]


async def _wait_mails(database_url: str, credited: int) -> tuple[int, int, float]:
    """Until the worker has queued one ``payment_received`` per credited payment (or the
    wait runs out): rows, distinct sources, seconds waited."""
    engine = create_engine(database_url, pool_size=1, keyring=KEYRING)
    started = time.monotonic()
    try:
        sessions = create_session_factory(engine)
        while True:
            async with sessions() as session:
                rows, distinct = await mails(session)
            if rows >= credited or time.monotonic() - started > MAIL_WAIT_SECONDS:
                return rows, distinct, time.monotonic() - started
            await asyncio.sleep(0.5)
    finally:
        await engine.dispose()


async def _integrity(database_url: str, expected: int) -> Integrity:
    engine = create_engine(database_url, pool_size=1, keyring=KEYRING)
    try:
        async with create_session_factory(engine)() as session:
            return await check(session, expected)
    finally:
        await engine.dispose()


@dataclass(frozen=True)
class Run:
    result: LoadResult
    server_cpu: float
    worker_cpu: float
    baselines: list[Baseline]
    integrity: Integrity
    mails: tuple[int, int, float]
    sink_received: int


def _measure(
    database_url: str, payers: list[PayerSpec], *, workers: int, concurrency: int,
    connections: int, seconds: float | None, baseline_seconds: float, sink: Sink,
    data_dir: str, worker_nice: int,
) -> Run:  # fmt: skip
    port = free_port()
    env = _environment(database_url, port, sink.port, data_dir)
    server_log = Path(data_dir) / "serve.log"
    worker_log = Path(data_dir) / "worker.log"
    context = multiprocessing.get_context("spawn")
    with server_log.open("wb") as out:
        server = subprocess.Popen(  # noqa: S603 - our own command
            _command("serve", "--host", HOST, "--port", str(port), "--workers", str(workers)),
            env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )  # fmt: skip
    worker: subprocess.Popen[bytes] | None = None
    try:
        asyncio.run(_wait_ready(port, server, server_log))
        with worker_log.open("wb") as out:
            worker = subprocess.Popen(  # noqa: S603 - our own command
                _command("worker", "--concurrency", "4"),
                env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            )  # fmt: skip
        os.setpriority(os.PRIO_PROCESS, worker.pid, worker_nice)
        with ProcessPoolExecutor(1, mp_context=context) as pool:
            baselines = [
                _baseline(pool, server.pid, port, "{ __typename }", _graphql("{ __typename }"),
                          connections, baseline_seconds),
                _baseline(pool, server.pid, port, "{ viewer { id } } as a payer",
                          _graphql("{ viewer { id } }", payers[0].token), connections,
                          baseline_seconds),
            ]  # fmt: skip
            if worker.poll() is not None:
                raise RuntimeError(f"the worker exited:\n{_tail(worker_log)}")
            server_before, worker_before = cpu_seconds(server.pid), cpu_seconds(worker.pid)
            sink_before = sink.count
            result = pool.submit(
                run_payers, HOST, port, payers, OFFLINE_SECRET, concurrency, connections, seconds
            ).result()
            server_cpu = cpu_seconds(server.pid) - server_before
            worker_cpu_so_far = cpu_seconds(worker.pid) - worker_before
        mail_counts = asyncio.run(_wait_mails(database_url, result.credited))
        worker_cpu = cpu_seconds(worker.pid) - worker_before
        if server.poll() is not None:
            raise RuntimeError(f"the server exited:\n{_tail(server_log)}")
        integrity = asyncio.run(_integrity(database_url, len(result.payment_ids)))
        del worker_cpu_so_far
        return Run(result, server_cpu, worker_cpu, baselines, integrity, mail_counts,
                   sink.count - sink_before)  # fmt: skip
    finally:
        if worker is not None:
            _stop(worker)
        _stop(server)


def _report(run: Run, *, workers: int, requests_floor: Baseline) -> list[str]:
    result = run.result
    wall = result.last_credit - result.first_start if result.credited else math.nan
    per_minute = result.credited * 60 / wall if wall > 0 else math.nan
    steady_count, steady_seconds = _steady(result)
    steady = steady_count * 60 / steady_seconds if steady_seconds > 0 else math.nan
    requests_per_payment = result.requests / max(result.started, 1)
    lines = ["", "case                                   rate            p50 ms   p95 ms   p99 ms"
             "   server CPU/item   vs floor"]  # fmt: skip
    for baseline in run.baselines:
        figures = baseline.figures
        ratio = figures.rps / requests_floor.figures.rps
        lines.append(
            f"baseline {baseline.name:<29} {figures.rps:>8,.0f} req/s  "
            f"{figures.percentile(50):>7.1f}  {figures.percentile(95):>7.1f}  "
            f"{figures.percentile(99):>7.1f}   {baseline.cpu_ms:>8.2f} ms      {ratio:.2f}x"
            + (f"  ({figures.errors} errors: {figures.first_error})" if figures.errors else "")
        )
    cpu_per_payment = run.server_cpu * 1000 / max(result.credited, 1)
    payment_rps = result.requests / wall if wall > 0 else math.nan
    p50, p95, p99 = (_percentile(result.latencies_ms, p) for p in (50, 95, 99))
    lines.append(
        f"payments, first start → last credit  {per_minute:>8,.0f} /min   "
        f"{p50:>7.1f}  {p95:>7.1f}  {p99:>7.1f}   {cpu_per_payment:>8.2f} ms"
        f"      {payment_rps / requests_floor.figures.rps:.2f}x (requests/s)"
    )
    lines.append(f"payments, steady 10 % → 90 %          {steady:>8,.0f} /min")
    lines.append(
        f"startPayment answered: p50 {_percentile(result.start_latencies_ms, 50):.1f} ms, "
        f"p95 {_percentile(result.start_latencies_ms, 95):.1f} ms"
    )
    lines.append(
        f"{result.started} payments started, {result.credited} credited in {wall:.1f} s; "
        f"{result.requests} HTTP requests ({requests_per_payment:.2f} per payment, "
        f"{payment_rps:,.0f}/s), {result.retries} deliveries and {result.start_retries} "
        f"startPayment retried, {result.errors} errors"
        + (f" (first: {result.first_error})" if result.first_error else "")
    )
    lines.append(
        f"server ({workers} processes): {run.server_cpu:.1f} s CPU = {cpu_per_payment:.2f} ms per "
        f"payment = {cpu_per_payment / requests_floor.cpu_ms:.1f}x a floor request; worker: "
        f"{run.worker_cpu:.1f} s CPU = {run.worker_cpu * 1000 / max(result.credited, 1):.2f} ms "
        "per payment (mail and relay, until its mails were queued)"
    )
    lines.append(
        "scenarios: " + ", ".join(f"{n} {name}" for name, n in sorted(result.scenarios.items()))
    )
    lines.append(
        "deliveries answered: "
        + ", ".join(f"{n} {name}" for name, n in sorted(result.outcomes.items()))
    )
    rows, distinct, waited = run.mails
    lines.append(
        f"payment_received mails queued: {rows} ({distinct} distinct) for {result.credited} "
        f"credited payments, {waited:.1f} s after the last credit; {run.sink_received} messages "
        "reached the SMTP sink meanwhile"
    )
    lines.append("integrity (from the database):")
    lines += run.integrity.lines()
    return lines


def main(
    payers: int = 3000,
    concurrency: int = 100,
    workers: int = 2,
    seconds: float | None = None,
    baseline_seconds: float = 5.0,
    connections: int | None = None,
    worker_nice: int = 10,
) -> None:
    if min(payers, concurrency, workers) < 1:
        raise SystemExit("payers, concurrency and workers must be positive")
    connections = connections or concurrency
    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    print(
        f"Payment benchmark: {payers} payers, {concurrency} in flight over {connections} "
        f"keep-alive connections from one load process; `spirit-tours serve --workers "
        f"{workers}` + one `spirit-tours worker` (nice {worker_nice}); {os.cpu_count()} cores; "
        f"Redis {REDIS_URL}",
        flush=True,
    )
    asyncio.run(_flush_redis())
    database_url, seeded = asyncio.run(prepare_database(payers, JWT_SECRET))
    print(f"seeded {len(seeded)} payers and bookings in {time.perf_counter() - started:.1f} s",
          flush=True)  # fmt: skip
    specs = [PayerSpec(payer.token, payer.booking_id) for payer in seeded]
    context = multiprocessing.get_context("spawn")
    sink: Sink | None = None
    try:
        sink = start_sink(context)
        with tempfile.TemporaryDirectory(prefix="spirit-bench-payments-") as data_dir:
            run = _measure(
                database_url, specs, workers=workers, concurrency=concurrency,
                connections=connections, seconds=seconds, baseline_seconds=baseline_seconds,
                sink=sink, data_dir=data_dir, worker_nice=worker_nice,
            )  # fmt: skip
    finally:
        if sink is not None:
            stop(sink.process)
        asyncio.run(devservers.drop_database(database_url))
        asyncio.run(_flush_redis())
    for line in _report(run, workers=workers, requests_floor=run.baselines[0]):
        print(line)
    result = run.result
    wall = result.last_credit - result.first_start if result.credited else math.nan
    rate = result.credited * 60 / wall if wall > 0 else 0.0
    print(
        f"Goal: {GOAL_PER_MINUTE:,} payments/minute: {rate:,.0f} ({rate / GOAL_PER_MINUTE:.2f}x). "
        f"Run took {time.perf_counter() - started:.0f} s; 1-minute load average "
        f"{load_before:.2f} before, {os.getloadavg()[0]:.2f} after"
    )
    failures = run.integrity.failures()
    rows, distinct, _ = run.mails
    if rows > result.credited or distinct != rows:
        failures.append("payment_received mails (one per credited payment at most)")
    if result.errors:
        failures.append("load generator errors")
    if failures:
        print("FAILED: " + ", ".join(failures))
        raise SystemExit(1)
    print("integrity: all checks passed")


def smoke() -> None:
    """A tiny run for the test suite: every scenario, checks included. The worker is not niced
    here: on a machine busy with the rest of the suite a niced worker can starve past the mail
    wait, and the run is about correctness, not the share of the cores."""
    with contextlib.suppress(KeyError):
        del os.environ["SPIRIT_BENCH_SMOKE"]
    main(payers=40, concurrency=10, workers=1, baseline_seconds=0.5, worker_nice=0)
