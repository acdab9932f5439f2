"""The latest model of each kind, kept in memory by every process that serves predictions.

A prediction reads the model from memory; at most every ``reload_seconds`` the process asks
the database for the id of the newest row of that kind (one index lookup) and, when it
changed, loads and unpickles the new one (in a thread) before answering. No model stored yet
is an answer too (``None``), never an error. A stored model that cannot be loaded (e.g. pickled
by a scikit-learn this process does not run) is logged once and skipped: the process keeps
serving what it had, and no request pays for reading and unpickling it again.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from spirit_tours.ml.store import ModelInfo, deserialize, latest_id, load_model
from spirit_tours.persistence.database import SessionFactory

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Served:
    """A loaded model and what the API says about it (version, training date)."""

    info: ModelInfo
    model: Any


class ModelCache:
    """One per process (``services.Services``); safe for concurrent requests."""

    def __init__(self, sessions: SessionFactory, reload_seconds: float) -> None:
        self._sessions = sessions
        self._reload_seconds = reload_seconds
        self._served: dict[str, Served | None] = {}
        self._checked: dict[str, float] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._unloadable: set[uuid.UUID] = set()

    async def get(self, kind: str) -> Served | None:
        """The newest model of ``kind``, checked against the database when due."""
        checked = self._checked.get(kind)
        if checked is not None and time.monotonic() - checked < self._reload_seconds:
            return self._served.get(kind)
        lock = self._locks.setdefault(kind, asyncio.Lock())
        async with lock:
            checked = self._checked.get(kind)
            if checked is not None and time.monotonic() - checked < self._reload_seconds:
                return self._served.get(kind)
            await self._refresh(kind)
            self._checked[kind] = time.monotonic()
        return self._served.get(kind)

    async def _refresh(self, kind: str) -> None:
        current = self._served.get(kind)
        session: AsyncSession
        async with self._sessions() as session:
            newest: uuid.UUID | None = await latest_id(session, kind)
            if newest is None:
                self._served[kind] = None
                return
            if (current is not None and current.info.id == newest) or newest in self._unloadable:
                return
            found = await load_model(session, newest)
        if found is None:  # removed between the two reads: keep what we have
            return
        info, payload = found
        try:
            model = await asyncio.to_thread(deserialize, payload)
        except Exception:
            self._unloadable.add(newest)
            log.exception("%s v%d cannot be loaded; serving the previous one", kind, info.version)
            return
        self._served[kind] = Served(info, model)
        log.info("serving %s v%d (trained %s)", kind, info.version, info.trained_at.isoformat())
