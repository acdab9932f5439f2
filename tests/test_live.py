"""Subscriptions on the live server over graphql-transport-ws: privacy of every event, resume,
the inbox, chat, presence."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import func, select, text, update
from websockets.exceptions import ConnectionClosed

from spirit_tours.auth.tokens import TokenService
from spirit_tours.persistence.database import SessionFactory
from spirit_tours.persistence.events import OutboxEvent
from spirit_tours.realtime.rooms import company_room
from spirit_tours.resolvers.auth import viewer_of
from tests.conftest import TEST_JWT_SECRET, LiveServer, UserFactory
from tests.graphql_client import GraphQLClient
from tests.live_client import listening, live, published, relayed, room_of
from tests.quotation_flows import CLOSE, make_world, open_quotation, submit

ROOM = """
subscription($q: ID!, $after: String) {
  quotationEvents(quotationId: $q, after: $after) {
    __typename
    ... on QuotationChanged { cursor kind quotation { status offerCount myRank } }
    ... on OfferChanged { cursor kind offer { hotelAlias netPrice { amount } hotel { name } }
                          quotation { offerCount } }
    ... on MessagePosted { cursor message { body author { fullName } } }
    ... on TypingChanged { participant { role } typing }
    ... on PresenceChanged { participant { role } online }
  }
}"""


async def test_each_viewer_receives_offer_events_as_the_privacy_table_allows(
    gql: GraphQLClient, make_user: UserFactory, live_server: LiveServer, sessions: SessionFactory
) -> None:
    world = await make_world(gql, make_user)
    quotation = await open_quotation(gql, world, mode="OPEN")
    hidden = await open_quotation(gql, world, mode="HIDDEN")
    await relayed(sessions)
    viewers = {"admin": world.admin.token, "owner": world.agency.token,
               "own": world.hotels[0].token, "rival": world.hotels[1].token}  # fmt: skip
    async with (
        live(live_server.url, viewers["admin"]) as admin,
        live(live_server.url, viewers["owner"]) as owner,
        live(live_server.url, viewers["own"]) as own,
        live(live_server.url, viewers["rival"]) as rival,
    ):
        for client in (admin, owner, own, rival):
            await client.subscribe("open", ROOM, {"q": quotation})
            await client.subscribe("hidden", ROOM, {"q": hidden})
        await listening(live_server, {room_of(quotation): 4, room_of(hidden): 4})
        await submit(gql, world.hotels[0], quotation, "900.00")
        await submit(gql, world.hotels[0], hidden, "800.00")
        events = {name: await client.event("open", "quotationEvents")
                  for name, client in (("admin", admin), ("owner", owner), ("own", own),
                                       ("rival", rival))}  # fmt: skip
        assert events["admin"]["offer"]["netPrice"] == {"amount": "900.00"}
        assert events["admin"]["offer"]["hotel"] == {"name": "Inti Palace"}
        assert events["owner"]["offer"]["netPrice"] is None
        assert events["owner"]["offer"]["hotel"] == {"name": "Inti Palace"}
        assert events["own"]["offer"]["netPrice"] == {"amount": "900.00"}
        # OPEN mode: the rival sees the price under an alias, never the hotel.
        assert events["rival"]["offer"]["hotel"] is None
        assert events["rival"]["offer"]["hotelAlias"].startswith("Hotel ")
        assert events["rival"]["offer"]["netPrice"] == {"amount": "900.00"}
        # HIDDEN mode: the rival hears nothing at all of the competitor's bid.
        assert (await admin.event("hidden", "quotationEvents"))["offer"]["netPrice"]
        await rival.nothing("hidden", 1.5)
        hidden_own = await own.event("hidden", "quotationEvents")
        assert hidden_own["offer"]["netPrice"] == {"amount": "800.00"}


async def test_resume_with_a_cursor_replays_exactly_the_missed_events(
    gql: GraphQLClient, make_user: UserFactory, live_server: LiveServer, sessions: SessionFactory
) -> None:
    world = await make_world(gql, make_user)
    quotation = await open_quotation(gql, world, mode="OPEN")
    await relayed(sessions)
    async with live(live_server.url, world.admin.token) as admin:
        await admin.subscribe("s", ROOM, {"q": quotation})
        await listening(live_server, {room_of(quotation): 1})
        await submit(gql, world.hotels[0], quotation, "900.00")
        first = await admin.event("s", "quotationEvents")
    # Disconnected: three things happen.
    await submit(gql, world.hotels[1], quotation, "950.00")
    await submit(gql, world.hotels[2], quotation, "990.00")
    (await gql.execute(CLOSE, {"q": quotation}, token=world.admin.token)).ok()
    await relayed(sessions)
    async with live(live_server.url, world.admin.token) as admin:
        await admin.subscribe("s", ROOM, {"q": quotation, "after": first["cursor"]})
        missed = [await admin.event("s", "quotationEvents") for _ in range(3)]
        assert [e["__typename"] for e in missed] == ["OfferChanged", "OfferChanged",
                                                    "QuotationChanged"]  # fmt: skip
        assert [e["offer"]["netPrice"]["amount"] for e in missed[:2]] == ["950.00", "990.00"]
        assert missed[2]["kind"] == "QUOTATION_CLOSED"
        await admin.nothing("s", 1.0)  # exactly once
        await admin.subscribe("bad", ROOM, {"q": quotation, "after": "p999999"})
        refused = await admin.next("bad")
        assert refused["type"] in ("next", "error")
        assert "BAD_USER_INPUT" in str(refused)


async def test_an_event_replayed_and_then_dispatched_live_arrives_once(
    gql: GraphQLClient, make_user: UserFactory, live_server: LiveServer, sessions: SessionFactory
) -> None:
    """A resuming subscription listens before it replays, so an event the hub dispatches only
    after the replay has read it (a hub running behind) reaches it twice: it is passed once.
    (The resume test above cannot see this: its events are dispatched before it resumes.)"""
    world = await make_world(gql, make_user)
    quotation = await open_quotation(gql, world, mode="OPEN")
    await relayed(sessions)
    async with sessions() as session:
        start = await session.scalar(select(func.max(OutboxEvent.position)))
    hub = live_server.app.state.services.hub
    async with live(live_server.url, world.admin.token) as admin:
        async with hub._catching_up:  # the hub runs behind: it dispatches nothing meanwhile
            await submit(gql, world.hotels[1], quotation, "950.00")
            await submit(gql, world.hotels[2], quotation, "990.00")
            await published(sessions)
            await admin.subscribe("s", ROOM, {"q": quotation, "after": f"p{start}"})
            await listening(live_server, {room_of(quotation): 1})
            replayed = [await admin.event("s", "quotationEvents") for _ in range(2)]
        assert [e["offer"]["netPrice"]["amount"] for e in replayed] == ["950.00", "990.00"]
        await relayed(sessions)  # the hub has caught up: the same two reached the listener
        await admin.nothing("s", 1.0)  # and were passed over


INBOX = """
subscription { notifications { id kind quotation { id destination owner { fullName } } } }"""
ACK = "mutation($ids: [ID!]!) { acknowledgeNotifications(ids: $ids) { acknowledged } }"
POST = """
mutation($q: ID!, $body: String!, $hotel: ID) {
  postMessage(input: {quotationId: $q, body: $body, hotelId: $hotel}) { message { id } }
}"""
TYPING = """
mutation($q: ID!, $hotel: ID) {
  setTyping(input: {quotationId: $q, typing: true, hotelId: $hotel})
}"""
REMOVE = """
mutation($q: ID!, $h: ID!) { removeInvitation(input: {quotationId: $q, hotelId: $h}) {
  quotation { id } } }"""


async def test_an_invitation_made_while_offline_waits_in_the_inbox(
    gql: GraphQLClient, make_user: UserFactory, live_server: LiveServer, sessions: SessionFactory
) -> None:
    world = await make_world(gql, make_user)
    quotation = await open_quotation(gql, world)  # invites the three hotels, all offline
    await relayed(sessions)
    async with live(live_server.url, world.hotels[1].token) as hotel:
        await hotel.subscribe("inbox", INBOX)
        entry = (await hotel.data("inbox"))["notifications"]
        assert entry["kind"] == "INVITATION_RECEIVED"
        assert entry["quotation"]["id"] == quotation
        assert entry["quotation"]["owner"] is None  # docs/privacy.md §1: no owner for hotels
        await hotel.nothing("inbox", 0.5)
        acked = await gql.execute(ACK, {"ids": [entry["id"]]}, token=world.hotels[1].token)
        assert acked.ok()["acknowledgeNotifications"]["acknowledged"] == 1
    # Someone else's notification cannot be acknowledged; acknowledged ones do not come back.
    stranger = await gql.execute(ACK, {"ids": [entry["id"]]}, token=world.hotels[0].token)
    assert stranger.ok()["acknowledgeNotifications"]["acknowledged"] == 0
    async with live(live_server.url, world.hotels[1].token) as hotel:
        await hotel.subscribe("inbox", INBOX)
        await hotel.nothing("inbox", 1.0)
        # ...and a new one arrives live.
        await submit(gql, world.hotels[1], quotation, "700.00")
    async with live(live_server.url, world.admin.token) as admin:
        await admin.subscribe("inbox", INBOX)
        received = (await admin.data("inbox"))["notifications"]
        assert received["kind"] == "OFFER_RECEIVED"
        assert received["quotation"]["owner"] is not None


async def test_chat_typing_and_presence_stay_inside_their_thread(
    gql: GraphQLClient, make_user: UserFactory, live_server: LiveServer, sessions: SessionFactory
) -> None:
    world = await make_world(gql, make_user)
    quotation = await open_quotation(gql, world)
    await relayed(sessions)
    async with (
        live(live_server.url, world.admin.token) as admin,
        live(live_server.url, world.agency.token) as owner,
        live(live_server.url, world.hotels[0].token) as inti,
        live(live_server.url, world.hotels[1].token) as rival,
    ):
        await rival.subscribe("room", ROOM, {"q": quotation})
        await listening(live_server, {room_of(quotation): 1})
        for client in (admin, owner, inti):
            await client.subscribe("room", ROOM, {"q": quotation})
        await listening(live_server, {room_of(quotation): 4})
        # The rival sees operator staff arrive, never the other hotel or the owner.
        arrivals = [(await rival.data("room"))["quotationEvents"]]
        await rival.nothing("room", 1.0, but="no-exception")
        assert arrivals == [{"__typename": "PresenceChanged", "participant": {"role": "ADMIN"},
                             "online": True}]  # fmt: skip

        inti_hotel = world.hotels[0].hotel_id
        (await gql.execute(POST, {"q": quotation, "body": "Can you hold 6 doubles?",
                                  "hotel": inti_hotel}, token=world.admin.token)).ok()  # fmt: skip
        (await gql.execute(TYPING, {"q": quotation}, token=world.hotels[0].token)).ok()
        message = await inti.event("room", "quotationEvents")
        assert message["message"]["body"] == "Can you hold 6 doubles?"
        typing = await admin.event("room", "quotationEvents", skip=("PresenceChanged",
                                   "MessagePosted"))  # fmt: skip
        assert typing == {"__typename": "TypingChanged", "participant": {"role": "HOTEL"},
                          "typing": True}  # fmt: skip
        (await gql.execute(POST, {"q": quotation, "body": "Any news?"},
                           token=world.agency.token)).ok()  # fmt: skip
        # The operator is in both threads: it receives both messages (and its own).
        bodies: set[str] = set()
        while len(bodies) < 2:
            seen = await admin.event("room", "quotationEvents", skip=("PresenceChanged",))
            bodies.add(seen["message"]["body"])
        assert bodies == {"Can you hold 6 doubles?", "Any news?"}
        await rival.nothing("room", 1.0)
        # The owner gets its own thread's message (on every device), not the hotel's thread.
        mine = await owner.event("room", "quotationEvents")
        assert mine["message"]["body"] == "Any news?"
        await owner.nothing("room", 0.5)
        await inti.nothing("room", 0.5)  # nor the owner's the hotel's

    history = (
        """query($q: ID!, $h: ID) { messages(quotationId: $q, hotelId: $h) { nodes { body } } }"""
    )
    own = await gql.execute(history, {"q": quotation}, token=world.hotels[0].token)
    assert own.ok()["messages"]["nodes"] == [{"body": "Can you hold 6 doubles?"}]
    other = await gql.execute(history, {"q": quotation}, token=world.hotels[1].token)
    assert other.ok()["messages"]["nodes"] == []
    spy = await gql.execute(history, {"q": quotation, "h": inti_hotel}, token=world.agency.token)
    assert spy.codes == ["FORBIDDEN"]


async def test_a_hotel_removed_from_a_quotation_stops_receiving_it(
    gql: GraphQLClient, make_user: UserFactory, live_server: LiveServer, sessions: SessionFactory
) -> None:
    world = await make_world(gql, make_user)
    quotation = await open_quotation(gql, world, mode="OPEN")
    await relayed(sessions)
    async with live(live_server.url, world.hotels[2].token) as hotel:
        await hotel.subscribe("room", ROOM, {"q": quotation})
        await listening(live_server, {room_of(quotation): 1})
        removed = {"q": quotation, "h": world.hotels[2].hotel_id}
        (await gql.execute(REMOVE, removed, token=world.admin.token)).ok()
        closing = await hotel.next("room")
        assert "NOT_FOUND" in str(closing)
        await submit(gql, world.hotels[0], quotation, "900.00")
        await hotel.nothing("room", 1.0, but="complete")
        await hotel.subscribe("again", ROOM, {"q": quotation})
        assert "NOT_FOUND" in str(await hotel.next("again"))


async def test_an_old_cursor_is_refused_with_a_code_so_the_client_refetches(
    gql: GraphQLClient, make_user: UserFactory, live_server: LiveServer, sessions: SessionFactory
) -> None:
    world = await make_world(gql, make_user)
    quotation = await open_quotation(gql, world)
    await relayed(sessions)
    async with sessions() as session, session.begin():
        await session.execute(
            update(OutboxEvent).values(published_at=func.now() - text("interval '2 minutes'"))
        )
        first = await session.scalar(select(func.min(OutboxEvent.position)))
        last = await session.scalar(select(func.max(OutboxEvent.position)))
    async with live(live_server.url, world.admin.token) as admin:
        # Missed events two minutes old: too late to replay them.
        await admin.subscribe("s", ROOM, {"q": quotation, "after": f"p{first}"})
        refused = await admin.next("s")
        assert "CURSOR_EXPIRED" in str(refused)
        # A cursor we never gave out.
        await admin.subscribe("zero", ROOM, {"q": quotation, "after": "p0"})
        assert "BAD_USER_INPUT" in str(await admin.next("zero"))
        # A quiet room: nothing was missed, however old the cursor, so it resumes.
        await admin.subscribe("quiet", ROOM, {"q": quotation, "after": f"p{last}"})
        await listening(live_server, {room_of(quotation): 1})
        await submit(gql, world.hotels[0], quotation, "900.00")
        resumed = await admin.event("quiet", "quotationEvents")
        assert resumed["cursor"] == f"p{int(str(last)) + 1}"


async def test_forged_resume_cursors_are_refused_as_unknown_ones_never_as_server_errors(
    gql: GraphQLClient, make_user: UserFactory, live_server: LiveServer
) -> None:
    """A position no database column holds (past a bigint, thousands of digits, non-ASCII
    digits) is a cursor never given out; and a subscription that fails before its first event
    does not answer with the failure's own text (SQL, a driver's message) as the client's
    mistake."""
    world = await make_world(gql, make_user)
    quotation = await open_quotation(gql, world)
    forged = ["p" + "9" * 30, "p" + "9" * 5000, "p\u0661\u0662", f"p{2**63}"]
    async with live(live_server.url, world.admin.token) as admin:
        for n, cursor in enumerate(forged):
            await admin.subscribe(f"s{n}", ROOM, {"q": quotation, "after": cursor})
            refused = await admin.next(f"s{n}")
            assert refused["payload"]["errors"] == [
                {
                    "message": "The cursor is not one this API gave out.",
                    "extensions": {"code": "BAD_USER_INPUT", "field": "after"},
                }
            ], (cursor[:40], refused)
        # The largest position a bigint holds is a cursor like any other (no such event).
        await admin.subscribe("max", ROOM, {"q": quotation, "after": f"p{2**63 - 1}"})
        assert (await admin.next("max"))["payload"]["errors"][0]["extensions"] == {
            "code": "BAD_USER_INPUT",
            "field": "after",
        }


async def test_the_connection_closes_when_its_token_expires(
    live_server: LiveServer, make_user: UserFactory
) -> None:
    user = await make_user("ana@op.example")
    # Three seconds (expiry is in whole seconds, so at least two): time to connect first even
    # on a loaded machine; with one, the token could lapse before `connection_init` (4403
    # "Forbidden" at the handshake instead of the expiry close this test is about).
    short = TokenService(TEST_JWT_SECRET, 3).issue(viewer_of(user))
    async with live(live_server.url, short.token) as client:
        await asyncio.wait_for(client.ws.wait_closed(), 10)
        with pytest.raises(ConnectionClosed) as closed:
            await client.ws.recv()
    assert closed.value.rcvd is not None
    # 4403, not 4401: graphql-ws retries it, with a fresh token (tests/test_graphql_ws_client.py).
    assert closed.value.rcvd.code == 4403
    assert closed.value.rcvd.reason == "Access token expired"


async def test_replayed_events_follow_the_same_privacy_rules(
    gql: GraphQLClient, make_user: UserFactory, live_server: LiveServer, sessions: SessionFactory
) -> None:
    world = await make_world(gql, make_user)
    quotation = await open_quotation(gql, world, mode="OPEN")
    hidden = await open_quotation(gql, world, mode="HIDDEN")
    await relayed(sessions)
    async with sessions() as session:
        start = int(await session.scalar(select(func.max(OutboxEvent.position))) or 0)
    await submit(gql, world.hotels[0], quotation, "900.00")
    await submit(gql, world.hotels[0], hidden, "800.00")
    await relayed(sessions)
    async with live(live_server.url, world.hotels[1].token) as rival:
        await rival.subscribe("open", ROOM, {"q": quotation, "after": f"p{start}"})
        await rival.subscribe("hidden", ROOM, {"q": hidden, "after": f"p{start}"})
        replayed = await rival.event("open", "quotationEvents")
        assert replayed["offer"]["hotel"] is None
        assert replayed["offer"]["netPrice"] == {"amount": "900.00"}
        await rival.nothing("hidden", 1.0)
    async with live(live_server.url, world.agency.token) as owner:
        await owner.subscribe("open", ROOM, {"q": quotation, "after": f"p{start}"})
        seen = await owner.event("open", "quotationEvents")
        assert seen["offer"]["netPrice"] is None
        assert seen["offer"]["hotel"] == {"name": "Inti Palace"}


async def test_a_connection_holds_at_most_fifty_subscriptions(
    gql: GraphQLClient, make_user: UserFactory, live_server: LiveServer
) -> None:
    await make_user("ana@op.example")
    token = await gql.token_for("ana@op.example", "correct horse battery")
    query = "subscription { announcements { title } }"
    async with live(live_server.url, token) as client:
        for n in range(50):
            await client.subscribe(f"s{n}", query)
        await client.subscribe("one-too-many", query)
        refused = await client.next("one-too-many")
        assert refused["type"] == "error"
        assert "limit" in str(refused["payload"])


async def test_an_oversized_message_closes_the_connection(live_server: LiveServer) -> None:
    async with live(live_server.url, None) as client:
        await client.subscribe("big", "subscription { announcements { title } }",
                               {"padding": "x" * 100_000})  # fmt: skip
        await asyncio.wait_for(client.ws.wait_closed(), 10)
    assert client.ws.close_code == 1009  # message too big


DECLINE = """
mutation($q: ID!) { declineInvitation(input: {quotationId: $q, reason: "Full"}) {
  quotation { id } } }"""
INVITE_MORE = """
mutation($q: ID!, $h: ID!) { inviteHotels(input: {quotationId: $q, hotelIds: [$h]}) {
  quotation { id } } }"""
COMPANY = "subscription { companyEvents { __typename ... on QuotationChanged { kind } } }"


async def test_a_hotel_never_hears_of_a_competitors_invitation(
    gql: GraphQLClient, make_user: UserFactory, live_server: LiveServer, sessions: SessionFactory
) -> None:
    """docs/privacy.md §2.3: in HIDDEN mode a competing hotel learns nothing of its competitors, in
    RANK_ONLY only its rank and the offer count; another hotel being invited, declining or
    removed is neither (nor is it in OPEN mode, where only active offers are listed)."""
    world = await make_world(gql, make_user)
    modes = ("HIDDEN", "RANK_ONLY", "OPEN")
    quotations = {mode: await open_quotation(gql, world, mode=mode) for mode in modes}
    await relayed(sessions)
    admin_token, rival = world.admin.token, world.hotels[0]
    company = await gql.execute("{ viewer { company { id } } }", token=rival.token)
    rival_company = uuid.UUID(company.ok()["viewer"]["company"]["id"])
    async with (
        live(live_server.url, admin_token) as admin,
        live(live_server.url, rival.token) as inti,
    ):
        for mode, quotation in quotations.items():
            await admin.subscribe(mode, ROOM, {"q": quotation})
            await inti.subscribe(mode, ROOM, {"q": quotation})
        await inti.subscribe("company", COMPANY)
        rooms = {room_of(quotation): 2 for quotation in quotations.values()}
        await listening(live_server, {**rooms, company_room(rival_company): 1})
        for mode, quotation in quotations.items():
            removed = {"q": quotation, "h": world.hotels[2].hotel_id}
            (await gql.execute(REMOVE, removed, token=admin_token)).ok()
            (await gql.execute(DECLINE, {"q": quotation}, token=world.hotels[1].token)).ok()
            invited = {"q": quotation, "h": world.outsider_hotel.hotel_id}
            (await gql.execute(INVITE_MORE, invited, token=admin_token)).ok()
            kinds = [(await admin.event(mode, "quotationEvents"))["kind"] for _ in range(3)]
            assert kinds == ["QUOTATION_HOTEL_REMOVED", "INVITATION_DECLINED",
                             "QUOTATION_HOTELS_INVITED"]  # fmt: skip
        for key in (*modes, "company"):
            await inti.nothing(key, 0.5)
        # The rival's subscriptions are alive: a competitor's bid reaches it as
        # docs/privacy.md §2.3 says.
        await submit(gql, world.outsider_hotel, quotations["RANK_ONLY"], "900.00")
        ranked = await inti.event("RANK_ONLY", "quotationEvents")
        assert ranked["kind"] == "COMPETITION_CHANGED"
        assert ranked["quotation"] == {"status": "OPEN", "offerCount": 1, "myRank": None}
        await inti.nothing("HIDDEN", 0.5)


REVISE = """
mutation($input: ReviseOfferInput!) { reviseOffer(input: $input) { offer { revision } } }"""


async def test_rank_only_competitors_hear_of_a_revision_only_when_their_rank_moves(
    gql: GraphQLClient, make_user: UserFactory, live_server: LiveServer, sessions: SessionFactory
) -> None:
    """docs/privacy.md §2.3: RANK_ONLY shows a competitor its rank and the offer count, nothing
    else; an event for a notes-only (or rank-neutral) revision would still tell it when rivals
    act. The offering hotel's own event carries no alias outside OPEN mode."""
    world = await make_world(gql, make_user)
    quotation = await open_quotation(gql, world, mode="RANK_ONLY")
    await submit(gql, world.hotels[0], quotation, "1000.00")
    rival_offer = await submit(gql, world.hotels[1], quotation, "900.00")
    await relayed(sessions)
    async with (
        live(live_server.url, world.admin.token) as admin,
        live(live_server.url, world.hotels[0].token) as inti,
        live(live_server.url, world.hotels[1].token) as rival,
    ):
        for client in (admin, inti, rival):
            await client.subscribe("q", ROOM, {"q": quotation})
        await listening(live_server, {room_of(quotation): 3})
        revisions = [{"notes": "Breakfast included"}, {"netPrice": "950.00"},
                     {"netPrice": "1100.00"}]  # fmt: skip
        for terms in revisions:
            revised = {"input": {"offerId": rival_offer, **terms}}
            (await gql.execute(REVISE, revised, token=world.hotels[1].token)).ok()
            seen = await admin.event("q", "quotationEvents")  # delivered to the room
            assert seen["kind"] == "OFFER_REVISED"
            own = await rival.event("q", "quotationEvents")
            assert own["offer"]["hotelAlias"] is None  # not even its own, outside OPEN
            assert own["offer"]["netPrice"] is not None
        # Only the last revision moved Inti from second to first.
        ranked = await inti.event("q", "quotationEvents")
        assert ranked["kind"] == "COMPETITION_CHANGED"
        assert ranked["quotation"]["myRank"] == 1
        await inti.nothing("q", 0.5)
