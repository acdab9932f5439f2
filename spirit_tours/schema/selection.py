"""What an operation selects below a field: lets a page prefetch what its fields will read."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import strawberry
from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField, Selection


def selects(info: strawberry.Info[Any, Any], *path: str) -> bool:
    """Whether the current field's selection reaches ``path`` (GraphQL names, e.g. ``"edges",
    "node", "offers"``), through fragments and inline fragments. Directives are ignored: a field
    under ``@skip`` still counts, which at worst prefetches rows nobody reads."""
    return _reaches(info.selected_fields[0].selections, path)


def _reaches(selections: Iterable[Selection], path: tuple[str, ...]) -> bool:
    if not path:
        return True
    for selection in selections:
        if isinstance(selection, FragmentSpread | InlineFragment):
            below, rest = selection.selections, path
        elif isinstance(selection, SelectedField) and selection.name == path[0]:
            below, rest = selection.selections, path[1:]
        else:
            continue
        if _reaches(below, rest):
            return True
    return False
