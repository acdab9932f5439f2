"""/metrics of ``serve --workers 2``: whichever process answers a scrape reports the sum over
both (prometheus_client's multiprocess mode), with the CPU and memory of each, by pid."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.mmap_dict import MmapedDict
from prometheus_client.parser import text_string_to_metric_families

from spirit_tours.config import Settings
from spirit_tours.emails.queueing import enqueue_messages, queue_email
from spirit_tours.jobs.email import email_queues
from spirit_tours.persistence.database import SessionFactory
from tests.cli import SCRIPT, clean_env
from tests.conftest import METRICS_TOKEN, TEST_ENCRYPTION_KEYS
from tests.test_cli import _descendants, _env, free_port

AUTH = {"Authorization": f"Bearer {METRICS_TOKEN}"}


def _samples(body: str, name: str) -> list[tuple[dict[str, str], float]]:
    return [
        (sample.labels, sample.value)
        for family in text_string_to_metric_families(body)
        for sample in family.samples
        if sample.name == name
    ]


def _healthz_count(body: str) -> float:
    return sum(
        value
        for labels, value in _samples(body, "spirit_http_requests_total")
        if labels["route"] == "/healthz"
    )


def _metrics_folder(pid: int) -> Path | None:
    """The private folder serve gave its workers, read from a worker's environment."""
    for entry in (Path(f"/proc/{pid}/environ").read_bytes()).split(b"\0"):
        key, _, value = entry.partition(b"=")
        if key == b"PROMETHEUS_MULTIPROC_DIR":
            return Path(value.decode())
    return None


def _served_by(folder: Path, pid: int) -> float:
    """The /healthz requests one worker counted, from its own file: who served what."""
    path = folder / f"counter_{pid}.db"
    if not path.exists():
        return 0
    return sum(
        value
        for key, value, _, _ in MmapedDict.read_all_values_from_file(str(path))  # type: ignore[no-untyped-call]
        if "spirit_http_requests" in key and '"/healthz"' in key
    )


@contextlib.asynccontextmanager
async def _serve(
    database_url: str, redis_url: str, tmp_path: Path
) -> AsyncIterator[tuple[int, str]]:
    port = free_port()
    env = _env(database_url, redis_url) | {
        "SPIRIT_JWT_SECRET": secrets.token_urlsafe(48),
        "SPIRIT_EMAIL_SECRET": secrets.token_urlsafe(48),
        "SPIRIT_METRICS_TOKEN": METRICS_TOKEN,
        "SPIRIT_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "SPIRIT_DATA_DIR": str(tmp_path),
        "SPIRIT_RUN_WORKERS": "false",
    }
    process = await asyncio.create_subprocess_exec(
        SCRIPT, "serve", "--port", str(port), "--workers", "2", env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=10) as http:
            for _ in range(1200):  # the workers import the app: slow on a busy machine
                assert process.returncode is None, "serve exited early"
                with contextlib.suppress(httpx.TransportError):
                    if (await http.get("/metrics", headers=AUTH)).status_code == 200:
                        body = (await http.get("/metrics", headers=AUTH)).text
                        if sum(v for _, v in _samples(body, "spirit_serving_processes")) == 2:
                            break
                await asyncio.sleep(0.1)
            else:
                raise AssertionError("serve did not become ready")
        yield process.pid, base
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = await asyncio.wait_for(process.communicate(), 120)
        assert process.returncode == 0, output.decode()


async def _healthz(base: str) -> None:
    """One request on its own connection: the kernel hands it to either process."""
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        assert (await http.get("/healthz", headers={"Connection": "close"})).status_code == 200


@pytest.mark.slow  # runs the console script's server, with two worker processes
async def test_metrics_sum_over_both_worker_processes(
    database_url: str, redis_url: str, tmp_path: Path
) -> None:
    async with _serve(database_url, redis_url, tmp_path) as (pid, base):
        async with httpx.AsyncClient(base_url=base, timeout=10) as http:
            body = (await http.get("/metrics", headers=AUTH)).text
        workers = sorted(int(labels["pid"]) for labels, _ in
                         _samples(body, "process_cpu_seconds_total"))  # fmt: skip
        assert len(workers) == 2, workers
        assert set(workers) <= _descendants(pid)  # serve's two servers
        folder = _metrics_folder(workers[0])
        assert folder is not None
        assert folder.is_dir()
        sent = 0
        for _ in range(20):  # until each process has served some
            await asyncio.gather(*(_healthz(base) for _ in range(10)))
            sent += 10
            if all(_served_by(folder, worker) > 0 for worker in workers):
                break
        assert all(_served_by(folder, worker) > 0 for worker in workers)
        assert sum(_served_by(folder, worker) for worker in workers) == sent
        async with httpx.AsyncClient(base_url=base, timeout=10) as http:
            for _ in range(8):  # fresh connections: each scrape may reach either process
                body = (await http.get("/metrics", headers=AUTH | {"Connection": "close"})).text
                assert _healthz_count(body) == sent
                # one series per living process, labelled pid; the interpreter once
                cpu = _samples(body, "process_cpu_seconds_total")
                assert sorted(int(labels["pid"]) for labels, _ in cpu) == workers
                assert len(_samples(body, "process_resident_memory_bytes")) == 2
                assert len(_samples(body, "python_info")) == 1

            # A worker that dies is replaced: what it counted still counts, its memory does
            # not, and the open WebSockets gauge counts only the living.
            dead = workers[0]
            os.kill(dead, signal.SIGKILL)
            for _ in range(1200):
                body = (await http.get("/metrics", headers=AUTH | {"Connection": "close"})).text
                pids = {int(labels["pid"]) for labels, _ in
                        _samples(body, "process_cpu_seconds_total")}  # fmt: skip
                if dead not in pids and len(pids) == 2:
                    break
                await asyncio.sleep(0.1)
            else:
                raise AssertionError("the dead worker was not replaced")
            assert not (folder / f"gauge_liveall_{dead}.db").exists()  # mark_process_dead
            assert sum(v for _, v in _samples(body, "spirit_serving_processes")) == 2
            assert _healthz_count(body) == sent
    assert not folder.exists()  # serve removes its folder


WELCOME = {"name": "Ana", "login_url": "https://app.spirit-tours.example/login"}


@pytest.mark.slow  # runs the console script's job worker
async def test_the_worker_serves_its_own_metrics_with_the_token(
    settings: Settings, sessions: SessionFactory, tmp_path: Path
) -> None:
    """The job worker is a process of its own (its own pod): its /metrics reports what its
    jobs did — here the delivery of one message, to its outbox folder."""
    assert settings.database_url
    assert settings.redis_url
    port = free_port()
    env = clean_env(
        SPIRIT_ENV="test",
        SPIRIT_DATABASE_URL=settings.database_url,
        SPIRIT_REDIS_URL=settings.redis_url,
        SPIRIT_DATA_DIR=str(tmp_path),
        SPIRIT_ENCRYPTION_KEYS=TEST_ENCRYPTION_KEYS,
        SPIRIT_JWT_SECRET=settings.jwt_secret.get_secret_value(),
        SPIRIT_EMAIL_SECRET=settings.email_secret.get_secret_value(),
        SPIRIT_METRICS_TOKEN=METRICS_TOKEN,
        SPIRIT_WORKER_METRICS_PORT=str(port),
    )
    worker = await asyncio.create_subprocess_exec(
        SCRIPT, "worker", "--concurrency", "1", env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    sent = {"template": "welcome", "outcome": "sent"}
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            for _ in range(1200):
                assert worker.returncode is None, "the worker exited early"
                with contextlib.suppress(httpx.TransportError):
                    if (await http.get("/metrics", headers=AUTH)).status_code == 200:
                        break
                await asyncio.sleep(0.1)
            else:
                raise AssertionError("the worker's /metrics did not answer")
            assert (await http.get("/metrics")).status_code == 401
            wrong = {"Authorization": "Bearer not-the-token"}
            assert (await http.get("/metrics", headers=wrong)).status_code == 401
            assert (await http.get("/", headers=AUTH)).status_code == 404

            async with sessions() as session, session.begin():
                queued = await queue_email(
                    session, template="welcome", to="ana@example.com", locale="en",
                    context=WELCOME, message_id_domain="spirit-tours.example",
                )  # fmt: skip
            assert queued is not None
            queues = email_queues(settings.redis_url)
            try:
                await enqueue_messages(queues, [queued])
            finally:
                for queue in queues.values():
                    await queue.disconnect()
            for _ in range(600):
                body = (await http.get("/metrics", headers=AUTH)).text
                outcomes = [v for labels, v in _samples(body, "spirit_email_outcomes_total")
                            if labels == sent]  # fmt: skip
                if outcomes == [1.0]:
                    break
                await asyncio.sleep(0.1)
            else:
                raise AssertionError(body)
            durations = _samples(body, "spirit_job_duration_seconds_count")
            assert sum(value for _, value in durations) >= 1
            assert len(_samples(body, "process_cpu_seconds_total")) == 1
    finally:
        worker.send_signal(signal.SIGTERM)
        output, _ = await asyncio.wait_for(worker.communicate(), 60)
    assert worker.returncode == 0, output.decode()
