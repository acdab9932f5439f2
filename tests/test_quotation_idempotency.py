"""createQuotation with an idempotency key: a retry after a lost response never asks for a
second quotation (issue 12, finding 8)."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from spirit_tours.persistence.database import SessionFactory
from spirit_tours.persistence.events import OutboxEvent
from spirit_tours.persistence.quotations import Quotation
from tests.conftest import UserFactory
from tests.graphql_client import GraphQLClient
from tests.quotation_flows import CREATE, make_world, quotation_input


async def _count(sessions: SessionFactory) -> tuple[int, int]:
    async with sessions() as session:
        quotations = await session.scalar(select(func.count()).select_from(Quotation))
        created = await session.scalar(
            select(func.count())
            .select_from(OutboxEvent)
            .where(OutboxEvent.kind == "quotation.created")
        )
    return int(quotations or 0), int(created or 0)


async def test_concurrent_retries_with_one_key_create_one_quotation(
    gql: GraphQLClient, make_user: UserFactory, sessions: SessionFactory
) -> None:
    world = await make_world(gql, make_user)
    before = await _count(sessions)
    same = {"input": quotation_input(idempotencyKey="rfq-cusco-0001")}
    results = await asyncio.gather(
        *(gql.execute(CREATE, same, token=world.agency.token) for _ in range(20))
    )
    ids = {r.ok()["createQuotation"]["quotation"]["id"] for r in results}
    assert len(ids) == 1
    assert await _count(sessions) == (before[0] + 1, before[1] + 1)
    # Later, the same retry still answers the same quotation.
    again = (await gql.execute(CREATE, same, token=world.agency.token)).ok()
    assert again["createQuotation"]["quotation"]["id"] in ids
    assert await _count(sessions) == (before[0] + 1, before[1] + 1)


async def test_a_reused_key_with_other_input_is_a_conflict_and_keys_are_per_owner(
    gql: GraphQLClient, make_user: UserFactory, sessions: SessionFactory
) -> None:
    world = await make_world(gql, make_user)
    key = "rfq-lima-0000001"
    first = await gql.execute(CREATE, {"input": quotation_input(idempotencyKey=key)},
                              token=world.agency.token)  # fmt: skip
    quotation_id = first.ok()["createQuotation"]["quotation"]["id"]
    before = await _count(sessions)
    other = quotation_input(idempotencyKey=key, travellers=13)
    reused = await gql.execute(CREATE, {"input": other}, token=world.agency.token)
    assert reused.codes == ["CONFLICT"]
    assert reused.errors[0]["extensions"]["field"] == "idempotencyKey"
    assert reused.errors[0]["extensions"]["quotationId"] == quotation_id
    bad = await gql.execute(CREATE, {"input": quotation_input(idempotencyKey="short")},
                            token=world.agency.token)  # fmt: skip
    assert bad.codes == ["BAD_USER_INPUT"]
    assert bad.errors[0]["extensions"]["field"] == "idempotencyKey"
    assert await _count(sessions) == before
    # Another owner's key space is its own.
    theirs = await gql.execute(CREATE, {"input": quotation_input(idempotencyKey=key)},
                               token=world.client.token)  # fmt: skip
    assert theirs.ok()["createQuotation"]["quotation"]["id"] != quotation_id
    # Without a key every call asks for a new quotation, as before.
    for _ in range(2):
        (await gql.execute(CREATE, {"input": quotation_input()}, token=world.agency.token)).ok()
    assert await _count(sessions) == (before[0] + 3, before[1] + 3)
