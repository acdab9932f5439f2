"""Run the ``spirit-tours`` console script as a user would, without blocking the event loop."""

from __future__ import annotations

import asyncio
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import known_secrets
from tests.log_secrets import leaks

SCRIPT = str(Path(sys.executable).parent / "spirit-tours")


@dataclass
class Completed:
    code: int
    stdout: str
    stderr: str


def clean_env(**overrides: str) -> dict[str, str]:
    """The environment without any SPIRIT_* setting of the developer's, plus ``overrides``."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("SPIRIT_")}
    env.update(overrides)
    return env


async def run_cli(*args: str, env: dict[str, str]) -> Completed:
    process = await asyncio.create_subprocess_exec(
        SCRIPT,
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode is not None
    completed = Completed(process.returncode, stdout.decode(), stderr.decode())
    # Its logs (stderr) show none of the secrets it was given or the tests use.
    given = [value for key, value in env.items() if key.startswith("SPIRIT_") and _secret(key)]
    assert not leaks(completed.stderr, [*known_secrets(), *given]), completed.stderr
    return completed


def _secret(setting: str) -> bool:
    return any(part in setting for part in ("SECRET", "TOKEN", "KEY", "PASSWORD"))
