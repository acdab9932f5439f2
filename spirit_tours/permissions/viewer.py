"""Who is asking: the identity carried by a verified access token."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from spirit_tours.core.enums import Role


@dataclass(frozen=True)
class Viewer:
    user_id: uuid.UUID
    role: Role
    company_id: uuid.UUID | None

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    def has_role(self, *roles: Role) -> bool:
        return self.role in roles
