"""Password reset by e-mail: a signed, expiring token bound to the current password hash, so
it works once (the new password changes the hash) and needs no table."""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from spirit_tours.auth.passwords import MIN_PASSWORD_LENGTH, hash_password
from spirit_tours.auth.revocation import SessionRevocations
from spirit_tours.core.clock import now_utc
from spirit_tours.core.errors import bad_input
from spirit_tours.emails.queueing import Queued, queue_email
from spirit_tours.emails.triggers import FrontEnd
from spirit_tours.persistence.accounts import User
from spirit_tours.persistence.emails import EmailMessage
from spirit_tours.persistence.repositories import accounts
from spirit_tours.persistence.repositories.events import record_audit
from spirit_tours.resolvers.auth import viewer_of

MIN_INTERVAL = timedelta(seconds=60)
MAX_PER_HOUR = 5


def _signature(secret: bytes, user_id: uuid.UUID, expires: int, password_hash: str) -> str:
    message = f"reset|{user_id}|{expires}|{password_hash}".encode()
    return base64.urlsafe_b64encode(hmac.new(secret, message, hashlib.sha256).digest()).decode()


def reset_token(secret: bytes, user: User, expires_at: datetime) -> str:
    expires = int(expires_at.timestamp())
    return f"{user.id}.{expires}.{_signature(secret, user.id, expires, user.password_hash)}"


async def request_reset(
    session: AsyncSession,
    secret: bytes,
    email: str,
    *,
    links: FrontEnd,
    ttl: timedelta,
    message_id_domain: str,
) -> Queued | None:
    """Queue the HIGH-priority mail; unknown addresses get nothing and learn nothing. At most
    one mail a minute and five an hour per user, however often the button is pressed."""
    user = await accounts.user_by_email(session, email.strip())
    if user is None or not user.is_active:
        return None
    now = now_utc()
    recent = list(
        await session.scalars(
            select(EmailMessage.created_at).where(
                EmailMessage.user_id == user.id,
                EmailMessage.template == "password_reset",
                EmailMessage.created_at > now - timedelta(hours=1),
            )
        )
    )
    if len(recent) >= MAX_PER_HOUR or any(at > now - MIN_INTERVAL for at in recent):
        return None  # a mailbox is not to be flooded; the caller still answers true
    token = reset_token(secret, user, now + ttl)
    return await queue_email(
        session,
        template="password_reset",
        to=user.email,
        locale=user.locale.value,
        context={
            "name": user.full_name,
            "minutes": int(ttl.total_seconds() // 60),
            "reset_url": links.reset_password(token),
        },
        message_id_domain=message_id_domain,
        user_id=user.id,
        source_key=f"reset:{user.id}:{int(now.timestamp()) // 60}",
    )


def _invalid() -> Exception:
    return bad_input("token", "The reset link is invalid or has expired; ask for a new one.")


async def reset_password(
    session: AsyncSession,
    secret: bytes,
    token: str,
    new_password: str,
    *,
    revocations: SessionRevocations,
) -> User:
    """Set the new password and sign the user out everywhere, access tokens included."""
    try:
        raw_id, raw_expires, signature = token.split(".", 2)
        user_id, expires = uuid.UUID(raw_id), int(raw_expires)
    except ValueError as error:
        raise _invalid() from error
    user = await session.get(User, user_id, with_for_update=True)
    if user is None or not user.is_active or expires < now_utc().timestamp():
        raise _invalid()
    expected = _signature(secret, user.id, expires, user.password_hash)
    if not hmac.compare_digest(signature.encode(), expected.encode()):
        raise _invalid()
    if len(new_password) < MIN_PASSWORD_LENGTH:
        raise bad_input(
            "newPassword", f"The password needs at least {MIN_PASSWORD_LENGTH} characters."
        )
    user.password_hash = await hash_password(new_password)
    families = await accounts.revoke_user_refresh_tokens(session, user.id, now_utc())
    await revocations.revoke(families)  # before the commit: no reset without it
    record_audit(session, viewer_of(user), "auth.password_reset", "User", user.id)
    return user
