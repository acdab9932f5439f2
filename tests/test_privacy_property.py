from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import UserFactory
from tests.graphql_client import GraphQLClient
from tests.quotation_flows import World, make_world
import pytest


@pytest.fixture
async def world(gql: GraphQLClient, make_user: UserFactory) -> World:
    return await make_world(gql, make_user)


CALLS = []


@settings(
    max_examples=5,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(x=st.integers())
async def test_probe(gql: GraphQLClient, world: World, x: int) -> None:
    r = await gql.execute("{ viewer { email } }", token=world.admin.token)
    CALLS.append(x)
    print(len(CALLS), r.data)
