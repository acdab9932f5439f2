"""The same role rules for plain HTTP pages (the queue monitor): a viewer from a bearer
token, or from HTTP Basic credentials so a browser can sign in, checked against the role
list of a GraphQL permission class."""

from __future__ import annotations

import base64
import binascii
import hashlib
import time
import uuid

from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from spirit_tours.core.errors import DomainError, ErrorCode, forbidden
from spirit_tours.core.text import forbidden_character
from spirit_tours.graphql_app import bearer_token
from spirit_tours.permissions.classes import HasRole
from spirit_tours.permissions.viewer import Viewer
from spirit_tours.persistence.accounts import User
from spirit_tours.resolvers.auth import check_credentials, viewer_of

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
BASIC_CACHE_SECONDS = 60.0
_VERIFIED: dict[str, tuple[float, uuid.UUID, str]] = {}  # header digest → user, hash


def _basic(value: str) -> tuple[str, str] | None:
    scheme, _, encoded = value.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        email, _, password = base64.b64decode(encoded.strip()).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    if forbidden_character(email) or forbidden_character(password):
        return None  # the rule for all text input (a NUL would fail in PostgreSQL): signed out
    return email, password


async def viewer_of_request(request: Request) -> Viewer | None:
    services = request.app.state.services
    header = request.headers.get("authorization", "")
    token = bearer_token(header)
    if token:
        viewer: Viewer = (await services.authenticate(token)).viewer
        return viewer
    credentials = _basic(header)
    if credentials is None:
        return None
    if request.method not in SAFE_METHODS:
        # A browser replays Basic credentials on cross-site POSTs too: changes need a token.
        raise forbidden("Changes need a bearer token, not a browser sign-in.")
    key = hashlib.sha256(header.encode()).hexdigest()
    client = request.client.host if request.client else "unknown"
    async with services.sessions() as session:
        cached = _VERIFIED.get(key)
        if cached is not None and cached[0] > time.monotonic():
            # The monitor polls every few seconds: the argon2 check is remembered for a
            # minute, but the account is read each time (deactivated, demoted, new password).
            user = await session.get(User, cached[1])
            if user is not None and user.is_active and user.password_hash == cached[2]:
                return viewer_of(user)
        user = await check_credentials(services, session, *credentials, client)
    if len(_VERIFIED) > 1000:
        _VERIFIED.clear()
    _VERIFIED[key] = (time.monotonic() + BASIC_CACHE_SECONDS, user.id, user.password_hash)
    return viewer_of(user)


class RequireRole:
    """ASGI wrapper: 401 with a Basic challenge when signed out, 403 for other roles."""

    def __init__(self, app: ASGIApp, permission: type[HasRole], realm: str) -> None:
        self.app, self.roles, self.realm = app, permission.roles, realm

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        try:
            viewer = await viewer_of_request(request)
        except DomainError as error:
            if error.code == ErrorCode.FORBIDDEN:
                await PlainTextResponse(error.message, 403)(scope, receive, send)
                return
            if error.code == ErrorCode.SERVICE_UNAVAILABLE:
                retry = {"Retry-After": str(error.details.get("retryAfterSeconds", 30))}
                await PlainTextResponse(error.message, 503, retry)(scope, receive, send)
                return
            viewer, reason = None, error.message
        else:
            reason = "Sign in."
        if viewer is None:
            challenge = {"WWW-Authenticate": f'Basic realm="{self.realm}", charset="UTF-8"'}
            await PlainTextResponse(reason, 401, challenge)(scope, receive, send)
            return
        if viewer.role not in self.roles:
            await PlainTextResponse("Forbidden.", 403)(scope, receive, send)
            return
        await self.app(scope, receive, send)
