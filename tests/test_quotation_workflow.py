"""The quotation workflow end to end, and every refused transition changing nothing."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from spirit_tours.persistence.database import SessionFactory
from spirit_tours.persistence.events import AuditEntry, OutboxEvent
from spirit_tours.persistence.quotations import HotelOffer, Quotation
from tests.conftest import LiveServer, UserFactory
from tests.graphql_client import GraphQLClient
from tests.quotation_flows import (
    CLOSE,
    CREATE,
    PROPOSE,
    UPDATE,
    make_world,
    open_quotation,
    quotation_input,
    submit,
)
from tests.sql_counter import count_statements

STATUS = "query($id: ID!) { quotation(id: $id) { status } }"
REVISE = """
mutation($input: ReviseOfferInput!) {
  reviseOffer(input: $input) { offer { revision netPrice { amount } revisions { revision } } }
}"""
WITHDRAW = "mutation($o: ID!) { withdrawOffer(input: {offerId: $o}) { offer { status } } }"
APPROVE = (
    "mutation($q: ID!) { approveQuotation(input: {quotationId: $q}) { quotation { status } } }"
)
REJECT = "mutation($q: ID!) { rejectQuotation(input: {quotationId: $q}) { quotation { status } } }"
CANCEL = "mutation($q: ID!) { cancelQuotation(input: {quotationId: $q}) { quotation { status } } }"
DECLINE = """
mutation($q: ID!) { declineInvitation(input: {quotationId: $q, reason: "Full"}) {
  quotation { invitations { status } } } }"""


async def _counts(sessions: SessionFactory) -> tuple[int, int, int]:
    async with sessions() as session:
        quotations = await session.scalar(select(func.count()).select_from(Quotation))
        offers = await session.scalar(select(func.count()).select_from(HotelOffer))
        events = await session.scalar(  # the quotations' events (users' own are not counted)
            select(func.count())
            .select_from(OutboxEvent)
            .where(OutboxEvent.aggregate_type == "Quotation")
        )
    return int(quotations or 0), int(offers or 0), int(events or 0)


async def test_full_workflow_from_request_to_approval(
    gql: GraphQLClient, make_user: UserFactory, sessions: SessionFactory
) -> None:
    world = await make_world(gql, make_user)
    quotation_id = await open_quotation(gql, world, mode="RANK_ONLY")
    status = await gql.execute(STATUS, {"id": quotation_id}, token=world.agency.token)
    assert status.ok()["quotation"]["status"] == "OPEN"

    inti = await submit(gql, world.hotels[0], quotation_id, "1000.00")
    await submit(gql, world.hotels[1], quotation_id, "950.00")
    revised = await gql.execute(
        REVISE, {"input": {"offerId": inti, "netPrice": "899.99"}}, token=world.hotels[0].token
    )
    assert revised.ok()["reviseOffer"]["offer"] == {
        "revision": 2, "netPrice": {"amount": "899.99"},
        "revisions": [{"revision": 1}, {"revision": 2}],
    }  # fmt: skip
    declined = await gql.execute(DECLINE, {"q": quotation_id}, token=world.hotels[2].token)
    assert "DECLINED" in str(declined.ok())

    (await gql.execute(CLOSE, {"q": quotation_id}, token=world.admin.token)).ok()
    proposed = await gql.execute(
        PROPOSE, {"q": quotation_id, "o": inti, "m": "12.5"}, token=world.admin.token
    )
    selling = proposed.ok()["proposeOffer"]["quotation"]["sellingPrice"]["amount"]
    assert selling == "1012.49"  # 899.99 x 1.125 = 1012.48875, rounded half up to cents

    rejected = await gql.execute(REJECT, {"q": quotation_id}, token=world.agency.token)
    assert rejected.ok()["rejectQuotation"]["quotation"]["status"] == "CLOSED"
    await gql.execute(PROPOSE, {"q": quotation_id, "o": inti, "m": "10"}, token=world.admin.token)
    approved = await gql.execute(APPROVE, {"q": quotation_id}, token=world.agency.token)
    assert approved.ok()["approveQuotation"]["quotation"]["status"] == "APPROVED"

    async with sessions() as session:
        actions = list(await session.scalars(select(AuditEntry.action).order_by(AuditEntry.at)))
        kinds = list(
            await session.scalars(
                select(OutboxEvent.kind)
                .where(OutboxEvent.aggregate_type == "Quotation")
                .order_by(OutboxEvent.id)
            )
        )
    assert "offer.revise" in actions
    assert "quotation.approve" in actions
    assert kinds[:3] == ["quotation.created", "quotation.updated", "quotation.hotels_invited"]
    assert kinds[-1] == "quotation.approved"


async def test_audit_log_is_admin_only_and_records_who_did_what(
    gql: GraphQLClient, make_user: UserFactory
) -> None:
    world = await make_world(gql, make_user)
    quotation_id = await open_quotation(gql, world)
    await submit(gql, world.hotels[0], quotation_id, "1000.00")
    query = """query($o: ID) { auditLog(filter: {objectId: $o}) {
      edges { node { action actorRole objectType details } } } }"""
    for party in (world.agency, world.hotels[0], world.client):
        assert (await gql.execute(query, {"o": quotation_id}, token=party.token)).codes == [
            "FORBIDDEN"
        ]
    entries = (await gql.execute(query, {"o": quotation_id}, token=world.admin.token)).ok()
    actions = [edge["node"]["action"] for edge in entries["auditLog"]["edges"]]
    assert actions == ["quotation.invite_hotels", "quotation.create"]
    logins = await gql.execute(
        '{ auditLog(filter: {action: "auth.login"}) { edges { node { actorRole details } } } }',
        token=world.admin.token,
    )
    edges = logins.ok()["auditLog"]["edges"]
    assert len(edges) == 8  # every signed-in party of the world
    assert all(edge["node"]["details"] == {} for edge in edges)  # no secrets recorded


def _bad(**overrides: Any) -> dict[str, Any]:
    return {"input": quotation_input(**overrides)}


@pytest.mark.parametrize(
    ("variables", "field"),
    [
        (_bad(endDate=date.today().isoformat()), "endDate"),
        (_bad(startDate=(date.today() - timedelta(days=1)).isoformat()), "startDate"),
        (_bad(travellers=0), "travellers"),
        (_bad(rooms=[]), "rooms"),
        (_bad(destination="  "), "destination"),
        (_bad(offerDeadline=(datetime.now(UTC) - timedelta(hours=1)).isoformat()), "offerDeadline"),
    ],
)
async def test_bad_quotation_requests_are_refused(
    gql: GraphQLClient,
    make_user: UserFactory,
    sessions: SessionFactory,
    variables: dict[str, Any],
    field: str,
) -> None:
    world = await make_world(gql, make_user)
    result = await gql.execute(CREATE, variables, token=world.agency.token)
    assert result.codes == ["BAD_USER_INPUT"]
    assert result.errors[0]["extensions"]["field"] == field
    assert await _counts(sessions) == (0, 0, 0)


async def test_wrong_roles_and_states_are_refused_and_change_nothing(
    gql: GraphQLClient, make_user: UserFactory, sessions: SessionFactory
) -> None:
    world = await make_world(gql, make_user)
    quotation_id = await open_quotation(gql, world)
    offer_id = await submit(gql, world.hotels[0], quotation_id, "1000.00")
    before = await _counts(sessions)

    hotel_creates = await gql.execute(CREATE, _bad(), token=world.hotels[0].token)
    assert hotel_creates.codes == ["FORBIDDEN"]
    owner_closes = await gql.execute(CLOSE, {"q": quotation_id}, token=world.agency.token)
    assert owner_closes.codes == ["FORBIDDEN"]
    early_proposal = await gql.execute(
        PROPOSE, {"q": quotation_id, "o": offer_id, "m": "10"}, token=world.admin.token
    )
    assert early_proposal.codes == ["INVALID_STATE"]
    admin_approves = await gql.execute(APPROVE, {"q": quotation_id}, token=world.admin.token)
    assert admin_approves.codes == ["FORBIDDEN"]
    owner_sets_mode = await gql.execute(
        UPDATE, {"input": {"quotationId": quotation_id, "competitorPrices": "OPEN"}},
        token=world.agency.token,
    )  # fmt: skip
    assert owner_sets_mode.codes == ["FORBIDDEN"]
    outsider = await gql.execute(CLOSE, {"q": quotation_id}, token=world.outsider_hotel.token)
    assert outsider.codes == ["NOT_FOUND"]
    other_hotel_withdraws = await gql.execute(
        WITHDRAW, {"o": offer_id}, token=world.hotels[1].token
    )
    assert other_hotel_withdraws.codes == ["NOT_FOUND"]
    twice = await gql.execute(
        "mutation($i: SubmitOfferInput!) { submitOffer(input: $i) { offer { id } } }",
        {"i": {"quotationId": quotation_id, "netPrice": "5", "currency": "USD",
               "validUntil": "2099-01-01"}},
        token=world.hotels[0].token,
    )  # fmt: skip
    assert twice.codes == ["CONFLICT"]
    malformed = await gql.execute(STATUS, {"id": "not-a-uuid"}, token=world.admin.token)
    assert malformed.codes == ["BAD_USER_INPUT"]
    assert await _counts(sessions) == before


@pytest.mark.parametrize(
    ("offer", "field"),
    [
        ({"netPrice": "0"}, "netPrice"),
        ({"netPrice": "-10"}, "netPrice"),
        ({"netPrice": "10.001"}, "netPrice"),
        ({"currency": "EUR"}, "currency"),
        ({"validUntil": "2001-01-01"}, "validUntil"),
    ],
)
async def test_bad_offers_are_refused(
    gql: GraphQLClient,
    make_user: UserFactory,
    sessions: SessionFactory,
    offer: dict[str, str],
    field: str,
) -> None:
    world = await make_world(gql, make_user)
    quotation_id = await open_quotation(gql, world)
    before = await _counts(sessions)
    values = {"quotationId": quotation_id, "netPrice": "100", "currency": "USD",
              "validUntil": "2099-01-01", **offer}  # fmt: skip
    result = await gql.execute(
        "mutation($i: SubmitOfferInput!) { submitOffer(input: $i) { offer { id } } }",
        {"i": values},
        token=world.hotels[0].token,
    )
    assert result.codes == ["BAD_USER_INPUT"]
    assert result.errors[0]["extensions"]["field"] == field
    assert await _counts(sessions) == before


async def test_no_offers_after_the_deadline(
    gql: GraphQLClient, make_user: UserFactory, sessions: SessionFactory
) -> None:
    world = await make_world(gql, make_user)
    quotation_id = await open_quotation(gql, world)
    offer_id = await submit(gql, world.hotels[0], quotation_id, "1000.00")
    async with sessions() as session, session.begin():
        await session.execute(
            update(Quotation).values(offer_deadline=datetime.now(UTC) - timedelta(minutes=1))
        )
    status = await gql.execute(STATUS, {"id": quotation_id}, token=world.hotels[1].token)
    assert status.ok()["quotation"]["status"] == "CLOSED"
    late = await gql.execute(
        "mutation($i: SubmitOfferInput!) { submitOffer(input: $i) { offer { id } } }",
        {"i": {"quotationId": quotation_id, "netPrice": "5", "currency": "USD",
               "validUntil": "2099-01-01"}},
        token=world.hotels[1].token,
    )  # fmt: skip
    assert late.codes == ["INVALID_STATE"]
    withdraw = await gql.execute(WITHDRAW, {"o": offer_id}, token=world.hotels[0].token)
    assert withdraw.codes == ["INVALID_STATE"]
    # Past the deadline the operator can propose without closing first.
    proposed = await gql.execute(
        PROPOSE, {"q": quotation_id, "o": offer_id, "m": "5"}, token=world.admin.token
    )
    assert proposed.ok()["proposeOffer"]["quotation"]["status"] == "PROPOSED"
    cancelled = await gql.execute(CANCEL, {"q": quotation_id}, token=world.agency.token)
    assert cancelled.ok()["cancelQuotation"]["quotation"]["status"] == "CANCELLED"


async def test_competing_hotels_submitting_at_once_all_land(
    gql: GraphQLClient, make_user: UserFactory, sessions: SessionFactory
) -> None:
    world = await make_world(gql, make_user)
    quotation_id = await open_quotation(gql, world, mode="RANK_ONLY")
    prices = ["1200.00", "1100.00", "1000.00"]
    await asyncio.gather(
        *(submit(gql, hotel, quotation_id, price)
          for hotel, price in zip(world.hotels, prices, strict=True))
    )  # fmt: skip
    ranks = []
    for hotel in world.hotels:
        view = await gql.execute(
            "query($id: ID!) { quotation(id: $id) { offerCount myRank } }",
            {"id": quotation_id}, token=hotel.token,
        )  # fmt: skip
        ranks.append(view.ok()["quotation"])
    assert ranks == [{"offerCount": 3, "myRank": r} for r in (3, 2, 1)]


async def test_same_hotel_submitting_twice_at_once_keeps_one_offer(
    gql: GraphQLClient, make_user: UserFactory, sessions: SessionFactory
) -> None:
    world = await make_world(gql, make_user)
    quotation_id = await open_quotation(gql, world)
    query = "mutation($i: SubmitOfferInput!) { submitOffer(input: $i) { offer { id } } }"
    offer = {"quotationId": quotation_id, "currency": "USD", "validUntil": "2099-01-01"}
    results = await asyncio.gather(
        *(gql.execute(query, {"i": {**offer, "netPrice": str(100 + n)}},
                      token=world.hotels[0].token) for n in range(8))
    )  # fmt: skip
    assert sum(1 for r in results if not r.errors) == 1
    assert all(r.codes == ["CONFLICT"] for r in results if r.errors)
    assert (await _counts(sessions))[1] == 1


async def test_two_admins_proposing_at_once_leave_one_proposal(
    gql: GraphQLClient, make_user: UserFactory, sessions: SessionFactory
) -> None:
    world = await make_world(gql, make_user)
    quotation_id = await open_quotation(gql, world)
    offers = [
        await submit(gql, hotel, quotation_id, price)
        for hotel, price in zip(world.hotels, ["1000", "900", "800"], strict=True)
    ]
    (await gql.execute(CLOSE, {"q": quotation_id}, token=world.admin.token)).ok()
    results = await asyncio.gather(
        *(gql.execute(PROPOSE, {"q": quotation_id, "o": offer, "m": "10"},
                      token=world.admin.token) for offer in offers * 3)
    )  # fmt: skip
    winners = [r for r in results if not r.errors]
    assert len(winners) == 1
    assert all(r.codes == ["INVALID_STATE"] for r in results if r.errors)
    async with sessions() as session:
        quotation = await session.scalar(select(Quotation))
        proposals = await session.scalar(
            select(func.count()).select_from(OutboxEvent).where(
                OutboxEvent.kind == "quotation.proposed")
        )  # fmt: skip
    assert quotation is not None
    assert quotation.status.value == "PROPOSED"
    assert proposals == 1
    selling = winners[0].data["proposeOffer"]["quotation"]["sellingPrice"]["amount"]
    assert quotation.selling_price is not None
    assert str(quotation.selling_price) == selling


async def test_an_invited_hotel_opening_the_quotation_marks_it_viewed_once(
    gql: GraphQLClient, make_user: UserFactory, live_server: LiveServer
) -> None:
    world = await make_world(gql, make_user)
    quotation_id = await open_quotation(gql, world)
    query = "query($id: ID!) { quotation(id: $id) { invitations { hotelAlias status } } }"

    seen = await gql.execute(query, {"id": quotation_id}, token=world.hotels[1].token)
    # HIDDEN mode: not even its own alias (docs/privacy.md §1; test_quotation_privacy).
    assert seen.ok()["quotation"]["invitations"] == [{"hotelAlias": None, "status": "VIEWED"}]
    async with count_statements(live_server) as statements:
        again = await gql.execute(query, {"id": quotation_id}, token=world.hotels[1].token)
    assert again.ok() == seen.ok()
    assert not [s for s in statements if s.lstrip().upper().startswith("UPDATE")]

    admin = await gql.execute(query, {"id": quotation_id}, token=world.admin.token)
    statuses = [i["status"] for i in admin.ok()["quotation"]["invitations"]]
    assert statuses == ["INVITED", "VIEWED", "INVITED"]
