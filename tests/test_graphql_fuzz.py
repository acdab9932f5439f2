"""A bounded property-based fuzz of every GraphQL operation: no input is an internal error.

Bad input gets a clear, typed error (README, API conventions). For every root field of
``Query``, ``Mutation`` and ``Subscription``, hypothesis-graphql generates documents (a random
selection of the result, random arguments) which are sent to the live server as an anonymous
visitor, as ADMIN and as a HOTEL, with the arguments inline or (on another draw) lifted into
variables, so both literal and variable coercion are exercised. Values are drawn from the real
seeded data (an OPEN quotation with offers, a booking, a payment, a chat message…) as well as at
random, so ids hit and resolvers run past their lookups. The property: no HTTP 5xx, no
``INTERNAL_SERVER_ERROR`` anywhere in the answer (subscriptions: at subscribe time).

Bounded for CI (``derandomize``: the same documents on every run and machine);
``SPIRIT_FUZZ_EXAMPLES=200 pytest tests/test_graphql_fuzz.py`` runs it longer.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

import graphql
import httpx
import pytest
from graphql import (
    ArgumentNode,
    DocumentNode,
    NameNode,
    OperationDefinitionNode,
    OperationType,
    TypeInfo,
    TypeInfoVisitor,
    VariableDefinitionNode,
    VariableNode,
    Visitor,
    parse_type,
    value_from_ast_untyped,
    visit,
)
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import mutations, queries
from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from spirit_tours.core.enums import Role
from spirit_tours.persistence.database import SessionFactory
from spirit_tours.persistence.models import Base
from spirit_tours.resolvers.accounts import NewUser, create_user
from spirit_tours.schema.build import sdl
from tests.booking_flows import APPROVE, CREATE_VEHICLE, book
from tests.conftest import PASSWORD, LiveServer, empty_database
from tests.graphql_client import GraphQLClient
from tests.live_client import live, relayed
from tests.payment_flows import start_payment, stripe_api
from tests.quotation_flows import CLOSE, PROPOSE, World, make_world, open_quotation, submit
from tests.test_live import POST

SCHEMA = graphql.build_schema(sdl())
EXAMPLES = int(os.environ.get("SPIRIT_FUZZ_EXAMPLES", "12"))  # about 80 s on 2 cores
ROLES = ("anonymous", "ADMIN", "HOTEL")


def _root_fields(root: graphql.GraphQLObjectType | None) -> list[str]:
    assert root is not None
    return sorted(root.fields)


# Mutations that end an object's life (or a session) run last, so the others meet live data.
FINAL = (
    "cancelBooking", "cancelQuotation", "closeQuotation", "completeBooking", "declineInvitation",
    "rejectQuotation", "removeInvitation", "withdrawOffer", "logout",
)  # fmt: skip
OPERATIONS = [("query", name) for name in _root_fields(SCHEMA.query_type)] + [
    ("mutation", name)
    for name in sorted(_root_fields(SCHEMA.mutation_type), key=lambda name: name in FINAL)
]
SUBSCRIPTIONS = _root_fields(SCHEMA.subscription_type)
# Subscription documents are generated as queries of a schema whose root is ``Subscription``.
SUBSCRIPTION_SCHEMA = graphql.GraphQLSchema(
    query=SCHEMA.subscription_type, types=SCHEMA.type_map.values()
)


# --- values -------------------------------------------------------------------------------

# Control characters, NUL included, are among the strings: the request guard refuses them as
# BAD_USER_INPUT before any resolver runs (SPIRIT_FUZZ_CONTROL=0 leaves them out).
CONTROL_CHARACTERS = os.environ.get("SPIRIT_FUZZ_CONTROL", "1") != "0"
EXCLUDED: tuple[Literal["Cs", "Cc"], ...] = ("Cs",) if CONTROL_CHARACTERS else ("Cs", "Cc")
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=EXCLUDED), max_size=60)
LIKELY = [
    "USD", "EUR", "BRL", "PEN", "COP", "MXN", "es", "en", "pt", "BR", "CO", "PE", "MX", "US",
    "CARD", "PIX", "p0", "p1", "p999999", "https://app.spirit-tours.example/return",
    "javascript:alert(1)", "12345678909", "007", "Cusco", "0", "-1", "1e1000000", "NaN",
    "Infinity", "9" * 40, "2026-02-30", "9999-12-31T23:59:59+00:00", "", " ", PASSWORD,
    "Can you hold 6 doubles?", "VAN", "ABC-123", "x" * 5000, "\u202eevil", "<script>",
]  # fmt: skip
if CONTROL_CHARACTERS:
    LIKELY += ["a\x00b", "\x00", "line\r\nBcc: x@example.com", "\x1b[31m", "\x7f"]


def _string(value: str) -> graphql.ValueNode:
    return graphql.StringValueNode(value=value)


def _json_node(value: Any) -> graphql.ValueNode:
    if value is None:
        return graphql.NullValueNode()
    if isinstance(value, bool):
        return graphql.BooleanValueNode(value=value)
    if isinstance(value, int):
        return graphql.IntValueNode(value=str(value))
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list):
        return graphql.ListValueNode(values=tuple(_json_node(v) for v in value))
    fields = tuple(
        graphql.ObjectFieldNode(name=NameNode(value=k), value=_json_node(v))
        for k, v in value.items()
    )
    return graphql.ObjectValueNode(fields=fields)


def _mostly(good: st.SearchStrategy[Any], bad: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Well-formed values four times in five (so resolvers run), junk otherwise."""
    return st.integers(0, 4).flatmap(lambda i: bad if i == 4 else good)


def scalars(ids: list[str], strings: list[str]) -> dict[str, st.SearchStrategy[graphql.ValueNode]]:
    """Strategies for every scalar: plausible values mostly, junk sometimes."""
    junk = st.one_of(st.sampled_from(ids + strings), TEXT)
    integer = st.integers(-(2**31), 2**31 - 1).map(lambda i: graphql.IntValueNode(value=str(i)))
    amounts = st.decimals(min_value=-10, max_value=10**7, places=2).map(str)
    decimals = st.decimals(allow_nan=False, allow_infinity=False).map(str)
    today = date.today()
    dates = st.dates(today - timedelta(days=30), today + timedelta(days=400)).map(date.isoformat)
    moments = st.datetimes(datetime(2020, 1, 1), datetime(2030, 1, 1))
    datetimes = moments.map(lambda d: d.replace(tzinfo=UTC).isoformat())
    keys = st.from_regex(r"\A[_A-Za-z][_0-9A-Za-z]{0,12}\Z")  # a literal's keys are Names
    json_values = st.recursive(
        st.none() | st.booleans() | st.integers(-1000, 1000) | TEXT,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3),
        max_leaves=6,
    )
    return {
        "ID": st.one_of(st.sampled_from(ids), st.uuids().map(str), TEXT).map(_string) | integer,
        "String": _mostly(st.sampled_from(strings), junk).map(_string),
        "Decimal": _mostly(amounts, decimals | junk).map(_string) | integer,
        "Date": _mostly(dates, junk).map(_string),
        "DateTime": _mostly(datetimes, dates | junk).map(_string),
        "JSON": _mostly(st.dictionaries(keys, TEXT, max_size=4), json_values).map(_json_node),
    }


# --- documents ----------------------------------------------------------------------------


def lift_arguments(document: DocumentNode) -> tuple[DocumentNode, dict[str, Any]]:
    """The same operation with every argument passed as a variable of the argument's type."""
    type_info = TypeInfo(SCHEMA)
    definitions: list[VariableDefinitionNode] = []
    variables: dict[str, Any] = {}

    class Lift(Visitor):
        def enter_argument(self, node: ArgumentNode, *_: Any) -> ArgumentNode | None:
            argument = type_info.get_argument()
            if argument is None:
                return None
            name = f"v{len(variables)}"
            variables[name] = value_from_ast_untyped(node.value)
            variable = VariableNode(name=NameNode(value=name))
            definitions.append(
                VariableDefinitionNode(variable=variable, type=parse_type(str(argument.type)))
            )
            return ArgumentNode(name=node.name, value=variable)

    lifted = visit(document, TypeInfoVisitor(type_info, Lift()))
    operation = lifted.definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    operation = dataclasses.replace(operation, variable_definitions=tuple(definitions))
    return dataclasses.replace(lifted, definitions=(operation,)), variables


# Which table an ID argument or input field names: ``quotationId`` a quotation, and so on.
TABLES = {
    "quotation": "quotations", "offer": "hotel_offers", "booking": "bookings", "hotel": "hotels",
    "guide": "users", "actor": "users", "vehicle": "vehicles", "payment": "payments",
    "timeOff": "guide_time_off", "acknowledgeNotifications": "notifications",
    "requeueEmail": "email_messages", "object": "quotations",
}  # fmt: skip


def aim_ids(
    document: DocumentNode, data: st.DataObject, pool: dict[str, list[str]]
) -> DocumentNode:
    """Point most ID arguments and input fields at a real object of the kind they name."""
    type_info = TypeInfo(SCHEMA)

    def real(name: str, type_: graphql.GraphQLInputType | None) -> graphql.ValueNode | None:
        if type_ is None or graphql.get_named_type(type_).name != "ID":
            return None
        if name in ("id", "ids"):  # quotation(id:), acknowledgeNotifications(ids:)
            name = _field_name(type_info)
        key = name.removesuffix("Ids").removesuffix("Id")
        ids = pool.get(TABLES.get(key, ""), [])
        if not ids or data.draw(st.integers(0, 3), label="aim") == 3:  # a random id now and then
            return None
        unwrapped = graphql.get_nullable_type(type_)
        if isinstance(unwrapped, graphql.GraphQLList):
            chosen = data.draw(st.lists(st.sampled_from(ids), max_size=3), label=name)
            return graphql.ListValueNode(values=tuple(_string(value) for value in chosen))
        return _string(data.draw(st.sampled_from(ids), label=name))

    class Aim(Visitor):
        def enter_argument(self, node: ArgumentNode, *_: Any) -> ArgumentNode | None:
            argument = type_info.get_argument()
            value = real(node.name.value, argument.type if argument else None)
            return None if value is None else ArgumentNode(name=node.name, value=value)

        def enter_object_field(
            self, node: graphql.ObjectFieldNode, *_: Any
        ) -> graphql.ObjectFieldNode | None:
            value = real(node.name.value, type_info.get_input_type())
            return None if value is None else graphql.ObjectFieldNode(name=node.name, value=value)

    aimed: DocumentNode = visit(document, TypeInfoVisitor(type_info, Aim()))
    return aimed


def _field_name(type_info: TypeInfo) -> str:
    field = type_info.get_field_def()
    if field is None:
        return ""
    parent = type_info.get_parent_type()
    if isinstance(parent, graphql.GraphQLObjectType):
        for name, candidate in parent.fields.items():
            if candidate is field:
                return str(name)
    return ""


def as_subscription(document: DocumentNode) -> DocumentNode:
    operation = document.definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    operation = dataclasses.replace(operation, operation=OperationType.SUBSCRIPTION)
    return dataclasses.replace(document, definitions=(operation,))


def _identity(document: DocumentNode) -> DocumentNode:
    return document


# --- the seeded world ---------------------------------------------------------------------


@dataclasses.dataclass
class Fuzz:
    url: str
    http: httpx.AsyncClient
    tokens: dict[str, str | None]
    pool: dict[str, list[str]]
    scalars: dict[str, st.SearchStrategy[graphql.ValueNode]]
    strategies: dict[tuple[str, str], st.SearchStrategy[DocumentNode]] = dataclasses.field(
        default_factory=dict
    )

    def documents(self, kind: str, name: str) -> st.SearchStrategy[DocumentNode]:
        key = (kind, name)
        if key not in self.strategies:
            options: dict[str, Any] = {
                "fields": [name],
                "custom_scalars": self.scalars,
                "print_ast": _identity,
                "allow_x00": False,
            }
            if kind == "mutation":
                self.strategies[key] = mutations(SCHEMA, **options)
            elif kind == "query":
                self.strategies[key] = queries(SCHEMA, **options)
            else:
                self.strategies[key] = queries(SUBSCRIPTION_SCHEMA, **options).map(as_subscription)
        return self.strategies[key]


@pytest.fixture(autouse=True)
async def clean_state(redis: Redis) -> None:
    """Overrides the suite's per-test cleaning: the seeded data is kept for the whole module
    (it is built once, below); Redis (throttles, limits) is still emptied before each test."""
    await redis.flushdb()


async def _seed(gql: GraphQLClient, sessions: SessionFactory) -> tuple[World, dict[str, list[str]]]:
    async def make_user(email: str, role: Role = Role.ADMIN, **extra: Any) -> Any:
        async with sessions() as session, session.begin():
            return await create_user(session, NewUser(email, PASSWORD, role, **extra))

    world = await make_world(gql, make_user)
    await make_user("pedro.guide@op.example", Role.GUIDE)
    admin = world.admin.token
    hidden = await open_quotation(gql, world, mode="HIDDEN")
    await submit(gql, world.hotels[0], hidden, "900.00")
    await submit(gql, world.hotels[1], hidden, "950.00")
    opened = await open_quotation(gql, world, mode="OPEN")
    offer = await submit(gql, world.hotels[0], opened, "1000.00")
    post = {"q": hidden, "body": "Hi", "hotel": world.hotels[0].hotel_id}
    (await gql.execute(POST, post, token=admin)).ok()
    (await gql.execute(CLOSE, {"q": opened}, token=admin)).ok()
    (await gql.execute(PROPOSE, {"q": opened, "o": offer, "m": "20"}, token=admin)).ok()
    (await gql.execute(APPROVE, {"q": opened}, token=world.agency.token)).ok()
    booking = await book(gql, world.agency.token, opened)
    vehicle = {"name": "Van", "plate": "ABC-123", "capacity": 16}
    (await gql.execute(CREATE_VEHICLE, vehicle, token=admin)).ok()
    with stripe_api():
        (await start_payment(gql, world.agency.token, booking)).ok()
    await relayed(sessions)
    pool: dict[str, list[str]] = {}
    async with sessions() as session:
        for table in Base.metadata.sorted_tables:
            if "id" in table.columns:
                rows = await session.scalars(select(table.c.id).limit(20))
                pool[table.name] = [str(value) for value in rows]
    return world, pool


@pytest.fixture(scope="module")
async def fuzz(
    live_server: LiveServer, engine: AsyncEngine, sessions: SessionFactory, redis: Redis
) -> AsyncIterator[Fuzz]:
    await empty_database(engine)
    await redis.flushdb()
    async with httpx.AsyncClient(base_url=live_server.url, timeout=60) as http:
        world, pool = await _seed(GraphQLClient(http), sessions)
        ids = [value for values in pool.values() for value in values]
        emails = [world.admin.email, world.hotels[0].email, world.agency.email]
        strings = LIKELY + emails
        tokens = {"anonymous": None, "ADMIN": world.admin.token, "HOTEL": world.hotels[0].token}
        with stripe_api():  # payments reach a recorded Stripe, never the network
            yield Fuzz(live_server.url, http, tokens, pool, scalars(ids, strings))


# --- the properties -----------------------------------------------------------------------

FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,  # no .hypothesis/ directory in the project
    derandomize=True,  # the same documents on every run and machine
    suppress_health_check=list(HealthCheck),
)


def internal_errors(body: Any) -> list[Any]:
    errors = body.get("errors") if isinstance(body, dict) else None
    return [
        error
        for error in errors or []
        if (error.get("extensions") or {}).get("code") == "INTERNAL_SERVER_ERROR"
    ]


@FUZZ_SETTINGS
@given(data=st.data())
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("kind", "name"), OPERATIONS, ids=[f"{k}-{n}" for k, n in OPERATIONS])
async def test_no_operation_is_an_internal_error(
    fuzz: Fuzz, kind: str, name: str, role: str, data: st.DataObject
) -> None:
    document = aim_ids(data.draw(fuzz.documents(kind, name), label="document"), data, fuzz.pool)
    variables: dict[str, Any] = {}
    if data.draw(st.booleans(), label="as variables"):
        document, variables = lift_arguments(document)
    query = graphql.print_ast(document)
    token = fuzz.tokens[role]
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await fuzz.http.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers
    )
    where = f"{role}: {query} {json.dumps(variables)}"
    assert response.status_code < 500, f"HTTP {response.status_code} for {where}: {response.text}"
    assert response.headers["content-type"].startswith("application/json"), where
    body = response.json()
    codes = sorted({str((e.get("extensions") or {}).get("code")) for e in body.get("errors") or []})
    event(f"answered with {codes or 'data'}")  # see --hypothesis-show-statistics
    assert internal_errors(body) == [], where


@FUZZ_SETTINGS
@given(data=st.data())
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", SUBSCRIPTIONS)
async def test_no_subscription_is_an_internal_error_at_subscribe_time(
    fuzz: Fuzz, name: str, role: str, data: st.DataObject
) -> None:
    drawn = data.draw(fuzz.documents("subscription", name), label="document")
    document = aim_ids(drawn, data, fuzz.pool)
    variables: dict[str, Any] = {}
    if data.draw(st.booleans(), label="as variables"):
        document, variables = lift_arguments(document)
    query = graphql.print_ast(document)
    where = f"{role}: {query} {json.dumps(variables)}"
    async with live(fuzz.url, fuzz.tokens[role]) as client:
        await client.subscribe("s", query, variables)
        try:
            # An error comes at once; a valid subscription stays silent until an event.
            first = await client.next("s", wait=0.5)
        except TimeoutError:
            await client.stop("s")
            first = {}
        closed = client.ws.close_code
    assert closed in (None, 1000), (where, closed)  # 1011/4500: the server failed
    assert "INTERNAL_SERVER_ERROR" not in json.dumps(first), (where, first)
