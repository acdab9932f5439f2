"""What a client sends to sign in, refresh, sign out and reset a password."""

from __future__ import annotations

import strawberry


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


@strawberry.input
class ResetPasswordInput:
    token: str = strawberry.field(description="From the link in the password-reset e-mail.")
    new_password: str
