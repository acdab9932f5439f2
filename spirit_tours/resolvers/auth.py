"""Sign-in rules: password login, refresh-token rotation and logout."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from spirit_tours.auth.passwords import verify_password
from spirit_tours.auth.revocation import SessionRevocations
from spirit_tours.auth.throttle import LoginThrottle
from spirit_tours.auth.tokens import AccessToken, TokenService, digest, new_refresh_token
from spirit_tours.config import Settings
from spirit_tours.core.clock import now_utc
from spirit_tours.core.errors import unauthenticated
from spirit_tours.permissions.viewer import Viewer
from spirit_tours.persistence.accounts import RefreshToken, User
from spirit_tours.persistence.database import SessionFactory
from spirit_tours.persistence.repositories import accounts
from spirit_tours.persistence.repositories.events import record_audit

_WRONG_CREDENTIALS = "The e-mail or the password is wrong."


class AuthServices(Protocol):
    """What sign-in needs of the process's services (``services.Services`` has all of it): named
    here so the rules do not import the container that sits above them."""

    settings: Settings
    sessions: SessionFactory
    tokens: TokenService
    revocations: SessionRevocations
    login_throttle: LoginThrottle


@dataclass(frozen=True)
class Session:
    user: User
    access: AccessToken
    refresh_token: str
    refresh_expires_at: datetime


def viewer_of(user: User) -> Viewer:
    return Viewer(user_id=user.id, role=user.role, company_id=user.company_id)


async def _open_session(
    services: AuthServices, session: AsyncSession, user: User, family_id: uuid.UUID | None = None
) -> Session:
    now = now_utc()
    token = new_refresh_token()
    expires = now + timedelta(seconds=services.settings.refresh_token_ttl_seconds)
    family_id = family_id or uuid.uuid4()
    session.add(
        RefreshToken(
            user_id=user.id, family_id=family_id, token_hash=digest(token), expires_at=expires
        )
    )
    access = services.tokens.issue(viewer_of(user), session_id=family_id, now=now)
    return Session(user, access, token, expires)


async def check_credentials(
    services: AuthServices, session: AsyncSession, email: str, password: str, client_ip: str
) -> User:
    """The active user with this e-mail and password, under the attempt limits."""
    email = email.strip()
    await services.login_throttle.check(email, client_ip)
    user = await accounts.user_by_email(session, email)
    valid = await verify_password(user.password_hash if user else None, password)
    if not valid or user is None or not user.is_active:
        await services.login_throttle.record_failure(email, client_ip)
        raise unauthenticated(_WRONG_CREDENTIALS, reason="INVALID_CREDENTIALS")
    return user


async def login(services: AuthServices, email: str, password: str, client_ip: str) -> Session:
    """Check the password under the attempt limits and open a new token family."""
    email = email.strip()
    async with services.sessions() as session, session.begin():
        user = await check_credentials(services, session, email, password, client_ip)
        opened = await _open_session(services, session, user)
        record_audit(session, viewer_of(user), "auth.login", "User", user.id)
    await services.login_throttle.record_success(email)
    return opened


async def refresh(services: AuthServices, refresh_token: str) -> Session:
    """Rotate a refresh token. Replaying a used one revokes its whole family (theft)."""
    now = now_utc()
    async with services.sessions() as session, session.begin():
        stored = await accounts.refresh_token_by_digest(
            session, digest(refresh_token), for_update=True
        )
        if stored is None:
            raise unauthenticated("The refresh token is invalid.", reason="INVALID_TOKEN")
        if stored.revoked_at is not None:
            await accounts.revoke_refresh_family(session, stored.family_id, now)
            # The thief's access tokens too; the family is revoked in PostgreSQL regardless.
            await services.revocations.revoke([stored.family_id], best_effort=True)
            record_audit(session, None, "auth.refresh_token_reused", "User", stored.user_id)
            reused = True
        else:
            reused = False
        if not reused:
            if stored.expires_at <= now:
                raise unauthenticated("The refresh token has expired.", reason="TOKEN_EXPIRED")
            user = await accounts.user_by_id(session, stored.user_id)
            if user is None or not user.is_active:
                raise unauthenticated("The account is disabled.", reason="ACCOUNT_DISABLED")
            stored.revoked_at = now
            record_audit(session, viewer_of(user), "auth.refresh", "User", user.id)
            return await _open_session(services, session, user, stored.family_id)
    # Raised after the commit, so the family stays revoked.
    raise unauthenticated(
        "The refresh token was already used; sign in again.", reason="TOKEN_REUSED"
    )


async def logout(services: AuthServices, refresh_token: str, *, everywhere: bool) -> int:
    """End the token's session (this device) or every session of its user, access tokens
    included; returns how many sessions were still open."""
    now = now_utc()
    async with services.sessions() as session, session.begin():
        stored = await accounts.refresh_token_by_digest(session, digest(refresh_token))
        if stored is None:
            raise unauthenticated("The refresh token is invalid.", reason="INVALID_TOKEN")
        record_audit(session, None, "auth.logout", "User", stored.user_id, everywhere=everywhere)
        if everywhere:
            families = await accounts.revoke_user_refresh_tokens(session, stored.user_id, now)
            await services.revocations.revoke([stored.family_id, *families])
            return len(families)
        revoked = await accounts.revoke_refresh_family(session, stored.family_id, now)
        # Before the commit: if Redis cannot record it, the logout fails, changing nothing.
        await services.revocations.revoke([stored.family_id])
        return revoked
