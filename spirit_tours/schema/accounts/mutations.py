"""Sign-in, tokens, sign-out and password reset."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import strawberry

from spirit_tours.context import Context
from spirit_tours.emails.queueing import hand_over
from spirit_tours.emails.triggers import FrontEnd
from spirit_tours.resolvers import auth, password_reset
from spirit_tours.schema.accounts.inputs import (
    LoginInput,
    LogoutInput,
    RefreshTokenInput,
    ResetPasswordInput,
)
from spirit_tours.schema.accounts.types import AuthPayload, LogoutPayload


@strawberry.type
class AccountMutations:
    @strawberry.mutation(description="Sign in with e-mail and password.")
    async def login(
        self,
        info: strawberry.Info[Context, None],
        input: Annotated[LoginInput, strawberry.argument(description="The e-mail and password.")],
    ) -> AuthPayload:
        ctx = info.context
        session = await auth.login(ctx.services, input.email, input.password, ctx.client_ip)
        return AuthPayload.from_session(session)

    @strawberry.mutation(description="Trade a refresh token for new tokens (it is revoked).")
    async def refresh_token(
        self,
        info: strawberry.Info[Context, None],
        input: Annotated[
            RefreshTokenInput, strawberry.argument(description="The refresh token to trade.")
        ],
    ) -> AuthPayload:
        return AuthPayload.from_session(
            await auth.refresh(info.context.services, input.refresh_token)
        )

    @strawberry.mutation(description="Revoke a session's refresh tokens.")
    async def logout(
        self,
        info: strawberry.Info[Context, None],
        input: Annotated[
            LogoutInput,
            strawberry.argument(
                description="The session's refresh token, and whether to sign out everywhere."
            ),
        ],
    ) -> LogoutPayload:
        revoked = await auth.logout(
            info.context.services, input.refresh_token, everywhere=input.everywhere
        )
        return LogoutPayload(revoked_sessions=revoked)

    @strawberry.mutation(
        description="E-mail a password-reset link (HIGH priority). Always true: whether the "
        "address has an account is not revealed."
    )
    async def request_password_reset(
        self,
        info: strawberry.Info[Context, None],
        email: Annotated[
            str, strawberry.argument(description="The e-mail address of the account.")
        ],
    ) -> bool:
        services = info.context.services
        settings = services.settings
        async with info.context.transaction() as session:
            queued = await password_reset.request_reset(
                session,
                settings.jwt_secret.get_secret_value().encode(),
                email,
                links=FrontEnd(settings.front_end_url),
                ttl=timedelta(minutes=settings.password_reset_ttl_minutes),
                message_id_domain=services.message_id_domain,
            )
        if queued is not None:
            await hand_over(
                services.email_queues, [queued], timeout_seconds=settings.email_send_timeout_seconds
            )
        return True

    @strawberry.mutation(
        description="Set a new password with the e-mailed token; every session is signed out."
    )
    async def reset_password(
        self,
        info: strawberry.Info[Context, None],
        input: Annotated[
            ResetPasswordInput,
            strawberry.argument(description="The e-mailed token and the new password."),
        ],
    ) -> bool:
        services = info.context.services
        secret = services.settings.jwt_secret.get_secret_value().encode()
        async with info.context.transaction() as session:
            await password_reset.reset_password(
                session, secret, input.token, input.new_password,
                revocations=services.revocations,
            )  # fmt: skip
        return True
