"""Field-level permission classes (docs/privacy.md §2.1): a hidden value resolves to ``null``.

Each type carrying priced or identifying data keeps its viewer's scope in a private ``scope``
attribute; these classes read it. Use them through :func:`guarded`, which makes the field fail
silently (``null`` or ``[]``) instead of raising, as the specification requires.
"""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.permission import BasePermission, PermissionExtension


class _ScopeRule(BasePermission):
    """True when the source's ``scope`` has the attribute ``rule`` set."""

    rule: str = ""
    message = "Hidden from this viewer."

    def has_permission(self, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
        scope = getattr(source, "scope", None)
        return scope is not None and bool(getattr(scope, self.rule))


class CanSeeOwner(_ScopeRule):
    rule = "sees_owner"


class CanSeeMarkup(_ScopeRule):
    rule = "sees_markup"


class CanSeeSellingPrice(_ScopeRule):
    rule = "sees_selling_price"


class CanSeeOfferCount(_ScopeRule):
    rule = "sees_offer_count"


class CanSeeOwnRank(_ScopeRule):
    rule = "sees_own_rank"


class CanSeeNetPrice(_ScopeRule):
    rule = "sees_net_price"


class CanSeeHotel(_ScopeRule):
    rule = "sees_hotel"


class CanSeeAlias(_ScopeRule):
    rule = "sees_alias"


class CanSeeOfferNotes(_ScopeRule):
    rule = "sees_notes"


class CanSeeOfferHistory(_ScopeRule):
    rule = "sees_history"


class CanSeePayments(_ScopeRule):
    rule = "sees_payments"


class CanSeeStaffing(_ScopeRule):
    rule = "sees_staffing"


class CanSeeQuotation(_ScopeRule):
    rule = "sees_quotation"


class CanSeeTimeOff(_ScopeRule):
    rule = "sees_time_off"


class CanSeeProviderDetails(_ScopeRule):
    rule = "sees_provider_details"


def guarded(permission: type[BasePermission], **field_options: Any) -> Any:
    """A field hidden (``null`` / ``[]``) from viewers the permission refuses."""
    return strawberry.field(
        extensions=[PermissionExtension(permissions=[permission()], fail_silently=True)],
        **field_options,
    )
