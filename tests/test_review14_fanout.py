"""REVIEW14: failing tests for defects found reviewing the live fan-out (branch ``fanout``).

Each test names the defect it proves (file and function) and FAILS on the fanout branch as
committed (49d8117); none fixes production code. They run against the real server fixtures
(tests/conftest.py) like tests/test_live.py; the few white-box steps (holding the live
semaphore, finding the connection handler) only decide the order of events the loop can run.
The render-failure test passes on ``main`` (the error ended the subscription with
``complete``, so the client resumed and got the event by replay).
"""

from __future__ import annotations

import asyncio
import gc

from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from spirit_tours.config import Settings
from spirit_tours.core.enums import Role
from spirit_tours.live_connections import LimitedTransportWSHandler
from spirit_tours.persistence.database import SessionFactory
from tests.conftest import LiveServer, UserFactory, empty_database, serving
from tests.graphql_client import GraphQLClient
from tests.live_client import listening, live, published, relayed, room_of
from tests.quotation_flows import make_world, open_quotation

ANNOUNCEMENTS = "subscription { announcements { cursor title } }"
ANNOUNCE = """
mutation($t: String!) { postAnnouncement(input: {title: $t, body: "b"}) { title } }"""


async def _announce(gql: GraphQLClient, token: str, count: int) -> None:
    for n in range(count):
        (await gql.execute(ANNOUNCE, {"t": f"a{n}"}, token=token)).ok()


async def test_review14_a_prompt_reader_is_not_cut_off_by_one_burst(
    gql: GraphQLClient, make_user: UserFactory, live_server: LiveServer, sessions: SessionFactory
) -> None:
    """DEFECT (fanout.py SocketWriter.write / Fanout._deliver): every frame of a burst is queued
    synchronously before the connection's drain task runs once, so a burst of 21 deliveries to a
    connection holding 50 subscriptions (1050 frames) "overflows" WRITE_QUEUE_LIMIT and every
    subscription ends with CONFLICT, although the reader never fell behind."""
    await make_user("admin@op.example", Role.ADMIN)
    await make_user("reader@op.example", Role.ADMIN)
    admin = await gql.token_for("admin@op.example", "correct horse battery")
    reader = await gql.token_for("reader@op.example", "correct horse battery")
    hub = live_server.app.state.services.hub
    async with live(live_server.url, reader) as client:
        for n in range(50):
            await client.subscribe(f"s{n}", ANNOUNCEMENTS)
        await listening(live_server, {"announcements": 50})
        async with hub._catching_up:  # the hub runs behind: the 21 arrive as one burst
            await _announce(gql, admin, 21)
            await published(sessions)
        for n in range(50):
            titles = [(await client.data(f"s{n}"))["announcements"]["title"] for _ in range(21)]
            assert titles == [f"a{i}" for i in range(21)]


ROOM = """
subscription($q: ID!, $after: String) {
  quotationEvents(quotationId: $q, after: $after) {
    __typename
    ... on QuotationChanged { cursor kind }
    ... on OfferChanged { cursor kind }
    ... on MessagePosted { cursor message { body } }
    ... on TypingChanged { cursor typing }
    ... on PresenceChanged { cursor online }
  }
}"""
REMOVE = """
mutation($q: ID!, $h: ID!) { removeInvitation(input: {quotationId: $q, hotelId: $h}) {
  quotation { id } } }"""


async def test_review14_an_overflow_does_not_swallow_a_room_closing_frame(
    gql: GraphQLClient, make_user: UserFactory, live_server: LiveServer, sessions: SessionFactory
) -> None:
    """DEFECT (fanout.py SocketWriter.write clears every queued frame; live_connections.py
    _fell_behind ends only what is still live): a subscription whose room closed (NOT_FOUND
    frame queued, its on_end still pending) loses that frame when the connection's queue
    overflows right after, and _fell_behind skips it (already ended): the client is never told
    the operation ended, while the server has forgotten it. It waits forever."""
    world = await make_world(gql, make_user)
    quotation = await open_quotation(gql, world, mode="OPEN")
    await relayed(sessions)
    hub = live_server.app.state.services.hub
    async with live(live_server.url, world.hotels[2].token) as hotel:
        await hotel.subscribe("room", ROOM, {"q": quotation})
        for n in range(49):
            await hotel.subscribe(f"s{n}", ANNOUNCEMENTS)
        await listening(live_server, {room_of(quotation): 1, "announcements": 49})
        async with hub._catching_up:  # one burst: the removal, then 21 announcements
            removed = {"q": quotation, "h": world.hotels[2].hotel_id}
            (await gql.execute(REMOVE, removed, token=world.admin.token)).ok()
            await _announce(gql, world.admin.token, 21)
            await published(sessions)
        assert "CONFLICT" in str(await hotel.next("s0"))  # the rest of the connection ended
        try:
            closing = await hotel.next("room", wait=5.0)
        except TimeoutError:
            raise AssertionError("the room closed but its client was never told") from None
        assert "NOT_FOUND" in str(closing) or "CONFLICT" in str(closing)


POST = """
mutation($q: ID!, $body: String!) {
  postMessage(input: {quotationId: $q, body: $body}) { message { id } }
}"""


async def test_review14_an_event_that_fails_to_render_is_not_silently_skipped(
    settings: Settings,
    gql: GraphQLClient,
    make_user: UserFactory,
    live_server: LiveServer,
    sessions: SessionFactory,
) -> None:
    """DEFECT (live_render.py LiveRenderer._render, the ``except Exception`` around _event):
    when an event cannot be read (here the pool is exhausted: SERVICE_UNAVAILABLE), its
    subscribers get a ``next`` with ``data: null`` and no cursor, and the subscription carries
    on: the next event's cursor moves past the failed one, which is lost for good. Before the
    fan-out the error ended the subscription, and the client resumed from its last cursor and
    got the event by replay (docs/privacy.md §2.3, SPEC §4: no event lost)."""
    world = await make_world(gql, make_user)
    quotation = await open_quotation(gql, world)
    await relayed(sessions)
    small = settings.model_copy(
        update={"database_pool_size": 1, "database_pool_timeout_seconds": 0.5}
    )
    async with serving(small) as server:
        services = server.app.state.services
        async with live(server.url, world.admin.token) as admin:
            await admin.subscribe("room", ROOM, {"q": quotation})
            await listening(server, {room_of(quotation): 1})
            turns = services.live_limits._database
            for _ in range(small.live_database_concurrency):  # the fan-out waits its turn
                await turns.acquire()
            (await gql.execute(POST, {"q": quotation, "body": "first"},
                               token=world.admin.token)).ok()  # fmt: skip
            await relayed(sessions)  # dispatched to the fan-out, which waits to render it
            async with services.sessions() as one, services.sessions() as two:
                await one.execute(text("SELECT 1"))
                await two.execute(text("SELECT 1"))  # the pool is exhausted for a moment
                for _ in range(small.live_database_concurrency):
                    turns.release()
                failed = await admin.next("room")
            (await gql.execute(POST, {"q": quotation, "body": "second"},
                               token=world.admin.token)).ok()  # fmt: skip
            received = [failed]
            while not any("second" in str(message) for message in received):
                received.append(await admin.next("room"))
        ended = any(message["type"] in ("error", "complete") for message in received)
        bodies = [str(m) for m in received if "MessagePosted" in str(m)]
        assert ended or any("first" in body for body in bodies), (
            f"the event that failed to render was skipped and the subscription went on: {received}"
        )


async def test_review14_an_ended_subscription_releases_its_operation_count_once(
    gql: GraphQLClient, make_user: UserFactory, live_server: LiveServer
) -> None:
    """DEFECT (fanout.py Fanout.end schedules on_end as a task; live_connections.py
    cleanup_operation finds the subscription still in ``_live`` until that task runs, and calls
    on_end itself): when the room closes or the reader overflows in the same loop turn as the
    client's ``complete`` or disconnect, on_end runs twice and drop_operation counts the
    operation twice: the user's other live subscriptions are no longer counted, so the
    per-user cap (max_subscriptions_per_user) can be exceeded. White-box: the two calls are made
    in the order the event loop can run them."""
    user = await make_user("ana@op.example")
    token = await gql.token_for("ana@op.example", "correct horse battery")
    services = live_server.app.state.services
    async with live(live_server.url, token) as client:
        await client.subscribe("a", ANNOUNCEMENTS)
        await client.subscribe("b", ANNOUNCEMENTS)
        await listening(live_server, {"announcements": 2})
        for _ in range(100):
            if services.live_limits._operations[user.id] == 2:
                break
            await asyncio.sleep(0.01)
        assert services.live_limits._operations[user.id] == 2
        feed = services.fanout._feeds["announcements"]
        first = next(m for g in feed.groups.values() for m in g.members if m.operation_id == "a")
        assert first.on_end is not None
        handler = next(
            cell.cell_contents
            for cell in first.on_end.__closure__ or ()
            if hasattr(cell.cell_contents, "cleanup_operation")
        )
        services.fanout.end(first, None)  # e.g. the room closed: on_end is scheduled...
        await handler.cleanup_operation("a")  # ...and the client's complete is handled first
        await services.fanout.drain()
        # "b" is still live and counted.
        assert services.live_limits._operations[user.id] == 1


TYPING = """
mutation($q: ID!) { setTyping(input: {quotationId: $q, typing: true}) }"""


async def test_review14_a_signal_cursor_is_a_position_of_the_current_outbox(
    engine: AsyncEngine,
    gql: GraphQLClient,
    make_user: UserFactory,
    live_server: LiveServer,
    sessions: SessionFactory,
) -> None:
    """DEFECT (fanout.py Fanout._plan: ``self.position = max(self.position, ...)``, never
    lowered): the hub rewinds its position when the outbox was emptied (a restored database,
    ``_rewind_if_truncated``), the fan-out does not, so signals (typing, presence) carry the
    cursor of a position that no longer exists: resuming from it is refused (BAD_USER_INPUT)
    and, once the outbox grows past it, would skip events. Before the fan-out, a subscription
    started its signal cursor at the hub's position."""
    world = await make_world(gql, make_user)
    for _ in range(4):
        await open_quotation(gql, world)
    await relayed(sessions)
    await empty_database(engine)  # the outbox is emptied (a restored database)
    await live_server.app.state.services.hub._rewind_if_truncated()
    world = await make_world(gql, make_user)
    quotation = await open_quotation(gql, world)
    await relayed(sessions)
    async with live(live_server.url, world.admin.token) as admin:
        await admin.subscribe("room", ROOM, {"q": quotation})
        await listening(live_server, {room_of(quotation): 1})
        (await gql.execute(TYPING, {"q": quotation}, token=world.agency.token)).ok()
        typing = await admin.event("room", "quotationEvents")
        assert typing["__typename"] == "TypingChanged"
        await admin.subscribe("again", ROOM, {"q": quotation, "after": typing["cursor"]})
        await admin.nothing("again", 1.0)  # resumes quietly: nothing was missed


def _handler_holding(operation_id: str) -> LimitedTransportWSHandler:
    """The connection handler running ``operation_id`` (white-box: found among live objects)."""
    return next(
        found
        for found in gc.get_objects()
        if isinstance(found, LimitedTransportWSHandler) and operation_id in found.operations
    )


async def test_review14_a_subscription_completed_while_starting_never_goes_live(
    gql: GraphQLClient,
    make_user: UserFactory,
    live_server: LiveServer,
    sessions: SessionFactory,
    redis: Redis,
) -> None:
    """DEFECT (live_connections.py _run: ``if handoff.accepted and not operation.completed``
    goes live without checking that the operation is still registered): strawberry's
    cleanup_operation (the client's ``complete``) pops the operation and cancels its task, but
    a cancellation can be swallowed on the way (here Python 3.11's ``asyncio.wait_for`` in
    ``LiveLimits.start``, when the semaphore is granted in the same loop turn), and the
    resolver then hands over: the subscription goes live although the client completed it.
    It is in ``_live`` but not in ``operations``, so the disconnect's shutdown never cleans it
    up: the feed, the hub room, the per-user operation count and the presence entry (refreshed
    forever: the user shows online in the room for good) leak until the process restarts.
    Reproduced by black-box loops of subscribe+complete too (about 1 in 60); made
    deterministic here by granting the semaphore and completing in the same loop turn."""
    world = await make_world(gql, make_user)
    quotation = await open_quotation(gql, world)
    await relayed(sessions)
    services = live_server.app.state.services
    turns = services.live_limits._database
    room = room_of(quotation)
    async with live(live_server.url, world.admin.token) as admin:
        held = 0
        while not turns.locked():  # every turn taken: the start waits in wait_for
            await turns.acquire()
            held += 1
        await admin.subscribe("x", ROOM, {"q": quotation})
        for _ in range(500):
            if turns._waiters:
                break
            await asyncio.sleep(0.01)
        handler = _handler_holding("x")
        turns.release()  # its turn comes...
        held -= 1
        await handler.cleanup_operation("x")  # ...in the loop turn its complete is handled
        for _ in range(held):
            turns.release()
        await asyncio.sleep(0.5)
        zombie = (handler._live or {}).get("x")
    try:
        for _ in range(100):  # disconnected: nothing of it may remain
            await services.fanout.drain()
            if room not in services.fanout._feeds and not services.live_limits._operations:
                break
            await asyncio.sleep(0.02)
        left = {
            "live although completed": zombie is not None,
            "feed": room in services.fanout._feeds,
            "operation counts": dict(services.live_limits._operations),
            "presence held": dict(services.presence._held),
            "present in Redis": await redis.zcard(f"presence:{room}"),
        }
        assert not any(left.values()), f"after complete and disconnect: {left}"
    finally:
        if zombie is not None:  # do not leave it to the next tests of this server
            services.fanout.end(zombie, None)
            await services.fanout.drain()
