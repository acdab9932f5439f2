"""Sign-in inputs and payloads."""

from __future__ import annotations

from datetime import datetime

import strawberry

from spirit_tours.resolvers.auth import Session
from spirit_tours.schema.accounts.types import User


@strawberry.input
class LoginInput:
    email: str
    password: str


@strawberry.input
class RefreshTokenInput:
    refresh_token: str


@strawberry.input
class LogoutInput:
    refresh_token: str
    everywhere: bool = strawberry.field(
        default=False, description="Revoke every session of the user, not only this device's."
    )


@strawberry.type(description="Tokens for a signed-in session.")
class AuthPayload:
    access_token: str = strawberry.field(description="Send as `Authorization: Bearer <token>`.")
    access_token_expires_at: datetime
    refresh_token: str = strawberry.field(
        description="Single use: `refreshToken` returns a new one and revokes this one."
    )
    refresh_token_expires_at: datetime
    user: User

    @classmethod
    def from_session(cls, session: Session) -> AuthPayload:
        return cls(
            access_token=session.access.token,
            access_token_expires_at=session.access.expires_at,
            refresh_token=session.refresh_token,
            refresh_token_expires_at=session.refresh_expires_at,
            user=User.from_model(session.user),
        )


@strawberry.type
class LogoutPayload:
    revoked_sessions: int = strawberry.field(description="How many refresh tokens were revoked.")


@strawberry.input
class ResetPasswordInput:
    token: str = strawberry.field(description="From the link in the password-reset e-mail.")
    new_password: str
