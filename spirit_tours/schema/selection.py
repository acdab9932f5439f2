"""What an operation selects below a field: lets a page prefetch what its fields will read."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import strawberry
from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField, Selection


def selected_below(info: strawberry.Info[Any, Any], *path: str) -> set[str]:
    """The names (GraphQL's) of the fields selected at ``path`` below the current field
    (e.g. ``"edges", "node"``: the node's fields, with ``"offers.hotel"`` for a field one level
    further), through fragments and inline fragments. Directives are ignored: a field under
    ``@skip`` still counts, which at worst prefetches rows nobody reads."""
    names: set[str] = set()
    for field in _at(info.selected_fields[0].selections, path):
        names.add(field.name)
        names.update(f"{field.name}.{child.name}" for child in _at(field.selections, ()))
    return names


def _at(selections: Iterable[Selection], path: tuple[str, ...]) -> Iterator[SelectedField]:
    """The fields at ``path`` below ``selections``, fragments flattened."""
    for selection in selections:
        if isinstance(selection, FragmentSpread | InlineFragment):
            yield from _at(selection.selections, path)
        elif isinstance(selection, SelectedField):
            if not path:
                yield selection
            elif selection.name == path[0]:
                yield from _at(selection.selections, path[1:])
