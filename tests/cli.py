"""Run the ``spirit-tours`` console script as a user would, without blocking the event loop."""

from __future__ import annotations

import asyncio
import os
import sys
from dataclasses import dataclass
from pathlib import Path

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
    return Completed(process.returncode, stdout.decode(), stderr.decode())
