"""Compare the schema with the last released one, and the changelog that must record each
breaking or dangerous difference (docs/api/CHANGELOG.md says how).

A change is named by its graphql-core type and the schema coordinate it is about
(``FIELD_CHANGED_KIND `Booking.currency```); a union member or an interface is named
``Union.Member`` / ``Type.Interface``. Read-only: files and graphql-core, no server.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from graphql import build_schema
from graphql.utilities import find_breaking_changes, find_dangerous_changes

ROOT = Path(__file__).parent.parent
RELEASED = ROOT / "docs" / "api" / "released.graphql"
CHANGELOG = ROOT / "docs" / "api" / "CHANGELOG.md"
CURRENT = ROOT / "schema.graphql"

_NAME = re.compile(r"@?[_A-Za-z][_0-9A-Za-z]*(?:\.[_A-Za-z][_0-9A-Za-z]*)?(?:\([_A-Za-z]\w*:\))?")
_UNRELEASED = re.compile(r"^## Unreleased\s*$(.*?)(?=^## |\Z)", re.MULTILINE | re.DOTALL)


@dataclass(frozen=True, order=True)
class Change:
    severity: str  # BREAKING or DANGEROUS
    kind: str  # graphql-core's change type, e.g. FIELD_CHANGED_KIND
    coordinate: str  # e.g. Booking.currency, Query.emailStats(templates:), @canSeeOwner
    description: str

    def record(self) -> str:
        """The changelog line that records it (the explanation after the colon is free)."""
        return f"- {self.kind} `{self.coordinate}`: {self.description}"

    def recorded_in(self, section: str) -> bool:
        return any(
            re.search(rf"\b{self.kind}\b", line) and f"`{self.coordinate}`" in line
            for line in section.splitlines()
        )


def coordinate(kind: str, description: str) -> str:
    """The schema coordinate a graphql-core change description is about."""
    names: list[str] = _NAME.findall(description)
    if kind in ("TYPE_REMOVED_FROM_UNION", "TYPE_ADDED_TO_UNION"):
        return f"{names[-1]}.{names[0]}"  # "Member was removed from union type Union."
    if kind == "IMPLEMENTED_INTERFACE_REMOVED":
        return f"{names[0]}.{names[-1]}"  # "Type no longer implements interface Iface."
    if kind == "IMPLEMENTED_INTERFACE_ADDED":
        return f"{names[-1]}.{names[0]}"  # "Iface added to interfaces implemented by Type."
    qualified = [name for name in names if any(mark in name for mark in ".@(")]
    if qualified:
        return qualified[0]
    if description.startswith("Standard scalar "):
        return names[2]
    return names[0]


def schema_changes(released_sdl: str, current_sdl: str) -> list[Change]:
    """Every breaking and dangerous change from the released schema to the current one."""
    old, new = build_schema(released_sdl), build_schema(current_sdl)
    found = [
        Change("BREAKING", c.type.name, coordinate(c.type.name, c.description), c.description)
        for c in find_breaking_changes(old, new)
    ] + [
        Change("DANGEROUS", c.type.name, coordinate(c.type.name, c.description), c.description)
        for c in find_dangerous_changes(old, new)
    ]
    return sorted(set(found))


def unreleased_section(changelog: str) -> str:
    match = _UNRELEASED.search(changelog)
    return match.group(1) if match else ""


def unrecorded(released_sdl: str, current_sdl: str, changelog: str) -> list[Change]:
    """The changes the changelog's "## Unreleased" section does not record."""
    section = unreleased_section(changelog)
    return [
        change
        for change in schema_changes(released_sdl, current_sdl)
        if not change.recorded_in(section)
    ]
