"""The root Mutation type. Errors follow ``spirit_tours.errors``: ``extensions.code``."""

from __future__ import annotations

import strawberry

from spirit_tours.context import Context
from spirit_tours.resolvers import auth
from spirit_tours.schema.auth import (
    AuthPayload,
    LoginInput,
    LogoutInput,
    LogoutPayload,
    RefreshTokenInput,
)
from spirit_tours.schema.booking_mutations import BookingMutations
from spirit_tours.schema.chat import ChatMutations
from spirit_tours.schema.emails import EmailMutations
from spirit_tours.schema.payment_api import PaymentMutations
from spirit_tours.schema.quotation_mutations import QuotationMutations
from spirit_tours.schema.staffing import StaffingMutations


@strawberry.type
class Mutation(
    QuotationMutations,
    BookingMutations,
    PaymentMutations,
    StaffingMutations,
    ChatMutations,
    EmailMutations,
):
    @strawberry.mutation(description="Sign in with e-mail and password.")
    async def login(self, info: strawberry.Info[Context, None], input: LoginInput) -> AuthPayload:
        ctx = info.context
        session = await auth.login(ctx.services, input.email, input.password, ctx.client_ip)
        return AuthPayload.from_session(session)

    @strawberry.mutation(description="Trade a refresh token for new tokens (it is revoked).")
    async def refresh_token(
        self, info: strawberry.Info[Context, None], input: RefreshTokenInput
    ) -> AuthPayload:
        return AuthPayload.from_session(
            await auth.refresh(info.context.services, input.refresh_token)
        )

    @strawberry.mutation(description="Revoke a session's refresh tokens.")
    async def logout(
        self, info: strawberry.Info[Context, None], input: LogoutInput
    ) -> LogoutPayload:
        revoked = await auth.logout(
            info.context.services, input.refresh_token, everywhere=input.everywhere
        )
        return LogoutPayload(revoked_sessions=revoked)
