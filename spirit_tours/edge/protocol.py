"""uvicorn's httptools protocol with a bounded request head and a bounded time to send a body.

uvicorn 0.54 times out only idle keep-alive connections: a fresh connection that sends
nothing, headers trickled one byte at a time or a body that never ends stay open forever, and
httptools accepts headers of any size. This subclass adds, per request:

- the request line and headers must arrive within ``request_head_timeout`` seconds of the
  connection (or of the request's first byte) — else ``408`` and the connection is closed (a
  connection that sent nothing at all is just closed);
- they must fit in ``max_header_bytes`` — else ``431`` and the connection is closed;
- the body must be complete within ``request_body_timeout`` seconds of the headers — else
  ``408`` (when no response was started) and the connection is closed; the application reads
  a disconnect.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httptools
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.server import ServerState

from spirit_tours.edge.errors import edge_error_body
from spirit_tours.security_headers import API_POLICY, baseline_headers


class EdgeConfig(Config):
    """uvicorn's configuration plus the edge limits (picklable, for ``--workers``)."""

    def __init__(
        self,
        app: Any,
        *,
        max_header_bytes: int,
        request_head_timeout: float,
        request_body_timeout: float,
        https: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(app, **kwargs)
        self.max_header_bytes = max_header_bytes
        self.request_head_timeout = request_head_timeout
        self.request_body_timeout = request_body_timeout
        # The edge's own refusals carry the security headers of every other response.
        self.refusal_headers = b"".join(
            f"{name}: {value}\r\n".encode("latin-1")
            for name, value in baseline_headers(API_POLICY, https=https)
        )


class _HeadTooLargeError(Exception):
    """Raised from a parser callback to stop parsing a request head past the limit."""


class EdgeHttpToolsProtocol(HttpToolsProtocol):
    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        if not isinstance(config, EdgeConfig):
            raise TypeError("EdgeHttpToolsProtocol needs an EdgeConfig")
        self.max_header_bytes = config.max_header_bytes
        self.head_timeout = config.request_head_timeout
        self.body_timeout = config.request_body_timeout
        self.refusal_headers = config.refusal_headers
        self.head_bytes = 0  # of the current head, counted as the parser completes its parts
        self.head_pending = 0  # received while the current head is incomplete
        self.in_head = True
        self.head_begun = False  # a byte of the current request head has arrived
        self.head_too_large = False
        self.head_timer: asyncio.TimerHandle | None = None
        self.body_timer: asyncio.TimerHandle | None = None

    # Timers
    def _cancel_timers(self) -> None:
        for timer in (self.head_timer, self.body_timer):
            if timer is not None:
                timer.cancel()
        self.head_timer = self.body_timer = None

    def _arm_head_timer(self) -> None:
        if self.head_timer is None:
            self.head_timer = self.loop.call_later(self.head_timeout, self._head_timed_out)

    def _head_timed_out(self) -> None:
        self.head_timer = None
        if self.transport.is_closing():
            return
        if not self.head_begun:
            # Nothing sent at all (a preconnect, or an idle attacker): close without a word, as
            # nginx does, so a request crossing the close is simply retried by its client.
            self.transport.close()
        elif self.cycle is None or self.cycle.response_complete:
            self._refuse(408, "The request headers were not received in time.", "REQUEST_TIMEOUT")
        else:
            # A pipelined request stalled behind one still being answered: close after it.
            self.cycle.keep_alive = False

    def _body_timed_out(self) -> None:
        self.body_timer = None
        cycle = self.cycle
        if self.transport.is_closing() or cycle is None:
            return
        if not cycle.response_started:
            cycle.response_started = cycle.response_complete = True
            self._refuse(408, "The request body was not received in time.", "REQUEST_TIMEOUT")
        else:
            self.transport.close()
        cycle.disconnected = True  # the application now reads http.disconnect
        cycle.message_event.set()

    def _refuse(self, status: int, message: str, reason: str) -> None:
        """Answer ``status`` with a JSON error and close the connection."""
        body = edge_error_body(message, reason)
        content = [STATUS_LINE[status]]
        for name, value in self.server_state.default_headers:
            content.extend([name, b": ", value, b"\r\n"])
        content.extend(
            [
                self.refusal_headers,
                b"content-type: application/json\r\n",
                b"content-length: " + str(len(body)).encode("ascii") + b"\r\n",
                b"connection: close\r\n\r\n",
                body,
            ]
        )
        self.transport.write(b"".join(content))
        self.transport.close()

    # Protocol interface
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timers()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        self._unset_keepalive_if_required()
        if self.in_head:
            # httptools buffers a header line until it ends: an endless line is caught here.
            self.head_pending += len(data)
        try:
            self.parser.feed_data(data)
            if self.in_head and self.head_pending > self.max_header_bytes:
                self.head_too_large = True
                raise _HeadTooLargeError
        except _HeadTooLargeError:
            self._refuse(431, "The request headers are too large.", "HEADERS_TOO_LARGE")
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
        except httptools.HttpParserError:
            if self.head_too_large:
                self._refuse(431, "The request headers are too large.", "HEADERS_TOO_LARGE")
            else:
                self.logger.warning("Invalid HTTP request received.")
                self.send_400_response("Invalid HTTP request received.")

    def handle_websocket_upgrade(self) -> None:
        self._cancel_timers()
        super().handle_websocket_upgrade()

    # Parser callbacks
    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.head_bytes = 0
        self.in_head = self.head_begun = True
        self._arm_head_timer()

    def _count(self, size: int) -> None:
        self.head_bytes += size
        if self.head_bytes > self.max_header_bytes:
            self.head_too_large = True
            raise _HeadTooLargeError

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value) + 4)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self.in_head = self.head_begun = False
        self.head_pending = 0
        if self.head_timer is not None:
            self.head_timer.cancel()
            self.head_timer = None
        super().on_headers_complete()
        if not self.parser.should_upgrade():
            self.body_timer = self.loop.call_later(self.body_timeout, self._body_timed_out)

    def on_message_complete(self) -> None:
        if self.body_timer is not None:
            self.body_timer.cancel()
            self.body_timer = None
        super().on_message_complete()
