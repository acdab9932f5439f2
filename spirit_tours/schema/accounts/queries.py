"""The signed-in user."""

from __future__ import annotations

import strawberry

from spirit_tours.context import Context
from spirit_tours.core.errors import unauthenticated
from spirit_tours.permissions.classes import IsAuthenticated
from spirit_tours.persistence.repositories import accounts
from spirit_tours.schema.accounts.types import User


@strawberry.type
class AccountQueries:
    @strawberry.field(permission_classes=[IsAuthenticated], description="The signed-in user.")
    async def viewer(self, info: strawberry.Info[Context, None]) -> User:
        viewer = info.context.require_viewer()
        async with info.context.session() as session:
            user = await accounts.user_by_id(session, viewer.user_id)
        if user is None or not user.is_active:
            raise unauthenticated("The account no longer exists or is disabled.")
        return User.from_model(user)
