"""``node(id:)`` and ``nodes(ids:)`` on the live server: each type answered as its typed lookup
answers it for every role (price fields included), anything hidden answered exactly as an
unknown id, bounded batches, and a batch costing the same SQL whatever its size."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event

from spirit_tours.core.enums import Role
from tests.booking_flows import ASSIGN_GUIDE, ASSIGN_TRANSPORT, CREATE_VEHICLE, booked
from tests.conftest import PASSWORD, LiveServer, UserFactory
from tests.graphql_client import GraphQLClient, Result
from tests.payment_flows import start_payment, stripe_api
from tests.quotation_flows import CREATE, Party, World, make_world, open_quotation, quotation_input
from tests.sql_counter import count_statements

BOOKING = """
  id status travellers owner { fullName email }
  sellingPrice { amount } margin { amount } amountPaid { amount }
  hotels { hotel { name } netPrice { amount } }
  guide { guide { fullName } } transport { vehicle { plate } }
  quotation { id sellingPrice { amount } markupPercent offers { netPrice { amount } } }
"""
PAYMENT = "id status amount { amount } provider providerReference booking { id }"
GUIDE = "id fullName languages timeOff { startDate }"
TYPED = {
    "Booking": ("booking", BOOKING),
    "Payment": ("payment", PAYMENT),
    "Guide": ("guide", GUIDE),
}
POST = """
mutation($q: ID!, $body: String!, $h: ID) {
  postMessage(input: {quotationId: $q, body: $body, hotelId: $h}) { message { id } }
}"""
QUOTATION_PARTS = """
query($id: ID!) {
  quotation(id: $id) {
    offers { id } invitations { id hotel { id } } owner { company { id } } booking { id }
  }
}"""
ANY = """
query($id: ID!) {
  node(id: $id) {
    __typename id
    ... on Offer { netPrice { amount } hotel { name } }
    ... on ChatMessage { body }
    ... on Hotel { name }
    ... on Company { name }
    ... on User { email }
    ... on Vehicle { plate }
    ... on Guide { fullName }
    ... on Invitation { hotel { name } }
  }
}"""


@dataclass
class Scene:
    world: World
    guide: Party
    guide_id: str
    quotation: str
    booking: str
    payment: str
    vehicle: str
    offer: str  # hotel0's, the winning one
    invitations: dict[str, str]  # hotel id → its invitation id
    owner_message: str  # in the owner's thread
    hotel_message: str  # in hotel0's thread
    agency_company: str


async def _scene(gql: GraphQLClient, make_user: UserFactory) -> Scene:
    world = await make_world(gql, make_user)
    guide = await make_user("pedro@op.example", Role.GUIDE)
    guide_party = Party("pedro@op.example", await gql.token_for("pedro@op.example", PASSWORD), None)
    admin = world.admin.token
    booking = await booked(gql, world)
    (await gql.execute(ASSIGN_GUIDE, {"b": booking, "g": str(guide.id)}, token=admin)).ok()
    vehicle_vars = {"name": "Sprinter", "plate": "NODE-1", "capacity": 16}
    vehicle = (await gql.execute(CREATE_VEHICLE, vehicle_vars, token=admin)).ok()
    vehicle_id = vehicle["createVehicle"]["vehicle"]["id"]
    (await gql.execute(ASSIGN_TRANSPORT, {"b": booking, "v": vehicle_id}, token=admin)).ok()
    with stripe_api():
        started = await start_payment(gql, world.agency.token, booking)
    payment = started.ok()["startPayment"]["payment"]["id"]
    link = "query($id: ID!) { booking(id: $id) { quotation { id } } }"
    quotation = (await gql.execute(link, {"id": booking}, token=admin)).ok()["booking"]
    quotation_id = quotation["quotation"]["id"]
    parts = (await gql.execute(QUOTATION_PARTS, {"id": quotation_id}, token=admin)).ok()
    parts = parts["quotation"]
    offer = await gql.execute(QUOTATION_PARTS, {"id": quotation_id}, token=world.hotels[0].token)
    own_offer = offer.ok()["quotation"]["offers"][0]["id"]
    said = {"q": quotation_id, "body": "Can we add a day?"}
    owner_message = (await gql.execute(POST, said, token=world.agency.token)).ok()
    asked = {"q": quotation_id, "body": "Breakfast at six, please."}
    hotel_message = (await gql.execute(POST, asked, token=world.hotels[0].token)).ok()
    return Scene(
        world=world,
        guide=guide_party,
        guide_id=str(guide.id),
        quotation=quotation_id,
        booking=booking,
        payment=payment,
        vehicle=vehicle_id,
        offer=own_offer,
        invitations={row["hotel"]["id"]: row["id"] for row in parts["invitations"]},
        owner_message=owner_message["postMessage"]["message"]["id"],
        hotel_message=hotel_message["postMessage"]["message"]["id"],
        agency_company=parts["owner"]["company"]["id"],
    )


def _answer(result: Result) -> tuple[Any, list[str | None]]:
    return result.data, result.codes


async def test_node_answers_as_the_typed_lookup_for_every_role(
    gql: GraphQLClient, make_user: UserFactory, live_server: LiveServer
) -> None:
    scene = await _scene(gql, make_user)
    world = scene.world
    viewers = {
        "admin": world.admin,
        "owner": world.agency,
        "booked hotel": world.hotels[0],
        "other hotel": world.hotels[1],
        "guide": scene.guide,
        "other agency": world.other_agency,
        "client": world.client,
    }
    objects = {"Booking": scene.booking, "Payment": scene.payment, "Guide": scene.guide_id}
    seen: dict[tuple[str, str], bool] = {}
    for kind, object_id in objects.items():
        field, selection = TYPED[kind]
        typed_query = f"query($id: ID!) {{ {field}(id: $id) {{ {selection} }} }}"
        node_query = f"query($id: ID!) {{ node(id: $id) {{ ... on {kind} {{ {selection} }} }} }}"
        for name, party in viewers.items():
            typed = await gql.execute(typed_query, {"id": object_id}, token=party.token)
            node = await gql.execute(node_query, {"id": object_id}, token=party.token)
            where = f"{name} reads {kind}"
            if typed.errors:
                # Hidden: node(id:) says NOT_FOUND (a guide's lookup of another is FORBIDDEN,
                # which node(id:) does not reveal either).
                assert typed.data == {field: None}, where
                assert _answer(node) == ({"node": None}, ["NOT_FOUND"]), where
            else:
                assert not node.errors, (where, node.errors)
                assert node.data["node"] == typed.data[field], where
            seen[(kind, name)] = not typed.errors
    # The matrix the rules draw (docs/privacy.md §2.1): who sees each object at all.
    assert {key for key, shown in seen.items() if shown} == {
        ("Booking", "admin"), ("Booking", "owner"), ("Booking", "booked hotel"),
        ("Booking", "guide"),
        ("Payment", "admin"), ("Payment", "owner"),
        ("Guide", "admin"), ("Guide", "guide"),
    }  # fmt: skip


async def test_what_a_viewer_may_not_see_is_an_unknown_id_to_node(
    gql: GraphQLClient, make_user: UserFactory, live_server: LiveServer
) -> None:
    scene = await _scene(gql, make_user)
    world = scene.world
    inti, qori = world.hotels[0], world.hotels[1]
    assert inti.hotel_id
    assert qori.hotel_id
    hidden: list[tuple[str, Party, str]] = [
        ("a competitor's offer (HIDDEN mode)", qori, scene.offer),
        ("an offer of a quotation it was not invited to", world.outsider_hotel, scene.offer),
        ("a quotation it was not invited to", world.outsider_hotel, scene.quotation),
        ("a competitor's invitation", qori, scene.invitations[inti.hotel_id]),
        ("a competitor's hotel, invited beside it", qori, inti.hotel_id),
        ("a hotel of another agency's quotation", world.other_agency, inti.hotel_id),
        ("a hotel's thread, to the owner", world.agency, scene.hotel_message),
        ("another hotel's thread", qori, scene.hotel_message),
        ("the owner's thread, to a hotel", inti, scene.owner_message),
        ("another company", world.other_agency, scene.agency_company),
        ("another user", world.agency, scene.guide_id),
        ("a vehicle, to an owner", world.agency, scene.vehicle),
        ("a booking without its rooms", qori, scene.booking),
        ("a payment, to the booked hotel", inti, scene.payment),
    ]
    for what, party, object_id in hidden:
        asked = await gql.execute(ANY, {"id": object_id}, token=party.token)
        unknown = await gql.execute(ANY, {"id": str(uuid.uuid4())}, token=party.token)
        assert asked.body == unknown.body, f"{party.email}: {what}: {asked.body}"
        assert _answer(asked) == ({"node": None}, ["NOT_FOUND"]), what
    shown: list[tuple[str, Party, str, dict[str, Any]]] = [
        ("its own offer", inti, scene.offer, {"netPrice": {"amount": "1000.00"}}),
        ("an offer, to the owner", world.agency, scene.offer, {"netPrice": None}),
        ("its own invitation", inti, scene.invitations[inti.hotel_id], {}),
        ("its own hotel", inti, inti.hotel_id, {"name": "Inti Palace"}),
        ("a hotel it invited", world.agency, qori.hotel_id, {"name": "Qorikancha Suites"}),
        ("a hotel of its booking", scene.guide, inti.hotel_id, {"name": "Inti Palace"}),
        ("its own thread", inti, scene.hotel_message, {"body": "Breakfast at six, please."}),
        ("the owner's thread", world.agency, scene.owner_message, {"body": "Can we add a day?"}),
        ("any thread, to ADMIN", world.admin, scene.hotel_message, {}),
        ("its own company", world.agency, scene.agency_company, {"name": "Andes Travel"}),
        ("itself, a guide", scene.guide, scene.guide_id, {"__typename": "Guide"}),
        ("a vehicle, to ADMIN", world.admin, scene.vehicle, {"plate": "NODE-1"}),
    ]
    for what, party, object_id, expected in shown:
        node = (await gql.execute(ANY, {"id": object_id}, token=party.token)).ok()["node"]
        assert node is not None, f"{party.email}: {what}"
        assert node["id"] == object_id, f"{party.email}: {what}"
        assert expected.items() <= node.items(), f"{party.email}: {what}: {node}"
    # A user is a User to themself; a guide's id answers the Guide (it shares its user's id).
    me = await gql.execute(ANY, {"id": await _user_id(gql, world.agency)}, token=world.agency.token)
    assert me.ok()["node"]["email"] == world.agency.email


async def _user_id(gql: GraphQLClient, party: Party) -> str:
    viewer = await gql.execute("{ viewer { id } }", token=party.token)
    return str(viewer.ok()["viewer"]["id"])


NODES = "query($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }"


async def test_nodes_answers_in_order_with_nulls_in_place_and_is_bounded(
    gql: GraphQLClient, make_user: UserFactory
) -> None:
    world = await make_world(gql, make_user)
    mine = []
    for destination in ("Cusco", "Puno"):
        variables = {"input": quotation_input(destination=destination)}
        created = await gql.execute(CREATE, variables, token=world.agency.token)
        mine.append(created.ok()["createQuotation"]["quotation"]["id"])
    theirs = await gql.execute(CREATE, {"input": quotation_input()}, token=world.client.token)
    other = theirs.ok()["createQuotation"]["quotation"]["id"]
    unknown = str(uuid.uuid4())
    ids = [mine[1], unknown, other, mine[0], mine[1]]
    result = await gql.execute(NODES, {"ids": ids}, token=world.agency.token)
    quotation = "Quotation"
    assert result.ok()["nodes"] == [
        {"__typename": quotation, "id": mine[1]}, None, None,
        {"__typename": quotation, "id": mine[0]}, {"__typename": quotation, "id": mine[1]},
    ]  # fmt: skip
    assert (await gql.execute(NODES, {"ids": []}, token=world.agency.token)).ok() == {"nodes": []}

    too_many = await gql.execute(NODES, {"ids": [unknown] * 101}, token=world.agency.token)
    assert too_many.codes == ["BAD_USER_INPUT"]
    assert too_many.errors[0]["extensions"]["field"] == "ids"
    assert too_many.data is None
    for bad in ("not-an-id", "", "1 OR 1=1", "\u0000"):
        refused = await gql.execute(NODES, {"ids": [mine[0], bad]}, token=world.agency.token)
        assert refused.codes == ["BAD_USER_INPUT"], bad
        one = await gql.execute(ANY, {"id": bad}, token=world.agency.token)
        assert one.codes == ["BAD_USER_INPUT"], bad
    anonymous = await gql.execute(NODES, {"ids": [mine[0]]})
    assert anonymous.codes == ["UNAUTHENTICATED"]
    assert (await gql.execute(ANY, {"id": mine[0]})).codes == ["UNAUTHENTICATED"]


async def test_a_batch_of_nodes_costs_the_same_sql_for_one_id_or_ten(
    gql: GraphQLClient, make_user: UserFactory, live_server: LiveServer
) -> None:
    world = await make_world(gql, make_user)
    ids = []
    for n in range(10):
        variables = {"input": quotation_input(destination=f"Cusco {n}")}
        created = await gql.execute(CREATE, variables, token=world.agency.token)
        ids.append(created.ok()["createQuotation"]["quotation"]["id"])
    query = """
    query($ids: [ID!]!) {
      nodes(ids: $ids) { id ... on Quotation { destination offers { id } owner { fullName } } }
    }"""
    counts = []
    for batch in (ids[:1], ids):
        async with count_statements(live_server) as statements:
            found = (await gql.execute(query, {"ids": batch}, token=world.agency.token)).ok()
        assert [node["id"] for node in found["nodes"]] == batch
        counts.append(len(statements))
    assert counts[0] == counts[1], counts


@asynccontextmanager
async def most_connections_held(live_server: LiveServer) -> AsyncIterator[list[int]]:
    """The most pooled connections the server held at once inside the block (``[n]``)."""
    pool = live_server.app.state.services.engine.sync_engine.pool
    held, most = 0, [0]

    def checkout(*_: Any) -> None:
        nonlocal held
        held += 1
        most[0] = max(most[0], held)

    def checkin(*_: Any) -> None:
        nonlocal held
        held -= 1

    event.listen(pool, "checkout", checkout)
    event.listen(pool, "checkin", checkin)
    try:
        yield most
    finally:
        event.remove(pool, "checkout", checkout)
        event.remove(pool, "checkin", checkin)


async def test_an_id_repeated_in_nodes_is_looked_up_once(
    gql: GraphQLClient, make_user: UserFactory, live_server: LiveServer
) -> None:
    """A hotel opening a quotation marks its invitation VIEWED, in a transaction: the same id
    a hundred times in one call is one lookup and one write, not a hundred transactions that
    take every connection of the pool at once."""
    world = await make_world(gql, make_user)
    quotation = await open_quotation(gql, world)
    query = """
    query($ids: [ID!]!) { nodes(ids: $ids) { id ... on Quotation { invitations { status } } } }"""
    hotel = world.hotels[0].token
    async with (
        count_statements(live_server) as statements,
        most_connections_held(live_server) as held,
    ):
        found = await gql.execute(query, {"ids": [quotation] * 100}, token=hotel)
    expected = {"id": quotation, "invitations": [{"status": "VIEWED"}]}
    assert found.ok()["nodes"] == [expected] * 100
    assert sum(statement.startswith("UPDATE") for statement in statements) == 1, statements
    # The reads' connection and the one write's, and the outbox relay's that a commit wakes;
    # a hundred transactions at once took the whole pool (20).
    assert held[0] <= 5, held


async def test_a_hotel_opening_many_fresh_quotations_at_once_holds_one_write_connection(
    gql: GraphQLClient, make_user: UserFactory, live_server: LiveServer
) -> None:
    """Each quotation a hotel opens for the first time marks its invitation VIEWED, a
    transaction; many in one query take turns, so one request never holds the whole pool."""
    world = await make_world(gql, make_user)
    fresh = [await open_quotation(gql, world) for _ in range(20)]
    query = "query($ids: [ID!]!) { nodes(ids: $ids) { id } }"
    async with (
        count_statements(live_server) as statements,
        most_connections_held(live_server) as held,
    ):
        found = await gql.execute(query, {"ids": fresh}, token=world.hotels[0].token)
    assert [node["id"] for node in found.ok()["nodes"]] == fresh
    assert sum(statement.startswith("UPDATE") for statement in statements) == len(fresh)
    # The reads' connection and one write's at a time, and the outbox relay's that a commit
    # wakes; all at once, they took the whole pool (20).
    assert held[0] <= 6, held
    seen = "query($id: ID!) { quotation(id: $id) { invitations { status } } }"
    for quotation in fresh:
        read = await gql.execute(seen, {"id": quotation}, token=world.hotels[0].token)
        assert read.ok()["quotation"]["invitations"] == [{"status": "VIEWED"}]
