"""The floor of the HTTP benchmark: the 20-quotation page as cheaply as a server can make it.

Raw asyncpg (a pool of its own, no SQLAlchemy), one SQL that builds the whole page with
``json_agg``/``json_build_object``, stdlib JSON, no authentication and no privacy rules: the
ADMIN page's fields (PAGE in ``benchmarks.http_cases``), cursors included. What our GraphQL page
costs beyond this is the price of GraphQL, the ORM, authentication and §3.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse

PAGE_SIZE = 20

# The cursor is ``pagination.encode_cursor``: urlsafe base64 of "<created_at isoformat>|<id>",
# where Python's isoformat leaves out a zero fraction of a second; PostgreSQL's base64 wraps
# lines at 76 characters and uses + and / instead of - and _.
# The effective status is ``rules.effective_status``: OPEN past its deadline reads CLOSED.
PAGE_SQL = """
SELECT coalesce(json_agg(json_build_object(
    'cursor', translate(replace(encode(convert_to(
        to_char(q.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')
        || CASE WHEN extract(microseconds FROM q.created_at)::int % 1000000 = 0 THEN ''
                ELSE to_char(q.created_at AT TIME ZONE 'UTC', '.US') END
        || '+00:00|' || q.id::text, 'UTF8'), 'base64'), E'\\n', ''), '+/', '-_'),
    'node', json_build_object(
        'id', q.id,
        'status', CASE WHEN q.status = 'OPEN' AND q.offer_deadline <= now() THEN 'CLOSED'
                       ELSE q.status::text END,
        'destination', q.destination,
        'startDate', q.start_date,
        'endDate', q.end_date,
        'travellers', q.travellers,
        'currency', q.currency,
        'offerCount', (SELECT count(*) FROM hotel_offers c WHERE c.quotation_id = q.id),
        'offers', coalesce((
            SELECT json_agg(json_build_object(
                'id', o.id,
                'hotelAlias', i.alias,
                'status', o.status,
                'netPrice', json_build_object('amount', o.net_price::text,
                                              'currency', o.currency),
                'hotel', json_build_object('id', h.id, 'name', h.name)
            ) ORDER BY o.created_at, o.id)
            FROM hotel_offers o
            JOIN hotels h ON h.id = o.hotel_id
            LEFT JOIN hotel_invitations i
                ON i.quotation_id = o.quotation_id AND i.hotel_id = o.hotel_id
            WHERE o.quotation_id = q.id), '[]'::json)
    )
) ORDER BY q.created_at DESC, q.id DESC), '[]'::json)
FROM (SELECT * FROM quotations ORDER BY created_at DESC, id DESC LIMIT $1) AS q
"""


def asyncpg_dsn(database_url: str) -> str:
    """``postgresql+asyncpg://…`` (SQLAlchemy's form) as asyncpg takes it."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


async def floor_page(request: Request) -> JSONResponse:
    pool: asyncpg.Pool = request.app.state.floor_pool
    async with pool.acquire() as connection:
        edges = await connection.fetchval(PAGE_SQL, PAGE_SIZE)
    return JSONResponse({"data": {"quotations": {"edges": edges}}})


async def _decode_json(connection: asyncpg.Connection) -> None:
    await connection.set_type_codec(
        "json", encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
    )


def add_floor(app: Starlette, database_url: str, pool_size: int) -> None:
    """``GET /floor/quotations`` on ``app``, with an asyncpg pool opened and closed around the
    app's own lifespan (in every worker process)."""
    inner: Callable[[Any], AbstractAsyncContextManager[Any]] = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[Any]:
        async with inner(app) as state:
            pool = await asyncpg.create_pool(
                asyncpg_dsn(database_url), min_size=1, max_size=pool_size, init=_decode_json
            )
            app.state.floor_pool = pool
            try:
                yield state
            finally:
                await pool.close()

    app.router.lifespan_context = lifespan
    app.add_route("/floor/quotations", floor_page)
