"""docs/privacy.md §1 for bookings, row by row: selling price and hotel net price for each role,
through queries, the list, the quotation link and mutation payloads (hidden values come back
null, hidden lists empty)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from spirit_tours.core.enums import Role
from tests.booking_flows import ASSIGN_GUIDE, CANCEL, approved_quotation, book, booked
from tests.conftest import PASSWORD, LiveServer, UserFactory
from tests.graphql_client import GraphQLClient
from tests.quotation_flows import make_world
from tests.sql_counter import count_statements

FIELDS = """
  id status travellers
  owner { fullName email }
  sellingPrice { amount } margin { amount } amountPaid { amount }
  paymentPolicy { balanceDueDate } cancellationPolicy { daysBefore } refunds { id }
  hotels { hotel { name } netPrice { amount } }
  guide { guide { fullName } }
  quotation { id sellingPrice { amount } }
"""
ONE = f"query($id: ID!) {{ booking(id: $id) {{ {FIELDS} }} }}"
LIST = f"{{ bookings {{ totalCount edges {{ node {{ {FIELDS} }} }} }} }}"
LINK = "query($id: ID!) { quotation(id: $id) { booking { id } } }"


def _prices(booking: dict[str, Any]) -> dict[str, Any]:
    """The priced and identifying values of one booking, as one viewer received them."""
    return {
        "owner": booking["owner"] is not None,
        "selling": booking["sellingPrice"],
        "margin": booking["margin"],
        "paid": booking["amountPaid"],
        "policy": booking["paymentPolicy"] is not None,
        "refunds": booking["refunds"],
        "hotels": [(h["hotel"]["name"], h["netPrice"]) for h in booking["hotels"]],
        "guide": booking["guide"] is not None,
    }


async def test_each_role_sees_its_own_row_of_the_booking_price_table(
    gql: GraphQLClient, make_user: UserFactory
) -> None:
    world = await make_world(gql, make_user)
    guide_user = await make_user("guide@op.example", Role.GUIDE)
    await make_user("other.guide@op.example", Role.GUIDE)
    guide = await gql.token_for("guide@op.example", PASSWORD)
    other_guide = await gql.token_for("other.guide@op.example", PASSWORD)
    quotation_id = await approved_quotation(gql, world)
    booking_id = await book(gql, world.agency.token, quotation_id)
    assigned = {"b": booking_id, "g": str(guide_user.id), "lang": None}
    (await gql.execute(ASSIGN_GUIDE, assigned, token=world.admin.token)).ok()

    selling = {"amount": "1200.00"}
    net = {"amount": "1000.00"}
    expected = {
        "admin": {
            "owner": True, "selling": selling, "margin": {"amount": "200.00"},
            "paid": {"amount": "0.00"}, "policy": True, "refunds": [],
            "hotels": [("Inti Palace", net)], "guide": True,
        },
        "owner": {
            "owner": True, "selling": selling, "margin": None, "paid": {"amount": "0.00"},
            "policy": True, "refunds": [], "hotels": [("Inti Palace", None)], "guide": True,
        },
        "offering hotel": {
            "owner": False, "selling": None, "margin": None, "paid": None, "policy": False,
            "refunds": [], "hotels": [("Inti Palace", net)], "guide": False,
        },
        "guide": {
            "owner": False, "selling": None, "margin": None, "paid": None, "policy": False,
            "refunds": [], "hotels": [("Inti Palace", None)], "guide": True,
        },
    }  # fmt: skip
    viewers = {
        "admin": world.admin.token,
        "owner": world.agency.token,
        "offering hotel": world.hotels[0].token,
        "guide": guide,
    }
    for name, token in viewers.items():
        one = (await gql.execute(ONE, {"id": booking_id}, token=token)).ok()["booking"]
        assert _prices(one) == expected[name], name
        listed = (await gql.execute(LIST, token=token)).ok()["bookings"]
        assert listed["totalCount"] == 1, name
        assert _prices(listed["edges"][0]["node"]) == expected[name], name
    # The quotation behind the booking keeps its own §3 rules; a guide does not get it.
    admin_view = (await gql.execute(ONE, {"id": booking_id}, token=world.admin.token)).ok()
    assert admin_view["booking"]["quotation"]["sellingPrice"] == selling
    hotel_view = (await gql.execute(ONE, {"id": booking_id}, token=world.hotels[0].token)).ok()
    assert hotel_view["booking"]["quotation"] == {"id": quotation_id, "sellingPrice": None}
    guide_view = (await gql.execute(ONE, {"id": booking_id}, token=guide)).ok()
    assert guide_view["booking"]["quotation"] is None

    # Those with no business in it cannot tell it exists.
    for token in (
        world.hotels[1].token,
        world.outsider_hotel.token,
        world.other_agency.token,
        world.client.token,
        other_guide,
    ):
        hidden = await gql.execute(ONE, {"id": booking_id}, token=token)
        assert hidden.codes == ["NOT_FOUND"]
        assert "1000" not in str(hidden.body)
        assert "1200" not in str(hidden.body)
        assert (await gql.execute(LIST, token=token)).ok()["bookings"]["totalCount"] == 0
    competitor_link = await gql.execute(LINK, {"id": quotation_id}, token=world.hotels[1].token)
    assert competitor_link.ok()["quotation"]["booking"] is None
    hotel_link = await gql.execute(LINK, {"id": quotation_id}, token=world.hotels[0].token)
    assert hotel_link.ok()["quotation"]["booking"] == {"id": booking_id}


async def test_mutation_payloads_follow_the_same_rules(
    gql: GraphQLClient, make_user: UserFactory
) -> None:
    world = await make_world(gql, make_user)
    booking_id = await booked(gql, world, owner=world.client)
    payload = f"""
    mutation($b: ID!) {{
      cancelBooking(input: {{bookingId: $b, reason: "Change of plans"}}) {{
        booking {{ {FIELDS} }}
      }}
    }}"""
    cancelled = await gql.execute(payload, {"b": booking_id}, token=world.client.token)
    booking = cancelled.ok()["cancelBooking"]["booking"]
    assert booking["status"] == "CANCELLED"
    assert booking["sellingPrice"] == {"amount": "1200.00"}
    assert booking["margin"] is None
    assert booking["hotels"] == [{"hotel": {"name": "Inti Palace"}, "netPrice": None}]
    again = await gql.execute(CANCEL, {"b": booking_id, "reason": "x"}, token=world.client.token)
    assert again.codes == ["INVALID_STATE"]
    hotel = await gql.execute(ONE, {"id": booking_id}, token=world.hotels[0].token)
    assert hotel.ok()["booking"]["status"] == "CANCELLED"
    assert hotel.ok()["booking"]["sellingPrice"] is None


async def test_a_page_of_bookings_costs_the_same_sql_for_one_booking_or_five(
    gql: GraphQLClient, make_user: UserFactory, live_server: LiveServer
) -> None:
    world = await make_world(gql, make_user)
    guide_user = await make_user("guide@op.example", Role.GUIDE)
    page = (
        f"{{ bookings {{ edges {{ node {{ {FIELDS} transport {{ vehicle {{ plate }} }} }} }} }} }}"
    )
    counts = []
    for n in range(5):
        booking_id = await booked(gql, world, start=date.today() + timedelta(days=40 + 10 * n))
        if n == 0:
            assigned = {"b": booking_id, "g": str(guide_user.id), "lang": None}
            (await gql.execute(ASSIGN_GUIDE, assigned, token=world.admin.token)).ok()
        if n in (0, 4):
            async with count_statements(live_server) as statements:
                listed = (await gql.execute(page, token=world.admin.token)).ok()
            assert len(listed["bookings"]["edges"]) == n + 1
            counts.append(len(statements))
    assert counts[0] == counts[1], counts
