"""Staffing privacy (docs/privacy.md §2.1, §2.2): a guide's profile and time off are the
operator's and that guide's business only; hotels never see a booking's guide or vehicle
(``BookingScope.sees_staffing``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from spirit_tours.core.enums import Role
from spirit_tours.permissions.viewer import Viewer


def is_self_or_operator(viewer: Viewer, guide_user_id: uuid.UUID) -> bool:
    """ADMIN, or the guide themself: who reads a guide's profile by id and changes it."""
    return viewer.role == Role.ADMIN or viewer.user_id == guide_user_id


@dataclass(frozen=True)
class GuideScope:
    sees_time_off: bool


def guide_scope(viewer: Viewer, guide_user_id: uuid.UUID) -> GuideScope:
    """Days off say where a guide is not: the operator and the guide only."""
    return GuideScope(sees_time_off=is_self_or_operator(viewer, guide_user_id))
