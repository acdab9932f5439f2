"""Relay connections on the live server: truthful page info both ways, keyset pages of guides
and the fleet, a chat thread read backwards page by page, and hostile cursors and sizes
refused as BAD_USER_INPUT."""

from __future__ import annotations

import base64
import json
from datetime import date, timedelta
from typing import Any

from spirit_tours.core.enums import Role
from tests.booking_flows import CREATE_VEHICLE, booked
from tests.conftest import UserFactory
from tests.graphql_client import GraphQLClient
from tests.quotation_flows import CREATE, make_world, open_quotation, quotation_input

PAGE_INFO = "pageInfo { hasNextPage hasPreviousPage startCursor endCursor }"
QUOTATIONS = f"""
query($first: Int!, $after: String, $last: Int, $before: String) {{
  quotations(first: $first, after: $after, last: $last, before: $before) {{
    totalCount edges {{ cursor node {{ destination }} }} nodes {{ destination }} {PAGE_INFO}
  }}
}}"""
GUIDES = f"""
query($first: Int!, $after: String) {{
  guides(first: $first, after: $after) {{
    totalCount edges {{ cursor node {{ fullName }} }} nodes {{ fullName }} {PAGE_INFO}
  }}
}}"""
VEHICLES = f"""
query($first: Int!, $after: String, $min: Int) {{
  vehicles(first: $first, after: $after, filter: {{minCapacity: $min}}) {{
    totalCount edges {{ cursor node {{ name capacity }} }} {PAGE_INFO}
  }}
}}"""
MESSAGES = f"""
query($q: ID!, $first: Int, $after: String, $last: Int, $before: String) {{
  messages(quotationId: $q, first: $first, after: $after, last: $last, before: $before) {{
    totalCount edges {{ cursor node {{ body }} }} nodes {{ body }} {PAGE_INFO}
  }}
}}"""
POST = """
mutation($q: ID!, $body: String!) {
  postMessage(input: {quotationId: $q, body: $body}) { message { id } }
}"""


def _check(connection: dict[str, Any]) -> dict[str, Any]:
    """The page info's cursors are its edges' first and last; ``nodes`` are the edges' nodes."""
    edges, info = connection["edges"], connection["pageInfo"]
    assert info["startCursor"] == (edges[0]["cursor"] if edges else None)
    assert info["endCursor"] == (edges[-1]["cursor"] if edges else None)
    if "nodes" in connection:
        assert connection["nodes"] == [edge["node"] for edge in edges]
    return connection


def _flags(connection: dict[str, Any]) -> tuple[bool, bool]:
    info = connection["pageInfo"]
    return info["hasPreviousPage"], info["hasNextPage"]


def _forged(values: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode()


HOSTILE_CURSORS = [
    "not a cursor",
    "%%%",
    _forged(["Ana", "not-a-uuid"]),
    _forged([1, 2, 3, 4]),
    _forged({"name": "Ana"}),
    _forged(["Ana\u0000", "6a1c5a1e-0000-4000-8000-000000000000"]),
    _forged([10**30, "Van", "6a1c5a1e-0000-4000-8000-000000000000"]),
    _forged([True, "Van", "6a1c5a1e-0000-4000-8000-000000000000"]),
]


async def test_quotation_pages_tell_what_lies_before_and_after(
    gql: GraphQLClient, make_user: UserFactory
) -> None:
    world = await make_world(gql, make_user)
    for destination in ("Cusco", "Puno", "Arequipa"):
        variables = {"input": quotation_input(destination=destination)}
        (await gql.execute(CREATE, variables, token=world.agency.token)).ok()
    token = world.agency.token
    first = _check((await gql.execute(QUOTATIONS, {"first": 2}, token=token)).ok()["quotations"])
    assert [node["destination"] for node in first["nodes"]] == ["Arequipa", "Puno"]
    assert _flags(first) == (False, True)
    after = {"first": 2, "after": first["pageInfo"]["endCursor"]}
    second = _check((await gql.execute(QUOTATIONS, after, token=token)).ok()["quotations"])
    assert [node["destination"] for node in second["nodes"]] == ["Cusco"]
    assert _flags(second) == (True, False)
    assert second["totalCount"] == 3

    # Backwards from the end, still newest first within each page.
    end = (await gql.execute(QUOTATIONS, {"first": 20, "last": 2}, token=token)).ok()
    end = _check(end["quotations"])
    assert [node["destination"] for node in end["nodes"]] == ["Puno", "Cusco"]
    assert _flags(end) == (True, False)
    before = {"first": 20, "last": 2, "before": end["pageInfo"]["startCursor"]}
    start = _check((await gql.execute(QUOTATIONS, before, token=token)).ok()["quotations"])
    assert [node["destination"] for node in start["nodes"]] == ["Arequipa"]
    assert _flags(start) == (False, True)
    assert start["totalCount"] == 3
    cursor = end["pageInfo"]["startCursor"]
    for arguments, field in (
        ({"last": 2, "after": cursor}, "after"),
        ({"before": cursor, "after": cursor}, "after"),
        ({"last": 101}, "last"),
        ({"last": 0}, "last"),
        ({"before": "garbage"}, "before"),
    ):
        refused = await gql.execute(QUOTATIONS, {"first": 2, **arguments}, token=token)
        assert refused.codes == ["BAD_USER_INPUT"], arguments
        assert refused.errors[0]["extensions"]["field"] == field, arguments


async def test_guides_and_vehicles_are_paged_by_name_and_by_size(
    gql: GraphQLClient, make_user: UserFactory
) -> None:
    world = await make_world(gql, make_user)
    for name in ("carla", "ana", "beto"):
        await make_user(f"{name}@op.example", Role.GUIDE)
    admin = world.admin.token
    names: list[str] = []
    after = None
    flags = []
    while True:
        page = await gql.execute(GUIDES, {"first": 2, "after": after}, token=admin)
        connection = _check(page.ok()["guides"])
        assert connection["totalCount"] == 3
        names += [node["fullName"] for node in connection["nodes"]]
        flags.append(_flags(connection))
        if not connection["pageInfo"]["hasNextPage"]:
            break
        after = connection["pageInfo"]["endCursor"]
    assert names == sorted(names)
    assert len(names) == 3
    assert flags == [(False, True), (True, False)]

    for name, plate, capacity in (("Van B", "V-2", 16), ("Car", "C-1", 4), ("Van A", "V-1", 16)):
        vehicle = {"name": name, "plate": plate, "capacity": capacity}
        (await gql.execute(CREATE_VEHICLE, vehicle, token=admin)).ok()
    seen = []
    after = None
    for _ in range(3):
        page = await gql.execute(VEHICLES, {"first": 1, "after": after, "min": 5}, token=admin)
        connection = _check(page.ok()["vehicles"])
        assert connection["totalCount"] == 2  # the car seats too few
        seen += [edge["node"]["name"] for edge in connection["edges"]]
        after = connection["pageInfo"]["endCursor"]
        if not connection["pageInfo"]["hasNextPage"]:
            break
    assert seen == ["Van A", "Van B"]  # same size: by name

    for query, field in ((GUIDES, "guides"), (VEHICLES, "vehicles")):
        for cursor in HOSTILE_CURSORS:
            refused = await gql.execute(query, {"first": 2, "after": cursor}, token=admin)
            assert refused.codes == ["BAD_USER_INPUT"], (field, cursor, refused.body)
            assert refused.errors[0]["extensions"]["field"] == "after"
            assert refused.data is None
        for size in (0, 101, -1):
            refused = await gql.execute(query, {"first": size}, token=admin)
            assert refused.codes == ["BAD_USER_INPUT"], (field, size)
        refused = await gql.execute(query, {"first": 2}, token=world.agency.token)
        assert refused.codes == ["FORBIDDEN"]


async def test_a_chat_thread_is_read_backwards_a_page_at_a_time(
    gql: GraphQLClient, make_user: UserFactory
) -> None:
    world = await make_world(gql, make_user)
    quotation = await open_quotation(gql, world)
    owner = world.agency.token
    for n in range(1, 8):
        (await gql.execute(POST, {"q": quotation, "body": f"message {n}"}, token=owner)).ok()

    def bodies(connection: dict[str, Any]) -> list[int]:
        return [int(node["body"].split()[1]) for node in connection["nodes"]]

    async def page(**arguments: Any) -> dict[str, Any]:
        result = await gql.execute(MESSAGES, {"q": quotation, **arguments}, token=owner)
        return _check(result.ok()["messages"])

    latest = await page()  # neither size: the latest 50, oldest first
    assert bodies(latest) == [1, 2, 3, 4, 5, 6, 7]
    assert _flags(latest) == (False, False)
    assert latest["totalCount"] == 7

    # Scrolling up: each page the one before, oldest first within it.
    pages, flags = [], []
    current = await page(last=3)
    while True:
        pages.append(bodies(current))
        flags.append(_flags(current))
        if not current["pageInfo"]["hasPreviousPage"]:
            break
        current = await page(last=3, before=current["pageInfo"]["startCursor"])
    assert pages == [[5, 6, 7], [2, 3, 4], [1]]
    assert flags == [(True, False), (True, True), (False, True)]

    forwards = await page(first=3)
    assert bodies(forwards) == [1, 2, 3]
    assert _flags(forwards) == (False, True)
    rest = await page(first=10, after=forwards["pageInfo"]["endCursor"])
    assert bodies(rest) == [4, 5, 6, 7]
    assert _flags(rest) == (True, False)

    # The hotels' threads are theirs: the owner's messages are not in an invited hotel's.
    hotel = await gql.execute(MESSAGES, {"q": quotation}, token=world.hotels[0].token)
    assert hotel.ok()["messages"]["totalCount"] == 0

    cursor = forwards["pageInfo"]["endCursor"]
    for arguments, field in (
        ({"first": 2, "last": 2}, "last"),
        ({"after": cursor, "before": cursor}, "last"),
        ({"first": 2, "before": cursor}, "last"),
        ({"last": 0}, "last"),
        ({"last": 101}, "last"),
        ({"first": 101}, "first"),
        ({"before": "garbage"}, "before"),
        ({"after": "garbage"}, "after"),
    ):
        refused = await gql.execute(MESSAGES, {"q": quotation, **arguments}, token=owner)
        assert refused.codes == ["BAD_USER_INPUT"], arguments
        assert refused.errors[0]["extensions"]["field"] == field, (arguments, refused.errors)


async def test_booking_pages_read_backwards_too(gql: GraphQLClient, make_user: UserFactory) -> None:
    world = await make_world(gql, make_user)
    made = [
        await booked(gql, world, start=date.today() + timedelta(days=40 + 10 * n)) for n in range(3)
    ]
    newest_first = list(reversed(made))
    query = f"""
    query($last: Int, $before: String) {{
      bookings(last: $last, before: $before) {{
        totalCount edges {{ cursor node {{ id }} }} {PAGE_INFO}
      }}
    }}"""
    token = world.agency.token
    end = _check((await gql.execute(query, {"last": 2}, token=token)).ok()["bookings"])
    assert [edge["node"]["id"] for edge in end["edges"]] == newest_first[1:]
    assert _flags(end) == (True, False)
    before = {"last": 2, "before": end["pageInfo"]["startCursor"]}
    start = _check((await gql.execute(query, before, token=token)).ok()["bookings"])
    assert [edge["node"]["id"] for edge in start["edges"]] == newest_first[:1]
    assert _flags(start) == (False, True)
    assert start["totalCount"] == 3
    # Another agency's page backwards is empty: the same visibility rule.
    theirs = await gql.execute(query, {"last": 2}, token=world.other_agency.token)
    assert theirs.ok()["bookings"]["edges"] == []


def _timestamp_cursor(at: str) -> str:
    """A keyset cursor as the newest-first lists write it, with a forged timestamp."""
    return base64.urlsafe_b64encode(f"{at}|6a1c5a1e-0000-4000-8000-000000000000".encode()).decode()


KEYSET_LISTS = {
    "quotations": "quotations(first: 5, after: $after, last: $last, before: $before)",
    "bookings": "bookings(first: 5, after: $after, last: $last, before: $before)",
    "payments": "payments(first: 5, after: $after, last: $last, before: $before)",
    "emailDeadLetters": "emailDeadLetters(first: 5, after: $after, last: $last, before: $before)",
    "messages": "messages(quotationId: $q, after: $after, last: $last, before: $before)",
}


async def test_forged_timestamps_in_cursors_are_bad_input_on_every_keyset_list(
    gql: GraphQLClient, make_user: UserFactory
) -> None:
    """A cursor's instant out of the range a timestamp can hold once in UTC (year 1 ahead of
    UTC, year 9999 behind it), or without a time zone (never given out), is refused like any
    other foreign cursor, never an internal error; an ordinary forged instant is a position."""
    world = await make_world(gql, make_user)
    quotation = await open_quotation(gql, world)
    refused_cursors = [
        _timestamp_cursor("0001-01-01T00:00:00+05:00"),
        _timestamp_cursor("9999-12-31T23:59:59-05:00"),
        _timestamp_cursor("2020-01-01T00:00:00"),
    ]
    position = _timestamp_cursor("2020-01-01T00:00:00+00:00")
    for name, field in KEYSET_LISTS.items():
        quotation_id = "$q: ID!, " if "$q" in field else ""
        query = f"""
        query({quotation_id}$after: String, $last: Int, $before: String) {{
          {field} {{ edges {{ cursor }} }}
        }}"""
        for argument in ("after", "before"):
            for cursor in refused_cursors:
                variables = {"q": quotation, argument: cursor}
                refused = await gql.execute(query, variables, token=world.admin.token)
                assert refused.codes == ["BAD_USER_INPUT"], (name, argument, cursor, refused.body)
                assert refused.errors[0]["extensions"]["field"] == argument, (name, argument)
            variables = {"q": quotation, argument: position}
            assert (await gql.execute(query, variables, token=world.admin.token)).ok()
