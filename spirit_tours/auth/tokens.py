"""Short-lived access JWTs (HS256) and opaque refresh tokens.

Each access token names its session (``sid``: the refresh-token family it was issued with), so
that signing out can revoke it before it expires (see :mod:`spirit_tours.auth.revocation`)."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

from spirit_tours.core.clock import now_utc
from spirit_tours.core.enums import Role
from spirit_tours.core.errors import DomainError, unauthenticated
from spirit_tours.permissions.viewer import Viewer

ISSUER = "spirit-tours"
_ALGORITHM = "HS256"


@dataclass(frozen=True)
class AccessToken:
    token: str
    expires_at: datetime


@dataclass(frozen=True)
class AccessClaims:
    """What a genuine, unexpired access token says; not yet checked against revocations."""

    viewer: Viewer
    session_id: uuid.UUID
    expires_at: datetime


class TokenService:
    """Issues and verifies access tokens signed with ``SPIRIT_JWT_SECRET``."""

    VERIFIED_CACHE_SIZE = 4096

    def __init__(self, secret: str, ttl_seconds: int) -> None:
        self._secret = secret
        self._ttl = timedelta(seconds=ttl_seconds)
        # Tokens whose signature and claims were verified, by their exact text: a client sends
        # the same token on every request until it expires, and verifying it again is most of
        # what authenticating a request costs in this process. Expiry is checked on each use.
        self._verified: dict[str, AccessClaims] = {}

    @property
    def ttl_seconds(self) -> int:
        return int(self._ttl.total_seconds())

    def issue(
        self, viewer: Viewer, *, session_id: uuid.UUID | None = None, now: datetime | None = None
    ) -> AccessToken:
        """A token for ``viewer`` in the session ``session_id`` (a refresh-token family; a
        fresh one, which nothing can revoke but expiry, when omitted)."""
        issued = now or now_utc()
        expires = issued + self._ttl
        claims = {
            "iss": ISSUER,
            "sub": str(viewer.user_id),
            "role": viewer.role.value,
            "cid": str(viewer.company_id) if viewer.company_id else None,
            "iat": int(issued.timestamp()),
            "exp": int(expires.timestamp()),
            "jti": uuid.uuid4().hex,
            "sid": str(session_id or uuid.uuid4()),
            "typ": "access",
        }
        return AccessToken(jwt.encode(claims, self._secret, algorithm=_ALGORITHM), expires)

    def decode(self, token: str) -> AccessClaims:
        """What a token says, or an UNAUTHENTICATED error saying why not. Callers serving a
        request use ``Services.authenticate``, which also refuses revoked sessions."""
        claims = self._verified.get(token)
        if claims is None:
            claims = self._verify(token)
            if len(self._verified) >= self.VERIFIED_CACHE_SIZE:
                del self._verified[next(iter(self._verified))]  # the oldest entry
            self._verified[token] = claims
        if now_utc() >= claims.expires_at:
            del self._verified[token]
            raise _expired()
        return claims

    def _verify(self, token: str) -> AccessClaims:
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[_ALGORITHM],
                issuer=ISSUER,
                options={"require": ["exp", "iat", "sub", "iss"]},
            )
        except jwt.ExpiredSignatureError as error:
            raise _expired() from error
        except jwt.InvalidTokenError as error:
            raise unauthenticated("The access token is invalid.", reason="INVALID_TOKEN") from error
        try:
            if claims.get("typ") != "access":
                raise ValueError("not an access token")
            company = claims.get("cid")
            viewer = Viewer(
                user_id=uuid.UUID(claims["sub"]),
                role=Role(claims["role"]),
                company_id=uuid.UUID(company) if company else None,
            )
            return AccessClaims(
                viewer,
                uuid.UUID(claims["sid"]),
                datetime.fromtimestamp(int(claims["exp"]), UTC),
            )
        except (KeyError, ValueError, TypeError) as error:
            raise unauthenticated("The access token is invalid.", reason="INVALID_TOKEN") from error


def _expired() -> DomainError:
    return unauthenticated("The access token has expired; refresh it.", reason="TOKEN_EXPIRED")


def new_refresh_token() -> str:
    return secrets.token_urlsafe(32)


def digest(refresh_token: str) -> str:
    return hashlib.sha256(refresh_token.encode()).hexdigest()
