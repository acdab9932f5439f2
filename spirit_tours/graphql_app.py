"""The /graphql endpoint: strawberry's ASGI view with our context, auth and error shape."""

from __future__ import annotations

import asyncio
import contextlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from cross_web import AsyncHTTPRequestAdapter, HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLRequestData
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types.unset import UnsetType

from spirit_tours.context import Context
from spirit_tours.errors import DomainError, ErrorCode
from spirit_tours.services import Services


def _http_error(error: HTTPException) -> JSONResponse:
    """Transport-level refusals as JSON in the shape of GraphQL errors."""
    status = error.status_code
    if "not allowed when using GET" in error.reason:
        status = 405  # GraphQL over HTTP: a mutation sent with GET is a wrong method
    code = ErrorCode.METHOD_NOT_ALLOWED if status == 405 else ErrorCode.BAD_REQUEST
    return JSONResponse(
        {"errors": [{"message": error.reason, "extensions": {"code": code.value}}]},
        status_code=status,
        headers={"Allow": "GET, POST"} if status == 405 else None,
    )


def bearer_token(value: str | None) -> str | None:
    if not value:
        return None
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


class GraphQLApp(GraphQL[Context, None]):
    def __init__(self, schema: Any, *, max_subscriptions_per_connection: int = 50) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql",
            allow_queries_via_get=True,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            connection_init_wait_timeout=timedelta(seconds=10),
            max_subscriptions_per_connection=max_subscriptions_per_connection,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            try:
                await super().__call__(scope, receive, send)
            finally:
                expiry = _EXPIRY_TASKS.pop(id(scope), None)
                if expiry is not None:
                    expiry.cancel()
            return
        try:
            response = await self.run(Request(scope, receive=receive))
        except HTTPException as error:
            response = _http_error(error)
        await response(scope, receive, send)

    def decode_json(self, data: str | bytes) -> object:
        """JSON, where too deep nesting or invalid UTF-8 is malformed JSON like any other
        (HTTP: a 400; WebSocket: strawberry closes with 4400) instead of an internal error."""
        try:
            return json.loads(data)
        except RecursionError as error:
            raise json.JSONDecodeError("nested too deeply", "", 0) from error
        except UnicodeDecodeError as error:
            raise json.JSONDecodeError("not UTF-8", "", error.start) from error

    def parse_json(self, data: str | bytes) -> Any:
        """The HTTP body, or the ``variables``/``extensions`` of a GET: JSON objects (a list is
        a batch, refused by strawberry with its own message)."""
        value = super().parse_json(data)
        if not isinstance(value, dict | list):
            raise HTTPException(400, "Expected a JSON object.")
        return value

    async def parse_http_body(
        self, request: AsyncHTTPRequestAdapter
    ) -> GraphQLRequestData | list[GraphQLRequestData]:
        parsed = await super().parse_http_body(request)
        for item in parsed if isinstance(parsed, list) else [parsed]:
            if not isinstance(item.operation_name, str | None):
                raise HTTPException(
                    400, "The GraphQL operation's `operationName` must be a string."
                )
        return parsed

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        services: Services = request.app.state.services
        context = Context(services=services, request=request, response=response)
        if isinstance(request, Request):
            token = bearer_token(request.headers.get("authorization"))
            if token is not None:
                try:
                    context.viewer = services.tokens.verify(token)
                except DomainError as error:
                    context.auth_error = error
        return context

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """Authenticate the WebSocket from the ``connection_init`` payload.

        Accepts ``{"authorization": "Bearer <jwt>"}`` or ``{"token": "<jwt>"}``; no token means
        an anonymous connection, a bad one is refused (close code 4403).
        """
        params = context.connection_params or {}
        raw = params.get("authorization") or params.get("Authorization")
        token = bearer_token(raw) if isinstance(raw, str) else None
        if token is None and isinstance(params.get("token"), str):
            token = params["token"]
        if token is None:
            return None
        tokens = context.services.tokens
        try:
            context.viewer = tokens.verify(token)
        except DomainError as error:
            raise ConnectionRejectionError({"code": error.code.value, **error.details}) from error
        if isinstance(context.request, WebSocket):
            _close_when_expired(context.request, tokens.expires_at(token))
        return None


TOKEN_EXPIRED_CLOSE_CODE = 4401


def _close_when_expired(websocket: WebSocket, expires_at: datetime) -> None:
    """A connection lives no longer than its token: at expiry it is closed with 4401, and the
    client reconnects with a fresh token (and its cursors)."""

    async def close() -> None:
        await asyncio.sleep(max(0.0, (expires_at - datetime.now(UTC)).total_seconds()))
        with contextlib.suppress(Exception):
            await websocket.close(TOKEN_EXPIRED_CLOSE_CODE, "Access token expired")

    _EXPIRY_TASKS[id(websocket.scope)] = asyncio.create_task(close())


# The expiry watch of each open connection, by its ASGI scope; cancelled when it ends.
_EXPIRY_TASKS: dict[int, asyncio.Task[None]] = {}
