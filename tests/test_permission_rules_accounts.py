"""docs/privacy.md §2.1 and §2.8, who gets past a root field at all: the role classes every
private field and mutation is declared with, for each viewer kind and for an anonymous caller.
A real ``Context`` with only its viewer set (the classes read nothing else); no database."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

import pytest
from strawberry.permission import BasePermission

from spirit_tours.context import Context
from spirit_tours.core.errors import DomainError, ErrorCode
from spirit_tours.permissions.classes import IsAdmin, IsAuthenticated, IsOperatorStaff
from spirit_tours.permissions.viewer import Viewer
from tests.permission_cases import VIEWERS, clean_state  # noqa: F401 - replaces the fixture

OK, NO, ANON = "allowed", ErrorCode.FORBIDDEN, ErrorCode.UNAUTHENTICATED
# viewer kind → IsAuthenticated, IsOperatorStaff, IsAdmin
ROLES: dict[str, tuple[object, object, object]] = {
    "anonymous": (ANON, ANON, ANON),
    "admin": (OK, OK, OK),
    "guide": (OK, OK, NO),
    "owner agency": (OK, NO, NO),
    "owner client": (OK, NO, NO),
    "invited hotel A": (OK, NO, NO),
    "uninvited hotel": (OK, NO, NO),
}


def _outcome(permission: BasePermission, viewer: Viewer | None) -> object:
    context = Context(services=cast(Any, None), request=cast(Any, None), viewer=viewer)
    info = cast(Any, SimpleNamespace(context=context))  # strawberry's Info: only .context is read
    try:
        assert permission.has_permission(None, info) is True
    except DomainError as error:
        return error.code
    return OK


@pytest.mark.parametrize("kind", sorted(ROLES))
def test_role_classes(kind: str) -> None:
    viewer = None if kind == "anonymous" else VIEWERS[kind]
    classes = (IsAuthenticated(), IsOperatorStaff(), IsAdmin())
    assert tuple(_outcome(permission, viewer) for permission in classes) == ROLES[kind]


def test_a_refused_token_says_why() -> None:
    """A caller whose token was refused is told the reason, not a bare UNAUTHENTICATED."""
    reason = DomainError(ErrorCode.UNAUTHENTICATED, "Expired.", reason="TOKEN_EXPIRED")
    context = Context(services=cast(Any, None), request=cast(Any, None), auth_error=reason)
    with pytest.raises(DomainError) as refused:
        IsAuthenticated().has_permission(None, cast(Any, SimpleNamespace(context=context)))
    assert refused.value is reason
