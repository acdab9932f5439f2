"""The request id: taken from a safe incoming ``X-Request-ID`` (a proxy's or a client's, so
one id follows the request across services) or made here, bound to every log line of the
request and returned in the ``X-Request-ID`` response header."""

from __future__ import annotations

import re
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from spirit_tours.logs.context import bind_request_id

HEADER = "X-Request-ID"
_HEADER_KEY = HEADER.lower().encode()
# Short and plain: the id is written into every log line and echoed back in a header, so
# nothing that could forge a log field, split a header or fill the disk is accepted.
_SAFE = re.compile(rb"[A-Za-z0-9._-]{1,128}")


def request_id_of(scope: Scope) -> str:
    """The incoming id when it is safe, else a new one (uuid4, hex)."""
    for key, value in scope.get("headers", ()):
        if key == _HEADER_KEY:
            return value.decode() if _SAFE.fullmatch(value) else uuid.uuid4().hex
    return uuid.uuid4().hex


def bind_scope(scope: Scope) -> str:
    """Bind the id of this HTTP request or WebSocket connection to the current task's log
    context and return it.

    Not reset when the request ends, on purpose: uvicorn runs each request and each connection
    in a task of its own (a copy of the context), and writes its access line and any "Exception
    in ASGI application" after the application has returned — those must carry it too.
    """
    request_id = request_id_of(scope)
    bind_request_id(request_id)
    return request_id


class RequestIds:
    """Pure ASGI middleware: binds the request id and adds it to the response's headers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        header = (_HEADER_KEY, bind_scope(scope).encode())

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        await self.app(scope, receive, send_with_id)
