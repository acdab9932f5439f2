"""Request bodies bounded in size while they stream, per route, before the application reads
them: ``Content-Length`` past the limit is refused at once; a longer streamed (chunked) body is
cut off at the limit. Either way the answer is ``413`` with a JSON error
(``BAD_REQUEST``/``PAYLOAD_TOO_LARGE``) and ``Connection: close``, so the rest is never read.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from spirit_tours.edge.errors import edge_error_body

PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class BodyLimit:
    """ASGI middleware: the largest body per path prefix (first match), else ``default``."""

    def __init__(self, app: ASGIApp, *, default: int, routes: Sequence[tuple[str, int]]) -> None:
        self.app = app
        self.default = default
        self.routes = tuple(routes)

    def limit(self, path: str) -> int:
        return next((size for prefix, size in self.routes if path.startswith(prefix)), self.default)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit(scope["path"])
        declared = _declared_length(scope)
        if declared is not None and declared > limit:
            await _too_large(send, limit)
            return
        received = 0
        refused = False
        started = False

        async def bounded_receive() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    refused = True
                    if not started:
                        await _too_large(send, limit)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if refused:
                return  # we answered 413 already
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, bounded_receive, guarded_send)
        except ClientDisconnect:
            if not refused:
                raise


async def _too_large(send: Send, limit: int) -> None:
    body = edge_error_body(
        f"The request body is larger than {limit} bytes.", PAYLOAD_TOO_LARGE, maxBytes=limit
    )
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
