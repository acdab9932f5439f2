"""Guides and vehicles: never two overlapping assignments (even racing, even bypassing the
API), languages, time off, capacity, and guides seeing only their own bookings."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from spirit_tours.core.enums import Role
from spirit_tours.persistence.database import SessionFactory
from spirit_tours.persistence.staffing import GuideAssignment
from tests.booking_flows import (
    ASSIGN_GUIDE,
    ASSIGN_TRANSPORT,
    CANCEL,
    CREATE_VEHICLE,
    booked,
)
from tests.conftest import PASSWORD, UserFactory
from tests.graphql_client import GraphQLClient
from tests.quotation_flows import World, make_world

UNASSIGN = (
    "mutation($b: ID!) { unassignGuide(input: {bookingId: $b}) { booking { guide { language } } } }"
)
MY_BOOKINGS = "{ bookings { totalCount edges { node { id } } } }"
GUIDES = """
query($f: GuideFilter) {
  guides(filter: $f) { nodes { id fullName languages timeOff { startDate } } }
}"""
VEHICLES = "query($f: VehicleFilter) { vehicles(filter: $f) { nodes { plate } } }"
LANGUAGES = """
mutation($g: ID!, $l: [String!]!) {
  setGuideLanguages(input: {guideId: $g, languages: $l}) { guide { languages } }
}"""
TIME_OFF = """
mutation($g: ID!, $from: Date!, $to: Date!) {
  addGuideTimeOff(input: {guideId: $g, startDate: $from, endDate: $to, reason: "Holiday"}) {
    guide { timeOff { id startDate endDate reason } }
  }
}"""
START = date.today() + timedelta(days=60)
# An assignment written straight into the table, bypassing every check of the API.
RAW_INSERT = text(
    "INSERT INTO guide_assignments (id, booking_id, guide_id, start_date, end_date, "
    "assigned_by_id, created_at) SELECT gen_random_uuid(), id, :guide, start_date, end_date, "
    ":guide, now() FROM bookings WHERE id = :booking"
)


OVERLAP = r"ExclusionViolationError.*guide_assignments_no_overlap"


async def _active_assignments(sessions: SessionFactory, guide_id: uuid.UUID) -> int:
    async with sessions() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(GuideAssignment)
            .where(GuideAssignment.guide_id == guide_id, GuideAssignment.released_at.is_(None))
        )
    return int(count or 0)


async def _guide(gql: GraphQLClient, make_user: UserFactory, email: str) -> tuple[str, str]:
    user = await make_user(email, Role.GUIDE)
    return str(user.id), await gql.token_for(email, PASSWORD)


async def _bookings(gql: GraphQLClient, world: World, starts: list[date]) -> list[str]:
    return [await booked(gql, world, start=start, days=4) for start in starts]


async def test_concurrent_assignments_of_one_guide_to_overlapping_bookings_keep_one(
    gql: GraphQLClient, make_user: UserFactory, sessions: SessionFactory
) -> None:
    world = await make_world(gql, make_user)
    guide_id, _ = await _guide(gql, make_user, "guide@op.example")
    # Six trips of five days, each starting two days after the previous: all overlap a neighbour.
    bookings = await _bookings(gql, world, [START + timedelta(days=2 * n) for n in range(6)])
    results = await asyncio.gather(
        *(
            gql.execute(ASSIGN_GUIDE, {"b": b, "g": guide_id}, token=world.admin.token)
            for b in bookings
            for _ in range(2)
        )
    )
    assigned = {r.data["assignGuide"]["booking"]["id"] for r in results if not r.errors}
    assert all(r.codes == ["CONFLICT"] for r in results if r.errors)
    # Whatever order the requests ran in, the assigned trips never overlap one another.
    starts = sorted(bookings.index(b) * 2 for b in assigned)
    assert all(later - earlier > 4 for earlier, later in itertools.pairwise(starts))
    assert len(assigned) == 2  # every maximal set of non-overlapping trips here has two
    assert await _active_assignments(sessions, uuid.UUID(guide_id)) == len(assigned)


async def test_the_database_itself_refuses_an_overlapping_assignment(
    gql: GraphQLClient, make_user: UserFactory, sessions: SessionFactory
) -> None:
    world = await make_world(gql, make_user)
    guide_id, _ = await _guide(gql, make_user, "guide@op.example")
    first, second, later = await _bookings(
        gql, world, [START, START + timedelta(days=4), START + timedelta(days=5)]
    )
    (await gql.execute(ASSIGN_GUIDE, {"b": first, "g": guide_id}, token=world.admin.token)).ok()
    insert = RAW_INSERT
    # The last day of the first trip is the first day of the second: they overlap.
    with pytest.raises(IntegrityError, match=OVERLAP):
        async with sessions() as session, session.begin():
            await session.execute(insert, {"guide": guide_id, "booking": second})
    async with sessions() as session, session.begin():  # the day after is free
        await session.execute(insert, {"guide": guide_id, "booking": later})
    assert await _active_assignments(sessions, uuid.UUID(guide_id)) == 2


async def test_overlaps_are_refused_by_exclude_constraints_not_triggers(
    sessions: SessionFactory,
) -> None:
    async with sessions() as session:
        constraints = (
            await session.execute(
                text(
                    "SELECT conrelid::regclass::text, pg_get_constraintdef(oid) FROM pg_constraint "
                    "WHERE contype = 'x' ORDER BY 1"
                )
            )
        ).all()
        triggers = await session.scalar(
            text("SELECT count(*) FROM pg_trigger WHERE tgname LIKE '%no_overlap'")
        )
    assert constraints == [
        (
            table,
            f"EXCLUDE USING gist ({column} WITH =, "
            "daterange(start_date, end_date, '[]'::text) WITH &&) WHERE ((released_at IS NULL))",
        )
        for table, column in (
            ("guide_assignments", "guide_id"),
            ("transport_assignments", "vehicle_id"),
        )
    ]
    assert triggers == 0


async def _until_waiting_on_a_lock(sessions: SessionFactory) -> None:
    """Poll PostgreSQL until a session of this database waits on a lock."""
    waiting = text(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    for _ in range(400):
        async with sessions() as session:
            if await session.scalar(waiting):
                return
        await asyncio.sleep(0.025)
    raise AssertionError("no transaction ever waited on a lock")


async def test_racing_transactions_cannot_both_assign_a_guide_behind_the_apis_back(
    gql: GraphQLClient, make_user: UserFactory, sessions: SessionFactory
) -> None:
    world = await make_world(gql, make_user)
    guide_id, _ = await _guide(gql, make_user, "guide@op.example")
    first, second = await _bookings(gql, world, [START, START + timedelta(days=1)])
    async with sessions() as one, sessions() as two:
        await one.begin()
        await two.begin()
        await one.execute(RAW_INSERT, {"guide": guide_id, "booking": first})
        # The second transaction waits for the first to end (the constraint's index entry)...
        racing = asyncio.create_task(
            two.execute(RAW_INSERT, {"guide": guide_id, "booking": second})
        )
        await _until_waiting_on_a_lock(sessions)
        assert not racing.done()
        await one.commit()
        # ...and then sees the committed assignment.
        with pytest.raises(IntegrityError, match=OVERLAP):
            await racing
        await two.rollback()
    assert await _active_assignments(sessions, uuid.UUID(guide_id)) == 1


async def test_assignment_rules_and_typed_refusals(
    gql: GraphQLClient, make_user: UserFactory, sessions: SessionFactory
) -> None:
    world = await make_world(gql, make_user)
    pedro, pedro_token = await _guide(gql, make_user, "pedro@op.example")
    lucia, _ = await _guide(gql, make_user, "lucia@op.example")
    booking, other = await _bookings(gql, world, [START, START + timedelta(days=2)])
    admin = world.admin.token

    speaks = await gql.execute(LANGUAGES, {"g": pedro, "l": ["ES", "qu", "en", "es"]}, token=admin)
    assert speaks.ok()["setGuideLanguages"]["guide"]["languages"] == ["es", "qu", "en"]
    bad_language = await gql.execute(LANGUAGES, {"g": pedro, "l": ["klingon"]}, token=pedro_token)
    assert bad_language.codes == ["BAD_USER_INPUT"]
    not_yours = await gql.execute(LANGUAGES, {"g": lucia, "l": ["en"]}, token=pedro_token)
    assert not_yours.codes == ["FORBIDDEN"]

    refusals = [
        (world.agency.token, {"b": booking, "g": pedro}, "FORBIDDEN"),
        (pedro_token, {"b": booking, "g": pedro}, "FORBIDDEN"),
        (admin, {"b": booking, "g": pedro, "lang": "pt"}, "BAD_USER_INPUT"),
        (admin, {"b": booking, "g": str(uuid.uuid4())}, "NOT_FOUND"),
        (admin, {"b": str(uuid.uuid4()), "g": pedro}, "NOT_FOUND"),
        (admin, {"b": booking, "g": "nope"}, "BAD_USER_INPUT"),
    ]
    for token, variables, code in refusals:
        result = await gql.execute(ASSIGN_GUIDE, variables, token=token)
        assert result.codes == [code], (variables, result.errors)
    assert await _active_assignments(sessions, uuid.UUID(pedro)) == 0

    done = await gql.execute(ASSIGN_GUIDE, {"b": booking, "g": pedro, "lang": "qu"}, token=admin)
    assert done.ok()["assignGuide"]["booking"]["guide"]["language"] == "qu"
    clash = await gql.execute(ASSIGN_GUIDE, {"b": other, "g": pedro}, token=admin)
    assert clash.codes == ["CONFLICT"]
    assert clash.errors[0]["extensions"]["conflictingBookingId"] == booking
    # Time off over an assignment is refused; elsewhere it blocks new assignments.
    overlap = {"g": pedro, "from": str(START), "to": str(START + timedelta(days=1))}
    assert (await gql.execute(TIME_OFF, overlap, token=pedro_token)).codes == ["CONFLICT"]
    holiday = {
        "g": lucia,
        "from": str(START + timedelta(days=5)),
        "to": str(START + timedelta(days=9)),
    }
    (await gql.execute(TIME_OFF, holiday, token=admin)).ok()
    away = await gql.execute(ASSIGN_GUIDE, {"b": other, "g": lucia}, token=admin)
    assert away.codes == ["CONFLICT"]
    assert "off" in away.errors[0]["message"]

    # Replacing frees the first guide; unassigning leaves the booking without a guide.
    free = {"f": {"freeFrom": str(START), "freeUntil": str(START + timedelta(days=4))}}
    names = [
        g["fullName"]
        for g in (await gql.execute(GUIDES, free, token=admin)).ok()["guides"]["nodes"]
    ]
    assert names == ["lucia"]
    (await gql.execute(ASSIGN_GUIDE, {"b": booking, "g": lucia}, token=admin)).ok()
    assert await _active_assignments(sessions, uuid.UUID(pedro)) == 0
    (await gql.execute(ASSIGN_GUIDE, {"b": other, "g": pedro}, token=admin)).ok()
    unassigned = await gql.execute(UNASSIGN, {"b": booking}, token=admin)
    assert unassigned.ok()["unassignGuide"]["booking"]["guide"] is None
    assert (await gql.execute(UNASSIGN, {"b": booking}, token=admin)).codes == ["INVALID_STATE"]
    by_language = await gql.execute(GUIDES, {"f": {"language": "qu"}}, token=admin)
    assert [g["fullName"] for g in by_language.ok()["guides"]["nodes"]] == ["pedro"]
    assert (await gql.execute(GUIDES, token=world.agency.token)).codes == ["FORBIDDEN"]


async def test_guides_see_only_the_bookings_they_are_assigned_to(
    gql: GraphQLClient, make_user: UserFactory
) -> None:
    world = await make_world(gql, make_user)
    pedro, pedro_token = await _guide(gql, make_user, "pedro@op.example")
    mine, theirs = await _bookings(gql, world, [START, START + timedelta(days=30)])
    assert (await gql.execute(MY_BOOKINGS, token=pedro_token)).ok()["bookings"]["totalCount"] == 0
    (await gql.execute(ASSIGN_GUIDE, {"b": mine, "g": pedro}, token=world.admin.token)).ok()
    listed = (await gql.execute(MY_BOOKINGS, token=pedro_token)).ok()["bookings"]
    assert [edge["node"]["id"] for edge in listed["edges"]] == [mine]
    hidden = await gql.execute("query($id: ID!) { booking(id: $id) { id } }", {"id": theirs},
                               token=pedro_token)  # fmt: skip
    assert hidden.codes == ["NOT_FOUND"]
    # A cancelled booking releases its guide, who no longer sees it and is free again.
    (await gql.execute(CANCEL, {"b": mine, "reason": "Strike"}, token=world.agency.token)).ok()
    assert (await gql.execute(MY_BOOKINGS, token=pedro_token)).ok()["bookings"]["totalCount"] == 0


async def test_a_vehicle_must_seat_every_traveller_and_serve_one_trip_at_a_time(
    gql: GraphQLClient, make_user: UserFactory
) -> None:
    world = await make_world(gql, make_user)
    admin = world.admin.token
    booking, overlapping = await _bookings(gql, world, [START, START + timedelta(days=1)])
    created = {}
    for name, plate, seats in (("Car", "abc 123", 4), ("Van", "VAN-12", 12)):
        made = await gql.execute(
            CREATE_VEHICLE, {"name": name, "plate": plate, "capacity": seats}, token=admin
        )
        created[name] = made.ok()["createVehicle"]["vehicle"]
    assert created["Car"]["plate"] == "ABC 123"
    duplicate = await gql.execute(
        CREATE_VEHICLE, {"name": "Other", "plate": "van-12", "capacity": 3}, token=admin
    )
    assert duplicate.codes == ["CONFLICT"]
    zero = await gql.execute(
        CREATE_VEHICLE, {"name": "X", "plate": "X-1", "capacity": 0}, token=admin
    )
    assert zero.codes == ["BAD_USER_INPUT"]

    small = await gql.execute(
        ASSIGN_TRANSPORT, {"b": booking, "v": created["Car"]["id"]}, token=admin
    )
    assert small.codes == ["BAD_USER_INPUT"]
    details = small.errors[0]["extensions"]
    assert (details["field"], details["capacity"], details["travellers"]) == ("vehicleId", 4, 12)
    van = {"b": booking, "v": created["Van"]["id"]}
    assigned = await gql.execute(ASSIGN_TRANSPORT, van, token=admin)
    assert assigned.ok()["assignTransport"]["booking"]["transport"]["vehicle"]["capacity"] == 12
    busy = await gql.execute(ASSIGN_TRANSPORT, {**van, "b": overlapping}, token=admin)
    assert busy.codes == ["CONFLICT"]
    window = {"f": {"minCapacity": 10, "freeFrom": str(START), "freeUntil": str(START)}}
    assert (await gql.execute(VEHICLES, window, token=admin)).ok()["vehicles"]["nodes"] == []
    hotel = await gql.execute(ASSIGN_TRANSPORT, van, token=world.hotels[0].token)
    assert hotel.codes == ["FORBIDDEN"]
