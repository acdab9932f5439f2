"""Strawberry permission classes: the single mechanism guarding every field and mutation.

Declared beside what they guard (``permission_classes=[...]``). They read the viewer from the
context, so queries, mutation payloads and subscription events share the same rules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from strawberry.permission import BasePermission

from spirit_tours.core.enums import Role
from spirit_tours.core.errors import forbidden
from spirit_tours.permissions.viewer import Viewer

if TYPE_CHECKING:
    from strawberry.types import Info


class ViewerContext(Protocol):
    """What the guards read of the GraphQL context (``context.Context``, a layer above)."""

    def require_viewer(self) -> Viewer: ...


class IsAuthenticated(BasePermission):
    """Any signed-in user; a missing, expired or tampered token is UNAUTHENTICATED."""

    def has_permission(self, source: Any, info: Info[ViewerContext, Any], **kwargs: Any) -> bool:
        info.context.require_viewer()
        return True


class HasRole(BasePermission):
    """Signed in with one of the given roles, else FORBIDDEN."""

    roles: tuple[Role, ...] = ()

    def has_permission(self, source: Any, info: Info[ViewerContext, Any], **kwargs: Any) -> bool:
        viewer = info.context.require_viewer()
        if viewer.role not in self.roles:
            raise forbidden()
        return True


class IsAdmin(HasRole):
    roles = (Role.ADMIN,)


class IsOperatorStaff(HasRole):
    """The operator's people: ADMIN and GUIDE."""

    roles = (Role.ADMIN, Role.GUIDE)
