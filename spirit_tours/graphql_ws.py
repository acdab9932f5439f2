"""graphql-transport-ws, hardened: strawberry's handler trusts the shape of each message.

A message that is JSON but not an object, or a ``subscribe`` whose payload is not an object with
a string ``query``, closes the socket with 4400 (invalid message) instead of an exception that
drops it without a close frame (1006). Close reasons are made encodable (a lone surrogate in an
operation name would otherwise fail the close itself) and short enough for a close frame
(123 bytes). Refusing one more operation past the per-connection limit carries an error code.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphql import GraphQLError
from starlette.websockets import WebSocketDisconnect
from strawberry.asgi import ASGIWebSocketAdapter
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    Message,
    SubscribeMessage,
)

from spirit_tours.context import Context
from spirit_tours.core.errors import ErrorCode
from spirit_tours.core.text import forbidden_character, printable

MAX_CLOSE_REASON_BYTES = 123  # RFC 6455: a control frame's payload, less the 2-byte code


def close_reason(reason: str) -> str:
    """``reason`` as a close frame can carry it: lone surrogates escaped, cut to 123 bytes of
    UTF-8 without splitting a character."""
    encoded = printable(reason).encode()[:MAX_CLOSE_REASON_BYTES]
    return encoded.decode("utf-8", "ignore")


class SafeCloseWebSocketAdapter(ASGIWebSocketAdapter):
    async def send_json(self, message: Mapping[str, object]) -> None:
        """As text frames, as graphql-transport-ws requires: the view encodes JSON to bytes,
        which strawberry's adapter would send as binary frames."""
        try:
            await self.ws.send_text(self.view.encode_json_string(message))
        except WebSocketDisconnect as error:
            raise WebSocketDisconnected from error

    async def close(self, code: int, reason: str) -> None:
        await super().close(code, close_reason(reason))


def _subscribe_problem(message: dict[str, Any]) -> str | None:
    """Why a ``subscribe`` message is malformed, or None."""
    if not isinstance(message.get("id"), str) or forbidden_character(message["id"]):
        return "A subscribe message needs a string id"
    payload = message.get("payload")
    if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
        return "A subscribe message needs a payload with a string query"
    name = payload.get("operationName")
    if name is not None and (not isinstance(name, str) or forbidden_character(name)):
        return "The operationName must be a name"
    if not isinstance(payload.get("variables"), dict | None):
        return "The variables must be an object"
    return None


class TransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    async def handle_message(self, message: Message) -> None:
        raw: object = message
        if not isinstance(raw, dict):
            await self.handle_invalid_message("WebSocket message must be a JSON object")
            return
        if raw.get("type") == "subscribe" and (problem := _subscribe_problem(raw)) is not None:
            await self.handle_invalid_message(problem)
            return
        await super().handle_message(message)

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        limit = self.max_subscriptions_per_connection
        if (
            self.connection_acknowledged
            and message["id"] not in self.operations
            and limit is not None
            and len(self.operations) >= limit
        ):
            error = GraphQLError(
                f"Subscription limit reached: at most {limit} operations per connection.",
                extensions={"code": ErrorCode.TOO_MANY_ATTEMPTS.value, "limit": limit},
            )
            await self.send_message(
                {"id": message["id"], "type": "error", "payload": [error.formatted]}
            )
            return
        await super().handle_subscribe(message)
