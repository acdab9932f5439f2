"""The live fan-out under stress and on its failure paths: a burst to a prompt reader, a slow
reader, an event that cannot be rendered, subscriptions ended from both sides at once, signals
after the outbox was emptied, a subscription completed while it starts. A few steps are
white-box (holding the live semaphore or the hub's catch-up lock, finding the connection
handler) only to decide the order in which the loop runs what a client can cause."""

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
from spirit_tours.realtime.fanout import SocketWriter
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


async def test_a_prompt_reader_is_not_cut_off_by_one_burst(
    gql: GraphQLClient, make_user: UserFactory, live_server: LiveServer, sessions: SessionFactory
) -> None:
    """A burst of 21 deliveries to a connection holding 50 subscriptions (1,050 frames, more
    than WRITE_QUEUE_LIMIT) is queued at once before the connection's first send: a reader that
    takes it promptly is not cut off as too slow."""
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


POST = """
mutation($q: ID!, $body: String!) {
  postMessage(input: {quotationId: $q, body: $body}) { message { id } }
}"""


async def test_an_event_that_fails_to_render_is_not_silently_skipped(
    settings: Settings,
    gql: GraphQLClient,
    make_user: UserFactory,
    live_server: LiveServer,
    sessions: SessionFactory,
) -> None:
    """An event that cannot be read (the pool exhausted: SERVICE_UNAVAILABLE) ends its
    subscribers' subscriptions with an ``error`` instead of being skipped; resuming from the last
    cursor then delivers it by replay: nothing is lost."""
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
            async with sessions() as session:
                before = await session.scalar(text("SELECT max(position) FROM outbox_events"))
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
            assert failed["type"] == "error", failed
            assert failed["payload"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
            # The client resumes from its last cursor: the event is there, once.
            resume = {"q": quotation, "after": f"p{before}"}
            await admin.subscribe("again", ROOM, resume)
            replayed = await admin.event("again", "quotationEvents")
            assert replayed["message"]["body"] == "first"
            await admin.nothing("again", 0.5, but="Presence")


async def test_an_ended_subscription_releases_its_operation_count_once(
    gql: GraphQLClient, make_user: UserFactory, live_server: LiveServer
) -> None:
    """A subscription ended by the fan-out (room closed, reader too slow) and by the client's
    ``complete`` in the same loop turn releases its place in the per-user count once. White-box:
    the two calls are made in the order the event loop can run them."""
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


async def test_a_signal_cursor_is_a_position_of_the_current_outbox(
    engine: AsyncEngine,
    gql: GraphQLClient,
    make_user: UserFactory,
    live_server: LiveServer,
    sessions: SessionFactory,
) -> None:
    """Signals (typing, presence) carry a resume cursor that is a position of the current outbox,
    also after the outbox was emptied (a restored database) and the hub rewound."""
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


async def test_a_subscription_completed_while_starting_never_goes_live(
    gql: GraphQLClient,
    make_user: UserFactory,
    live_server: LiveServer,
    sessions: SessionFactory,
    redis: Redis,
) -> None:
    """A ``complete`` handled while the subscription starts wins, even when the task's
    cancellation goes astray (the semaphore granted in the same loop turn): it never goes live,
    and once the connection is gone nothing of it remains (feed, count, presence)."""
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


async def test_a_slow_reader_loses_its_queued_frames_but_never_an_operations_last_one() -> None:
    """The writer of one connection whose socket stopped taking frames: past the limit, the
    queue is emptied but for the frames that end an operation (a room closing), and the
    connection is told it fell behind; a burst queued before the first send never counts."""
    gate = asyncio.Event()
    sent: list[str] = []

    async def send(frame: str) -> None:  # a socket that takes one frame, then stalls
        if sent:
            await gate.wait()
        sent.append(frame)

    writer = SocketWriter(send, limit=4)
    overflows: list[bool] = []
    writer.on_overflow = lambda: overflows.append(True)
    for n in range(5):  # one burst, before the first send: a prompt reader takes it all
        assert writer.write(f"b{n}")
    await asyncio.sleep(0)  # b0 written; b1 waits for the socket
    assert sent == ["b0"]
    assert not overflows
    writer.write("closed", final=True)  # a room closed meanwhile
    assert not writer.write("n0")  # 4 waiting while the socket is stalled: behind
    assert overflows == [True]
    gate.set()
    for _ in range(10):
        await asyncio.sleep(0)
    assert sent == ["b0", "b1", "closed"]  # b1 was in flight; the final frame survived


async def test_a_socket_that_fails_while_the_writer_waits_closes_the_writer() -> None:
    """A send that had to wait and then fails (the connection dropped meanwhile) closes the
    writer: what was queued is dropped and nothing more is written."""
    gate = asyncio.Event()
    sent: list[str] = []

    async def send(frame: str) -> None:
        if sent:
            await gate.wait()
            raise ConnectionResetError("gone")
        sent.append(frame)

    writer = SocketWriter(send)
    assert writer.write("first")  # taken at once
    assert writer.write("second")  # has to wait
    assert writer.write("third")  # queued behind it
    gate.set()
    for _ in range(10):
        await asyncio.sleep(0)
    assert writer.closed
    assert not writer.write("fourth")
    assert sent == ["first"]
