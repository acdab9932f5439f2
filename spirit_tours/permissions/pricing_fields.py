"""Field-level permission classes (docs/privacy.md §2.1): a hidden value resolves to ``null``.

Each type carrying priced or identifying data keeps its viewer's scope in a private ``scope``
attribute, computed once per object; these classes read it. Use them through :func:`guarded`,
which makes the field fail silently (``null`` or ``[]``) instead of raising, as the
specification requires. The check is one attribute read in the field's own resolver, sync or
async like the resolver: no field extension, so a guarded field costs what a plain resolver
costs (a page of quotations has hundreds of them).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

import strawberry
from strawberry.permission import BasePermission

GUARD = "spirit_tours.guard"
"""The key of a guarded field's ``metadata`` that holds its permission class."""


class _ScopeRule(BasePermission):
    """True when the source's ``scope`` has the attribute ``rule`` set."""

    rule: str = ""
    message = "Hidden from this viewer."

    @classmethod
    def shows(cls, source: Any) -> bool:
        """Whether ``source``'s scope shows this field; no scope shows nothing (fail closed)."""
        scope = getattr(source, "scope", None)
        return scope is not None and bool(getattr(scope, cls.rule))

    def has_permission(self, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
        return self.shows(source)


class CanSeeOwner(_ScopeRule):
    rule = "sees_owner"


class CanSeeMarkup(_ScopeRule):
    rule = "sees_markup"


class CanSeeSellingPrice(_ScopeRule):
    rule = "sees_selling_price"


class CanSeeModelInsights(_ScopeRule):
    rule = "sees_model_insights"


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


def guarded(permission: type[_ScopeRule], **field_options: Any) -> Any:
    """A field hidden from viewers the permission refuses: ``[]`` for a list (nullable or not),
    else ``null`` — what strawberry's ``PermissionExtension(fail_silently=True)`` answered —
    without calling the resolver."""
    shows = permission.shows
    # Recorded on the field, not published: the public schema carries no directive of ours.
    # ``schema.build.guarded_fields`` reads it back for docs/api/guarded-fields.md.
    field_options["metadata"] = {**field_options.get("metadata", {}), GUARD: permission}

    def decorate(resolver: Callable[..., Any]) -> Any:
        returns = field_options.get("graphql_type") or resolver.__annotations__.get("return")
        empty_list = str(returns).startswith("list[")

        def hidden() -> Any:
            return [] if empty_list else None

        if inspect.iscoroutinefunction(resolver):

            @functools.wraps(resolver)
            async def guarded_async(self: Any, *args: Any, **kwargs: Any) -> Any:
                if not shows(self):
                    return hidden()
                return await resolver(self, *args, **kwargs)

            return strawberry.field(**field_options)(guarded_async)

        @functools.wraps(resolver)
        def guarded_sync(self: Any, *args: Any, **kwargs: Any) -> Any:
            return resolver(self, *args, **kwargs) if shows(self) else hidden()

        return strawberry.field(**field_options)(guarded_sync)

    return decorate
