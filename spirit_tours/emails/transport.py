"""Where rendered messages go: an SMTP server (``SPIRIT_SMTP_URL``) over a bounded pool of
open connections (``spirit_tours.emails.smtp_pool``), or, with none configured, ``.eml`` files
in the data folder's outbox (the embedded default, so the demo "sends" mail).

The outbox is a development stand-in for a mailbox — its files hold live links (a password
reset's) — so they are readable by their owner only (0600, folder 0700), and production
refuses to run without an SMTP server rather than pile mail up on a disk."""

from __future__ import annotations

import asyncio
import os
import socket
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit

from spirit_tours.emails.smtp_pool import Envelope, PooledClient, PoolLimits, SmtpPool

__all__ = ["Envelope", "OutboxTransport", "SmtpTransport", "Transport", "transport_for"]


class Transport(Protocol):
    async def send(
        self, message: EmailMessage, *, rank: int = 0, envelope: Envelope | None = None
    ) -> None:
        """Send one message to ``envelope`` (None: the addresses of its headers); ``rank``
        orders senders waiting for the same resource (0 first:
        ``spirit_tours.emails.queueing.lane_rank``)."""

    async def close(self) -> None:
        """Let go of connections; no send after this."""


class SmtpTransport:
    """``smtp://user:password@host:port`` (STARTTLS when offered) or ``smtps://`` (TLS), over a
    pool of open connections."""

    def __init__(
        self, url: str, *, timeout_seconds: float = 30.0, limits: PoolLimits | None = None
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("SPIRIT_SMTP_URL is smtp://[user:password@]host[:port]")
        self._host = parts.hostname
        self._port = parts.port or (465 if parts.scheme == "smtps" else 25)
        self._tls = parts.scheme == "smtps"
        self._user = unquote(parts.username) if parts.username else None
        self._password = unquote(parts.password) if parts.password else None
        self._timeout = timeout_seconds
        self._local_hostname: str | None = None
        self.pool = SmtpPool(self._connect, limits or PoolLimits())

    async def send(
        self, message: EmailMessage, *, rank: int = 0, envelope: Envelope | None = None
    ) -> None:
        await self.pool.send(message, rank=rank, envelope=envelope)

    async def close(self) -> None:
        await self.pool.close()

    async def _connect(self) -> PooledClient:
        if self._local_hostname is None:  # aiosmtplib would look it up on every connection
            self._local_hostname = await asyncio.to_thread(socket.getfqdn)
        client = PooledClient(
            hostname=self._host,
            port=self._port,
            username=self._user,
            password=self._password,
            use_tls=self._tls,
            start_tls=None if not self._tls else False,
            timeout=self._timeout,
            local_hostname=self._local_hostname,
        )
        try:
            await client.connect()
        except BaseException:
            client.close()
            raise
        return client


class OutboxTransport:
    """Writes each message to ``<folder>/<Message-ID>.eml``."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder

    async def send(
        self, message: EmailMessage, *, rank: int = 0, envelope: Envelope | None = None
    ) -> None:
        name = str(message["Message-ID"] or "message").strip("<>").replace("/", "_") + ".eml"
        await asyncio.to_thread(self._write, self._folder / name, message.as_bytes())

    def _write(self, path: Path, data: bytes) -> None:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(descriptor, 0o600)  # a file left by an older version keeps no wider mode
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)

    async def close(self) -> None:
        return None


class OutboxRefusedError(RuntimeError):
    """No SMTP server where mail must really leave (production)."""


def transport_for(
    smtp_url: str | None,
    data_dir: Path,
    *,
    allow_outbox: bool = True,
    limits: PoolLimits | None = None,
) -> Transport:
    if smtp_url:
        return SmtpTransport(smtp_url, limits=limits)
    if not allow_outbox:
        raise OutboxRefusedError(
            "SPIRIT_SMTP_URL must be set in production: the .eml outbox is a development "
            "stand-in for a mailbox and would keep live password-reset links on disk"
        )
    return OutboxTransport(data_dir / "outbox")
