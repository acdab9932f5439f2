"""The signed-in user."""

from __future__ import annotations

import strawberry

from spirit_tours.context import Context
from spirit_tours.core.errors import unauthenticated
from spirit_tours.permissions.classes import IsAuthenticated
from spirit_tours.schema.accounts.types import User


@strawberry.type
class AccountQueries:
    @strawberry.field(permission_classes=[IsAuthenticated], description="The signed-in user.")
    async def viewer(self, info: strawberry.Info[Context, None]) -> User:
        viewer = info.context.require_viewer()
        user = await info.context.loaders.user.load(viewer.user_id)
        if user is None or not user.is_active:
            raise unauthenticated("The account no longer exists or is disabled.")
        return User.from_model(user)
