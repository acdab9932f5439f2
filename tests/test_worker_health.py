"""The worker's liveness: a real ``spirit-tours worker`` beats while it runs, and the probe of
its Kubernetes Deployment (and ``spirit-tours worker-health``) says alive; a frozen worker, a
part that died, or a stopped worker is reported dead."""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from pathlib import Path

import pytest
import yaml

from spirit_tours.config import Settings
from spirit_tours.core.clock import epoch_seconds
from spirit_tours.jobs.heartbeat import Heartbeat, heartbeat_path, stale_reason, write_beat
from spirit_tours.jobs.worker import JobRunner
from tests.cli import SCRIPT, clean_env
from tests.conftest import TEST_ENCRYPTION_KEYS

ROOT = Path(__file__).resolve().parent.parent
WORKER_MANIFEST = ROOT / "deploy" / "kubernetes" / "base" / "worker-deployment.yaml"


def _probe(kind: str) -> list[str]:
    """The worker Deployment's probe command, with this environment's Python."""
    deployment = yaml.safe_load(WORKER_MANIFEST.read_text())
    command: list[str] = deployment["spec"]["template"]["spec"]["containers"][0][kind]["exec"][
        "command"
    ]
    assert command[0] == "python"
    return [sys.executable, *command[1:]]


async def _run(command: list[str], env: dict[str, str]) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        *command, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    output, _ = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, output.decode()


async def _until(command: list[str], env: dict[str, str], healthy: bool, seconds: float) -> str:
    deadline = time.monotonic() + seconds
    while True:
        code, output = await _run(command, env)
        if (code == 0) is healthy:
            return output
        assert time.monotonic() < deadline, f"{command}: still {output!r} after {seconds} s"
        await asyncio.sleep(0.5)


def test_a_beat_is_fresh_until_it_is_older_than_the_limit(tmp_path: Path) -> None:
    path = heartbeat_path(tmp_path)
    assert "no heartbeat" in (stale_reason(path, 1000.0) or "")
    write_beat(path, 1000.0)
    assert stale_reason(path, 1000.0) is None
    assert stale_reason(path, 1059.0, max_age=60) is None
    assert "61 s old" in (stale_reason(path, 1061.0, max_age=60) or "")
    assert "in the future" in (stale_reason(path, 900.0, max_age=60) or "")
    path.write_text("not a time")
    assert "unreadable" in (stale_reason(path, 1000.0) or "")
    assert list(tmp_path.iterdir()) == [path]  # the atomic write left no partial file


async def test_the_heartbeat_stops_when_a_part_of_the_worker_dies(
    settings: Settings, tmp_path: Path
) -> None:
    assert settings.database_url
    assert settings.redis_url
    runner = JobRunner(
        settings.model_copy(update={"data_dir": tmp_path}), settings.database_url,
        settings.redis_url, concurrency=1,
    )  # fmt: skip
    assert not runner.alive()  # not started
    path = heartbeat_path(tmp_path)
    heartbeat = Heartbeat(path, runner.alive, interval=0.05)
    await runner.start()
    try:
        heartbeat.start()
        assert runner.alive()
        deadline = time.monotonic() + 10
        while stale_reason(path, epoch_seconds(), max_age=1) is not None:
            assert time.monotonic() < deadline, stale_reason(path, epoch_seconds(), max_age=1)
            await asyncio.sleep(0.05)
        await runner.feed.stop()  # the e-mail feed's loop ended: only a restart brings it back
        assert not runner.alive()
        last = path.read_text()
        await asyncio.sleep(0.3)
        assert path.read_text() == last  # no more beats
    finally:
        await heartbeat.stop()
        await runner.stop()
    assert not path.exists()  # a stopped worker is not reported alive


@pytest.mark.slow  # a worker process, frozen and stopped
async def test_the_probe_follows_a_real_worker(settings: Settings, tmp_path: Path) -> None:
    assert settings.database_url
    assert settings.redis_url
    env = clean_env(
        SPIRIT_ENV="test",
        SPIRIT_DATABASE_URL=settings.database_url,
        SPIRIT_REDIS_URL=settings.redis_url,
        SPIRIT_DATA_DIR=str(tmp_path),
        SPIRIT_ENCRYPTION_KEYS=TEST_ENCRYPTION_KEYS,
        SPIRIT_JWT_SECRET=settings.jwt_secret.get_secret_value(),
        SPIRIT_EMAIL_SECRET=settings.email_secret.get_secret_value(),
    )
    liveness, startup = _probe("livenessProbe"), _probe("startupProbe")
    assert (await _run(startup, env))[0] == 1  # nothing runs yet
    worker = await asyncio.create_subprocess_exec(
        SCRIPT, "worker", "--concurrency", "1", env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        assert "worker alive" in await _until(startup, env, healthy=True, seconds=90)
        assert "worker alive" in await _until(liveness, env, healthy=True, seconds=5)
        code, output = await _run([SCRIPT, "worker-health"], env)
        assert (code, output.strip()) == (0, "worker alive")

        worker.send_signal(signal.SIGSTOP)  # a blocked event loop: no more beats
        frozen = [*liveness[:3], "--max-age", "2"]
        assert "s old" in await _until(frozen, env, healthy=False, seconds=30)
        code, output = await _run([SCRIPT, "worker-health", "--max-age", "2"], env)
        assert code == 1
        assert "s old" in output
        worker.send_signal(signal.SIGCONT)
        await _until(frozen, env, healthy=True, seconds=30)

        worker.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(worker.wait(), 60) == 0
        code, output = await _run(liveness, env)
        assert code == 1
        assert "no heartbeat" in output
    finally:
        if worker.returncode is None:
            worker.send_signal(signal.SIGCONT)
            worker.kill()
            await worker.wait()
