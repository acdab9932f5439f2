"""What a client sends to sign in, refresh, sign out and reset a password."""

from __future__ import annotations

import strawberry


@strawberry.input(description="E-mail and password to sign in with.")
class LoginInput:
    email: str = strawberry.field(description="The account's e-mail address, in any case.")
    password: str = strawberry.field(description="The account's password.")


@strawberry.input(description="A refresh token to trade for new tokens.")
class RefreshTokenInput:
    refresh_token: str = strawberry.field(
        description="The refresh token of the session, as last received."
    )


@strawberry.input(description="The session to sign out.")
class LogoutInput:
    refresh_token: str = strawberry.field(
        description="The refresh token of the session, as last received."
    )
    everywhere: bool = strawberry.field(
        default=False, description="Revoke every session of the user, not only this device's."
    )


@strawberry.input(description="A new password, with the token of a password-reset e-mail.")
class ResetPasswordInput:
    token: str = strawberry.field(description="From the link in the password-reset e-mail.")
    new_password: str = strawberry.field(description="The new password, at least 8 characters.")
