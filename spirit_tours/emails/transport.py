"""Where rendered messages go: an SMTP server (``SPIRIT_SMTP_URL``), or, with none configured,
``.eml`` files in the data folder's outbox (the embedded default, so the demo "sends" mail)."""

from __future__ import annotations

import asyncio
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit

import aiosmtplib


class Transport(Protocol):
    async def send(self, message: EmailMessage) -> None: ...


class SmtpTransport:
    """``smtp://user:password@host:port`` (STARTTLS when offered) or ``smtps://`` (TLS)."""

    def __init__(self, url: str, *, timeout_seconds: float = 30.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("SPIRIT_SMTP_URL is smtp://[user:password@]host[:port]")
        self._host = parts.hostname
        self._port = parts.port or (465 if parts.scheme == "smtps" else 25)
        self._tls = parts.scheme == "smtps"
        self._user = unquote(parts.username) if parts.username else None
        self._password = unquote(parts.password) if parts.password else None
        self._timeout = timeout_seconds

    async def send(self, message: EmailMessage) -> None:
        await aiosmtplib.send(
            message,
            hostname=self._host,
            port=self._port,
            username=self._user,
            password=self._password,
            use_tls=self._tls,
            start_tls=None if not self._tls else False,
            timeout=self._timeout,
        )


class OutboxTransport:
    """Writes each message to ``<folder>/<Message-ID>.eml``."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder

    async def send(self, message: EmailMessage) -> None:
        name = str(message["Message-ID"] or "message").strip("<>").replace("/", "_") + ".eml"
        await asyncio.to_thread(self._write, self._folder / name, message.as_bytes())

    def _write(self, path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def transport_for(smtp_url: str | None, data_dir: Path) -> Transport:
    return SmtpTransport(smtp_url) if smtp_url else OutboxTransport(data_dir / "outbox")
