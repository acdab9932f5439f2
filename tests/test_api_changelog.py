"""No breaking (or dangerous) change of the API lands unless docs/api/CHANGELOG.md records it.

The current schema is compared with the last released one, docs/api/released.graphql, by
graphql-core's ``find_breaking_changes`` and ``find_dangerous_changes``; each change needs a
line under "## Unreleased" naming its type and schema coordinate (``tests/schema_changes.py``).
Reads files only.
"""

from __future__ import annotations

import pytest
from graphql import GraphQLObjectType, build_schema, print_schema

from spirit_tours.schema.build import sdl
from tests.permission_cases import clean_state  # noqa: F401 - replaces the suite's fixture
from tests.schema_changes import (
    CHANGELOG,
    RELEASED,
    Change,
    coordinate,
    schema_changes,
    unrecorded,
)

CHANGELOG_WITH_NOTHING = "# Changelog\n\n## Unreleased\n\n## 1.0.0\n"


def test_every_breaking_or_dangerous_change_since_the_release_is_in_the_changelog() -> None:
    missing = unrecorded(RELEASED.read_text(), sdl(), CHANGELOG.read_text(encoding="utf-8"))
    lines = "\n".join(change.record() for change in missing)
    assert not missing, (
        f"{len(missing)} change(s) of the API since docs/api/released.graphql are not recorded. "
        "Add under '## Unreleased' in docs/api/CHANGELOG.md (replace the text after the colon "
        f"with what a client must do):\n{lines}"
    )


def _without_booking_reference(text: str) -> str:
    """The SDL with ``Booking.reference`` removed, whatever its description says."""
    schema = build_schema(text)
    booking = schema.type_map["Booking"]
    assert isinstance(booking, GraphQLObjectType)
    del booking.fields["reference"]
    return print_schema(schema)


def test_an_unrecorded_breaking_change_fails_and_names_the_line_to_add() -> None:
    released = sdl()
    removed = _without_booking_reference(released)
    assert unrecorded(released, removed, CHANGELOG_WITH_NOTHING) == [
        Change("BREAKING", "FIELD_REMOVED", "Booking.reference",
               "Field Booking.reference was removed.")
    ]  # fmt: skip
    (change,) = unrecorded(released, removed, CHANGELOG_WITH_NOTHING)
    assert change.record() == (
        "- FIELD_REMOVED `Booking.reference`: Field Booking.reference was removed."
    )
    recorded = CHANGELOG_WITH_NOTHING.replace(
        "## Unreleased\n", "## Unreleased\n\n- FIELD_REMOVED `Booking.reference`: use `id`.\n"
    )
    assert unrecorded(released, removed, recorded) == []


def test_a_record_counts_only_under_unreleased_and_only_for_its_own_change() -> None:
    released = sdl()
    removed = _without_booking_reference(released)
    old_release = CHANGELOG_WITH_NOTHING + "\n- FIELD_REMOVED `Booking.reference`: long ago.\n"
    assert len(unrecorded(released, removed, old_release)) == 1
    other_field = CHANGELOG_WITH_NOTHING.replace(
        "## Unreleased\n", "## Unreleased\n\n- FIELD_REMOVED `Booking.status`: not this one.\n"
    )
    assert len(unrecorded(released, removed, other_field)) == 1
    other_kind = CHANGELOG_WITH_NOTHING.replace(
        "## Unreleased\n", "## Unreleased\n\n- FIELD_CHANGED_KIND `Booking.reference`: no.\n"
    )
    assert len(unrecorded(released, removed, other_kind)) == 1


def test_a_new_enum_value_is_dangerous_and_needs_a_line_too() -> None:
    released = sdl()
    grown = released.replace("enum BookingStatus {\n", "enum BookingStatus {\n  ON_HOLD\n", 1)
    assert unrecorded(released, grown, CHANGELOG_WITH_NOTHING) == [
        Change("DANGEROUS", "VALUE_ADDED_TO_ENUM", "BookingStatus.ON_HOLD",
               "Enum value BookingStatus.ON_HOLD was added.")
    ]  # fmt: skip


def test_an_additive_change_needs_no_line() -> None:
    released = sdl()
    added = released.replace("type Booking {\n", "type Booking {\n  nickname: String\n", 1)
    assert schema_changes(released, added) == []


@pytest.mark.parametrize(
    ("kind", "description", "expected"),
    [
        ("ARG_CHANGED_KIND",
         "Argument Query.emailStats(locales:) has changed type from [String!] to [Locale!].",
         "Query.emailStats(locales:)"),
        ("DIRECTIVE_REMOVED", "Directive @canSeeOwner was removed.", "@canSeeOwner"),
        ("TYPE_REMOVED", "PaymentAttempt was removed.", "PaymentAttempt"),
        ("TYPE_REMOVED_FROM_UNION", "PresenceChanged was removed from union type "
         "QuotationRoomEvent.", "QuotationRoomEvent.PresenceChanged"),
        ("IMPLEMENTED_INTERFACE_ADDED", "Node added to interfaces implemented by Booking.",
         "Booking.Node"),
        ("IMPLEMENTED_INTERFACE_REMOVED", "Booking no longer implements interface Node.",
         "Booking.Node"),
        ("FIELD_CHANGED_KIND", "Field Query.booking changed type from Booking! to Booking.",
         "Query.booking"),
    ],
)  # fmt: skip
def test_each_change_is_named_by_its_schema_coordinate(
    kind: str, description: str, expected: str
) -> None:
    assert coordinate(kind, description) == expected
