"""The HTTP benchmark measures what it claims: its floor (one SQL, raw asyncpg) answers exactly
the GraphQL ADMIN page, and its load generator counts an answer with errors as an error."""

from __future__ import annotations

import json
from datetime import timedelta

import asyncpg
from sqlalchemy import select, update

from benchmarks.http_cases import PAGE
from benchmarks.http_floor import PAGE_SIZE, PAGE_SQL, asyncpg_dsn
from benchmarks.loadgen import _parse, valid
from spirit_tours.config import Settings
from spirit_tours.core.clock import now_utc
from spirit_tours.dev.demo import DEMO_PASSWORD, add_demo_quotation, seed_demo
from spirit_tours.persistence.accounts import User
from spirit_tours.persistence.database import SessionFactory
from spirit_tours.persistence.quotations import Quotation
from tests.graphql_client import GraphQLClient


async def test_the_floor_answers_the_admin_page(
    sessions: SessionFactory, settings: Settings, database_url: str, gql: GraphQLClient
) -> None:
    async with sessions() as session, session.begin():
        await seed_demo(session, settings)
        users = {user.email: user for user in await session.scalars(select(User))}
        for _ in range(PAGE_SIZE + 2):  # more than a page
            await add_demo_quotation(session, users)
        # One OPEN quotation past its deadline: both must read it CLOSED.
        newest = await session.scalar(select(Quotation.id).order_by(Quotation.created_at.desc()))
        await session.execute(
            update(Quotation)
            .where(Quotation.id == newest)
            .values(offer_deadline=now_utc() - timedelta(minutes=1))
        )
    token = await gql.token_for("admin@spirit-tours.example", DEMO_PASSWORD)
    graphql = (await gql.execute(PAGE, token=token)).ok()
    connection = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        edges = json.loads(await connection.fetchval(PAGE_SQL, PAGE_SIZE))
    finally:
        await connection.close()
    assert edges[0]["node"]["status"] == "CLOSED"
    assert {"quotations": {"edges": edges}} == graphql


def test_the_load_generator_counts_errors_and_reads_chunked_answers() -> None:
    assert valid(200, b'{"data":{"viewer":null}}')
    assert not valid(200, b'{"data":null,"errors":[{"message":"PersistedQueryNotFound"}]}')
    assert not valid(200, b'{"errors":[{"message":"no"}]}')
    assert not valid(400, b'{"data":{}}')
    assert not valid(200, b"")
    body = b'{"data":{"x":1}}'
    chunked = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5\r\n" + body[:5] + b"\r\n" + f"{len(body) - 5:x}".encode() + b"\r\n" + body[5:]
        + b"\r\n0\r\n\r\n"
    )  # fmt: skip
    sized = b"HTTP/1.1 503 Busy\r\ncontent-length: 2\r\n\r\n{}"
    stream = bytearray(chunked + sized)
    assert _parse(bytearray(chunked[:-3])) is None  # not whole yet
    status, parsed, used = _parse(stream) or (0, b"", 0)
    assert (status, parsed) == (200, body)
    del stream[:used]
    assert _parse(stream) == (503, b"{}", len(sized))
