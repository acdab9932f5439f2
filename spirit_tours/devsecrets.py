"""Development secrets, generated once per data folder.

A development run (``make run``) needs a JWT secret, an e-mail link secret and the offline
gateway's key, but none of them may be a constant of the repository: anyone could then forge an
ADMIN token or a payment webhook against a demo left reachable. They are drawn at random the
first time and kept in ``<data_dir>/secrets.json`` (mode 0600), so every process sharing the
data folder (serve's workers, ``spirit-tours worker``) signs with the same keys and tokens
survive restarts.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from collections.abc import Iterable
from pathlib import Path

FILE_NAME = "secrets.json"


def _read(path: Path) -> dict[str, str]:
    try:
        stored = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    if not isinstance(stored, dict):
        raise RuntimeError(f"{path} is not a JSON object; delete it to generate new secrets")
    os.chmod(path, 0o600)
    return {str(key): str(value) for key, value in stored.items()}


def _write_private(path: Path, values: dict[str, str]) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        json.dump(values, file, indent=2)


def development_secrets(data_dir: Path, names: Iterable[str]) -> dict[str, str]:
    """The stored secrets, each of ``names`` generated (and stored) when missing.

    Concurrent first runs agree: the file appears atomically (written aside, then linked in
    place, which fails when another process was first) and the loser reads the winner's.
    """
    wanted = list(names)
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / FILE_NAME
    for _ in range(5):
        stored = _read(path)
        missing = [name for name in wanted if not stored.get(name)]
        if not missing:
            return stored
        updated = {**stored, **{name: secrets.token_urlsafe(48) for name in missing}}
        aside = path.with_name(f".{FILE_NAME}.{os.getpid()}")
        try:
            _write_private(aside, updated)
            if stored:
                os.replace(aside, path)  # a newer version needs one more secret
            else:
                with contextlib.suppress(FileExistsError):
                    os.link(aside, path)
        finally:
            aside.unlink(missing_ok=True)
    raise RuntimeError(f"could not store the development secrets in {path}")
