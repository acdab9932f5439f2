"""Listing quotations: a fixed number of SQL statements per page, cursor pagination, filters."""

from __future__ import annotations

from tests.conftest import LiveServer, UserFactory
from tests.graphql_client import GraphQLClient
from tests.quotation_flows import CREATE, World, make_world, open_quotation, quotation_input, submit
from tests.sql_counter import count_statements, statement_connections

PAGE = """
query($first: Int!, $after: String, $filter: QuotationFilter) {
  quotations(first: $first, after: $after, filter: $filter) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node {
      id status destination owner { fullName company { name } }
      offerCount myRank sellingPrice { amount }
      invitations { hotelAlias hotel { name } }
      offers { hotelAlias netPrice { amount } hotel { name city } revisions { revision } }
    } }
  }
}"""


async def _quotations_with_offers(gql: GraphQLClient, world: World, count: int) -> None:
    for n in range(count):
        quotation_id = await open_quotation(gql, world)
        for hotel in world.hotels:
            await submit(gql, hotel, quotation_id, f"{1000 + n}.00")


async def test_page_costs_the_same_statements_whatever_its_size(
    gql: GraphQLClient, make_user: UserFactory, live_server: LiveServer
) -> None:
    world = await make_world(gql, make_user)
    await _quotations_with_offers(gql, world, 6)
    counts = {}
    for viewer in (world.admin, world.hotels[0], world.agency):
        for size in (1, 6):
            async with count_statements(live_server) as statements:
                result = await gql.execute(PAGE, {"first": size}, token=viewer.token)
            assert len(result.ok()["quotations"]["edges"]) == size
            counts[(viewer.email, size)] = len(statements)
    for viewer in (world.admin, world.hotels[0], world.agency):
        assert counts[(viewer.email, 1)] == counts[(viewer.email, 6)], counts
    assert max(counts.values()) <= 10, counts


OFFER_PAGE = """
query($first: Int!) { quotations(first: $first) { edges { cursor node {
  id status destination startDate endDate travellers currency offerCount
  offers { id hotelAlias status netPrice { amount currency } hotel { id name } }
} } } }"""


async def test_offer_page_takes_four_round_trips_whatever_its_size(
    gql: GraphQLClient, make_user: UserFactory, live_server: LiveServer
) -> None:
    """The page of the dashboards (quotations, their offers, prices and hotels): the page with
    its count, its invitations, its offers, their hotels — one statement each, all on one
    connection, for 1 quotation or 6, whoever asks."""
    world = await make_world(gql, make_user)
    await _quotations_with_offers(gql, world, 6)
    for viewer in (world.admin, world.hotels[0], world.agency):
        for size in (1, 6):
            async with (
                statement_connections(live_server) as connections,
                count_statements(live_server) as statements,
            ):
                result = await gql.execute(OFFER_PAGE, {"first": size}, token=viewer.token)
            edges = result.ok()["quotations"]["edges"]
            assert len(edges) == size
            assert all(edge["node"]["offers"] for edge in edges)
            # The response cache reads the database snapshot once before running a query.
            reads = [s for s in statements if "pg_current_snapshot" not in s]
            assert len(reads) == 4, (viewer.email, size, statements)
            assert len(statements) - len(reads) <= 1, (viewer.email, size, statements)
            assert len(connections) == 1, (viewer.email, size)


async def test_cursor_pagination_walks_every_quotation_once(
    gql: GraphQLClient, make_user: UserFactory
) -> None:
    world = await make_world(gql, make_user)
    created = []
    for n in range(7):
        result = await gql.execute(
            CREATE, {"input": quotation_input(destination=f"Trip {n}")}, token=world.agency.token
        )
        created.append(result.ok()["createQuotation"]["quotation"]["id"])
    seen: list[str] = []
    after = None
    while True:
        page = await gql.execute(PAGE, {"first": 3, "after": after}, token=world.agency.token)
        data = page.ok()["quotations"]
        assert data["totalCount"] == 7
        seen += [edge["node"]["id"] for edge in data["edges"]]
        if not data["pageInfo"]["hasNextPage"]:
            break
        after = data["pageInfo"]["endCursor"]
    assert seen == list(reversed(created))  # newest first, each exactly once

    filtered = await gql.execute(
        PAGE, {"first": 10, "filter": {"destination": "trip 3"}}, token=world.agency.token
    )
    assert [e["node"]["destination"] for e in filtered.ok()["quotations"]["edges"]] == ["Trip 3"]
    drafts = await gql.execute(
        PAGE, {"first": 10, "filter": {"statuses": ["OPEN"]}}, token=world.agency.token
    )
    assert drafts.ok()["quotations"]["totalCount"] == 0


async def test_bad_page_arguments_are_refused(gql: GraphQLClient, make_user: UserFactory) -> None:
    world = await make_world(gql, make_user)
    too_many = await gql.execute(PAGE, {"first": 1000}, token=world.admin.token)
    assert too_many.codes == ["BAD_USER_INPUT"]
    bad_cursor = await gql.execute(PAGE, {"first": 5, "after": "bm9wZQ"}, token=world.admin.token)
    assert bad_cursor.codes == ["BAD_USER_INPUT"]
    assert bad_cursor.errors[0]["extensions"]["field"] == "after"
