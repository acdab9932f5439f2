"""uvicorn's sans-I/O WebSocket protocol, lighter for connections that stay open for hours."""

from __future__ import annotations

from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol


class LeanWebSocketProtocol(WebSocketsSansIOProtocol):
    """Forgets the handshake once it is answered: uvicorn keeps the upgrade request and its
    response (both with their headers) for the connection's whole life, a few KiB of each idle
    subscriber that nothing reads after the ``101``."""

    async def send(self, message: Any) -> None:
        await super().send(message)
        if self.handshake_complete and self.request is not None:
            self.request = None  # type: ignore[assignment]
            self.response = None  # type: ignore[assignment]
