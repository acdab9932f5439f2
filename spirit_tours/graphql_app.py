"""The /graphql endpoint: strawberry's ASGI view with our context, auth and error shape."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Collection
from datetime import timedelta
from typing import Any

from cross_web import AsyncHTTPRequestAdapter, HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError, MissingQueryError
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType
from strawberry.types.unset import UnsetType

from spirit_tours.auth.revocation import SessionWatch
from spirit_tours.auth.tokens import AccessClaims
from spirit_tours.context import Context
from spirit_tours.core import json_codec
from spirit_tours.core.clock import now_utc
from spirit_tours.core.errors import DomainError, ErrorCode
from spirit_tours.core.text import forbidden_character, printable
from spirit_tours.documents.persisted import (
    PersistedDocuments,
    PersistedQueryError,
    register_pending,
    register_when_valid,
    registration_scope,
    requested_hash,
    sha256_hex,
)
from spirit_tours.graphiql.page import page_html, page_policy
from spirit_tours.graphql_media import (
    GRAPHQL_RESPONSE_JSON,
    JSON,
    error_status,
    is_request_error,
    response_media_type,
    retry_after,
)
from spirit_tours.graphql_ws import SafeCloseWebSocketAdapter
from spirit_tours.live_connections import LimitedTransportWSHandler
from spirit_tours.schema.build import SpiritSchema
from spirit_tours.schema.response_cache import HIT
from spirit_tours.security_headers import origin_of
from spirit_tours.services import Services


def _http_error(error: HTTPException, media_type: str) -> JSONResponse:
    """Transport-level refusals (a body that is no GraphQL request, a wrong method) in the
    shape of GraphQL errors, with their 4xx status whatever the media type."""
    status = error.status_code
    if "not allowed when using GET" in error.reason:
        status = 405  # GraphQL over HTTP: a mutation sent with GET is a wrong method
    code = {405: ErrorCode.METHOD_NOT_ALLOWED, 404: ErrorCode.NOT_FOUND}.get(
        status, ErrorCode.BAD_REQUEST
    )  # 404: GraphiQL asked for where it is turned off
    return JSONResponse(
        {"errors": [{"message": printable(error.reason), "extensions": {"code": code.value}}]},
        status_code=status,
        headers={"Allow": "GET, POST"} if status == 405 else None,
        media_type=media_type,
    )


def _raised_before_execution(result: ExecutionResult) -> bool:
    """A request error: no data, and errors none of which belongs to a field (a parse or
    validation error, a variable that does not coerce, a refused cost or rate). A field error
    that nulls the whole result has the field's path."""
    return (
        result.data is None
        and bool(result.errors)
        and all(error.path is None for error in result.errors or ())
    )


def bearer_token(value: str | None) -> str | None:
    if not value:
        return None
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


NO_STORE = "no-store, private"
"""The ``Cache-Control`` of every answer: per viewer, never kept by a browser or a proxy."""

CACHE_HEADER = "X-Spirit-Cache"
"""How the response cache took part: ``hit``, ``miss`` or ``bypass``; absent for operations it
does not keep (mutations, other root fields, anonymous callers) or when it is off."""


def _asks_fresh(request: Request) -> bool:
    """``Cache-Control: no-cache`` (as a browser's hard reload sends): compute the answer."""
    directives = request.headers.get("cache-control", "").lower().split(",")
    return any(directive.strip() == "no-cache" for directive in directives)


SUBSCRIPTIONS_NEED_WEBSOCKET = (
    "Subscriptions are served over a WebSocket at /graphql (protocol graphql-transport-ws), "
    "not over HTTP."
)


PERSISTED_QUERY_NOT_FOUND = json_codec.dumps(
    {
        "errors": [
            {
                "message": "PersistedQueryNotFound",
                "extensions": {"code": ErrorCode.PERSISTED_QUERY_NOT_FOUND.value},
            }
        ]
    }
)
"""Apollo's answer to a hash this process does not know: 200 with application/json, as Apollo
Server answers; 404 with application/graphql-response+json, where an answer without ``data``
must be 4xx. apollo-client's persisted query link reads either and sends the document next."""

HASH_MISMATCH = (
    "provided sha does not match query: extensions.persistedQuery.sha256Hash must be the "
    "SHA-256 of the query's UTF-8 text, in lowercase hexadecimal."
)


def _media_type(request: Request | WebSocket) -> str:
    return response_media_type(request.headers.get("accept"))


class _PersistedQueryNotFoundError(Exception):
    """The hash of a request without a query names no document kept by this process."""


def default_persisted_documents() -> PersistedDocuments:
    return PersistedDocuments(
        max_documents=10_000, max_bytes=16 * 1024 * 1024, max_document_bytes=32 * 1024
    )


class GraphQLApp(GraphQL[Context, None]):
    websocket_adapter_class = SafeCloseWebSocketAdapter
    # graphql_ws.TransportWSHandler (malformed messages refused) with the live caps on top
    graphql_transport_ws_handler_class = LimitedTransportWSHandler

    def __init__(
        self,
        schema: Any,
        *,
        max_subscriptions_per_connection: int = 50,
        persisted_documents: PersistedDocuments | None = None,
        graphiql: bool = True,
        allowed_origins: Collection[str] = (),
    ) -> None:
        """``graphiql``: a browser's GET of /graphql gets GraphiQL (``spirit_tours.graphiql``,
        whose files ``app`` serves); without it, a 404. ``allowed_origins``: the cross-origin
        pages whose WebSocket handshakes are accepted (browsers apply no CORS there;
        same-origin pages and non-browser clients always are), the same as CORS allows over
        HTTP (``cross_origin``)."""
        self.persisted_documents = persisted_documents or default_persisted_documents()
        # Queries over HTTP only (schema/response_cache.py); a WebSocket never reads it.
        self.response_cache = schema.response_cache if isinstance(schema, SpiritSchema) else None
        super().__init__(
            schema,
            graphql_ide="graphiql" if graphiql else None,
            allow_queries_via_get=True,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            connection_init_wait_timeout=timedelta(seconds=10),
            max_subscriptions_per_connection=max_subscriptions_per_connection,
            allowed_origins=tuple(allowed_origins),
        )

    async def render_graphql_ide(self, request: Request) -> Response:
        """Our GraphiQL page (not strawberry's, whose files come from a CDN), always checked
        again by the browser: it names the current files."""
        return HTMLResponse(
            page_html(),
            headers={
                "Content-Security-Policy": page_policy(origin_of(str(request.url))),
                "Cache-Control": "no-cache",
            },
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            try:
                await super().__call__(scope, receive, send)
            finally:
                watched = _WATCHED.pop(id(scope), None)
                if watched is not None:
                    expiry, forget = watched
                    expiry.cancel()
                    forget()
            return
        request = Request(scope, receive=receive)
        try:
            with registration_scope():
                response = await self.run(request)
        except HTTPException as error:
            response = _http_error(error, _media_type(request))
        except _PersistedQueryNotFoundError:
            media_type = _media_type(request)
            status = 404 if media_type == GRAPHQL_RESPONSE_JSON else 200
            response = Response(PERSISTED_QUERY_NOT_FOUND, status, media_type=media_type)
        # The answer's media type and status (graphql_media), and GraphiQL's page or JSON for
        # a GET, follow Accept: no cache may hand one client's answer to another.
        response.headers.add_vary_header("Accept")
        await response(scope, receive, send)

    async def get_sub_response(self, request: Request | WebSocket) -> Response:
        """Carries the answer's media type, negotiated from ``Accept`` (``graphql_media``), to
        ``create_response``."""
        sub_response = await super().get_sub_response(request)
        sub_response.media_type = _media_type(request)
        return sub_response

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        """strawberry's response, without ``data`` when the error was raised before execution
        began (the GraphQL spec: the entry "should not be present"; strawberry sends null)."""
        response = await super().process_result(request, result)
        if _raised_before_execution(result):
            response.pop("data", None)
        return response

    def create_response(
        self,
        response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse],
        sub_response: Response,
    ) -> Response:
        """In the negotiated media type; with application/graphql-response+json a request
        error has its 4xx or 5xx status (and a 429's or 503's ``Retry-After``)."""
        response = super().create_response(response_data, sub_response)
        media_type = sub_response.media_type or JSON
        response.headers["content-type"] = media_type
        # An answer is the viewer's (ADMIN's reports, estimates, net prices): no cache, the
        # browser's disk included, keeps it — a GET's answer as well as a POST's.
        response.headers.setdefault("Cache-Control", NO_STORE)
        if (
            media_type == GRAPHQL_RESPONSE_JSON
            and isinstance(response_data, dict)
            and is_request_error(response_data)
        ):
            errors = response_data.get("errors") or []
            response.status_code = error_status(errors)
            seconds = retry_after(errors)
            if response.status_code in (429, 503) and seconds is not None:
                response.headers["Retry-After"] = str(seconds)
        return response

    def should_render_graphql_ide(self, request: Any) -> bool:
        """Not for a GET that names a persisted query (``extensions`` without ``query``)."""
        return "extensions" not in request.query_params and super().should_render_graphql_ide(
            request
        )

    def decode_json(self, data: str | bytes) -> object:
        """JSON as ``json.loads`` reads it, faster (``core.json_codec``), where too deep nesting
        or invalid UTF-8 is malformed JSON like any other (HTTP: a 400; WebSocket: strawberry
        closes with 4400) instead of an internal error."""
        return json_codec.loads(data)

    def encode_json(self, data: object) -> bytes:
        """Compact UTF-8 JSON (``core.json_codec``); amounts are already strings."""
        return json_codec.dumps(data)

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
            if item.operation_name is not None and forbidden_character(item.operation_name):
                raise HTTPException(400, "The GraphQL operation's `operationName` is not a name.")
            self._resolve_persisted_query(item)
        return parsed

    def _resolve_persisted_query(self, request_data: GraphQLRequestData) -> None:
        """Automatic persisted queries (Apollo's protocol, version 1): a hash without a query
        runs the document kept under it, or is answered ``PersistedQueryNotFound``; a hash
        with its query is checked against the query and, once the operation passes every
        check, the document is kept (``documents.persisted``)."""
        try:
            sha256 = requested_hash(request_data.extensions)
        except PersistedQueryError as error:
            raise HTTPException(400, str(error)) from error
        if sha256 is None:
            return
        store = self.persisted_documents
        if request_data.query is None:
            request_data.query = store.get(sha256)
            if request_data.query is None:
                raise _PersistedQueryNotFoundError
        elif sha256_hex(request_data.query) != sha256:
            raise HTTPException(400, HASH_MISMATCH)
        elif store.size_of(request_data.query) is not None:
            register_when_valid(store, sha256, request_data.query)

    async def execute_single(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        """Subscriptions are refused over HTTP (strawberry would run the subscription's
        generator as a plain resolver: an internal error) and sent to the WebSocket; the rest
        is strawberry's, which checks the operation type when the operation is chosen, behind
        the response cache. The operation's read connection goes back to the pool at the end."""
        allowed = OperationType.from_http(request_adapter.method) - {OperationType.SUBSCRIPTION}

        async def run() -> ExecutionResult:
            return await self.schema.execute(
                request_data.query,
                root_value=root_value,
                variable_values=request_data.variables,
                context_value=context,
                operation_name=request_data.operation_name,
                allowed_operation_types=allowed,
                operation_extensions=request_data.extensions,
            )

        try:
            if self.response_cache is None:
                return await run()
            result, outcome = await self.response_cache.execute(
                context,
                request_data.query,
                request_data.operation_name,
                request_data.variables,
                fresh=_asks_fresh(request),
                run=run,
            )
            if outcome is not None:
                sub_response.headers[CACHE_HEADER] = outcome
            if outcome == HIT:
                register_pending()  # an APQ registration the cached answer stands for
            return result
        except InvalidOperationTypeError as error:
            if error.operation_type == OperationType.SUBSCRIPTION:
                raise HTTPException(400, SUBSCRIPTIONS_NEED_WEBSOCKET) from error
            raise HTTPException(400, error.as_http_error_reason(request_adapter.method)) from error
        except CannotGetOperationTypeError as error:
            raise HTTPException(400, error.as_http_error_reason()) from error
        except MissingQueryError as error:
            raise HTTPException(400, "No GraphQL query found in the request") from error
        finally:
            await context.end_reads()

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        services: Services = request.app.state.services
        context = Context(services=services, request=request, response=response)
        if isinstance(request, Request):
            token = bearer_token(request.headers.get("authorization"))
            if token is not None:
                try:
                    context.viewer = (await services.authenticate(token)).viewer
                except DomainError as error:
                    context.auth_error = error
        return context

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """Authenticate the WebSocket from the ``connection_init`` payload.

        Accepts ``{"authorization": "Bearer <jwt>"}`` or ``{"token": "<jwt>"}``; no token (absent,
        null or empty) means an anonymous connection; a bad one — expired, of another scheme,
        not a string, not text — is refused (close code 4403), never taken as anonymous.
        """
        params = context.connection_params or {}
        context.connection_params = None  # read once: an idle connection keeps no token text
        raw = params.get("authorization") or params.get("Authorization")
        if raw is not None:
            token = bearer_token(raw) if isinstance(raw, str) else None
        else:
            token = params.get("token")
        if raw is None and (token is None or token == ""):
            token = None  # no credentials: an anonymous connection
        elif not isinstance(token, str) or forbidden_character(token):
            raise ConnectionRejectionError({"code": ErrorCode.UNAUTHENTICATED.value})
        services = context.services
        if token is None:
            services.live_limits.admit_socket(id(context.request.scope), None, context.client_ip)
            return None
        try:
            claims = await services.authenticate(token)
        except DomainError as error:
            raise ConnectionRejectionError({"code": error.code.value, **error.details}) from error
        context.viewer = claims.viewer
        live_limits = services.live_limits
        live_limits.admit_socket(id(context.request.scope), claims.viewer.user_id, "")
        if isinstance(context.request, WebSocket):
            _close_when_ended(context.request, claims, services.session_watch)
        return None


# Close codes as graphql-ws (the reference client of Apollo and urql) reads them. Its default
# retry policy (``shouldRetryConnectOrThrow`` in graphql-ws 6.4 ``client.ts``) reconnects on
# 4403, "Forbidden, might grant access out after retry", calling ``connectionParams`` again, and
# gives up at once on 4401 "Unauthorized" (as on 4400, 4406, 4409, 4429, 4500, 4004, 4005).
TOKEN_EXPIRED_CLOSE_CODE = 4403
"""The access token expired: the client reconnects by itself and fetches a fresh one (the same
code refuses an expired token at ``connection_init``, so a client that only resends the old one
stops after its ``retryAttempts``)."""
SESSION_ENDED_CLOSE_CODE = 4401
"""The session was signed out: final, as reconnecting with its tokens can only be refused."""


def _close_when_ended(websocket: WebSocket, claims: AccessClaims, watch: SessionWatch) -> None:
    """A connection lives no longer than its token, nor than its session: at expiry it is
    closed with 4403, on which graphql-ws reconnects by itself with a fresh token from its
    ``connectionParams``; when the session is signed out, with 4401, on which it stops."""
    key = id(websocket.scope)

    async def close(code: int, reason: str) -> None:
        with contextlib.suppress(Exception):
            await websocket.close(code, reason)

    def closing(code: int, reason: str) -> None:
        task = asyncio.create_task(close(code, reason))
        _CLOSING.add(task)  # referenced until done
        task.add_done_callback(_CLOSING.discard)

    remaining = max(0.0, (claims.expires_at - now_utc()).total_seconds())
    # A timer, not a sleeping task: thousands of idle connections each hold one.
    expiry = asyncio.get_running_loop().call_later(
        remaining, closing, TOKEN_EXPIRED_CLOSE_CODE, "Access token expired"
    )
    watch.watch(claims.session_id, key, lambda: closing(SESSION_ENDED_CLOSE_CODE, "Session ended"))
    _WATCHED[key] = (expiry, lambda: watch.forget(claims.session_id, key))


# The expiry timer of each open authenticated connection, and how to stop watching its
# session, by its ASGI scope; both ended when the connection ends.
_WATCHED: dict[int, tuple[asyncio.TimerHandle, Callable[[], None]]] = {}
_CLOSING: set[asyncio.Task[None]] = set()
