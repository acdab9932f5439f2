"""The models' answers are competitor-price data (docs/privacy.md §1): the operator sees them,
nobody else ever does — not on queries, mutation payloads, live events or e-mails."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from babel.numbers import format_decimal
from sqlalchemy import select

from spirit_tours.config import Settings
from spirit_tours.core.enums import Role
from spirit_tours.ml.training import train_models
from spirit_tours.persistence.database import SessionFactory
from spirit_tours.persistence.events import AuditEntry
from tests.conftest import PASSWORD, LiveServer, UserFactory, serving
from tests.email_flows import Inbox, parts, running_jobs, settled, smtp
from tests.graphql_client import GraphQLClient
from tests.live_client import listening, live, relayed, room_of
from tests.ml_market import make_market
from tests.quotation_flows import CLOSE, INVITE, World, make_world, open_quotation, submit

__all__ = ["smtp"]

INSIGHTS = """
netPriceEstimate { p10 { amount } p50 { amount } p90 { amount } modelVersion unavailableReason }
hotelRecommendations { modelVersion hotels { rank score invited hotel { name } } }
"""
VIEW = "query($id: ID!) { quotation(id: $id) { id " + INSIGHTS + " } }"
LIST = "{ quotations { edges { node { id " + INSIGHTS + " } } } }"
NODE = "query($id: ID!) { node(id: $id) { ... on Quotation { id " + INSIGHTS + " } } }"
MODELS = "{ mlModels { kind version } }"
TRAIN = "mutation { trainModels { jobKey } }"
ROOM = (
    """subscription($q: ID!) { quotationEvents(quotationId: $q) { __typename
    ... on OfferChanged { kind quotation { """
    + INSIGHTS
    + " } } ... on QuotationChanged { kind quotation { "
    + INSIGHTS
    + " } } } }"
)
HIDDEN = {"netPriceEstimate": None, "hotelRecommendations": None}


@pytest.fixture(scope="module")
async def fresh_server(settings: Settings) -> AsyncIterator[LiveServer]:
    """A server that looks for a newer model at every use (the default waits 30 s)."""
    async with serving(settings.model_copy(update={"ml_reload_seconds": 0})) as server:
        yield server


@pytest.fixture
async def fresh(fresh_server: LiveServer) -> AsyncIterator[GraphQLClient]:
    async with httpx.AsyncClient(base_url=fresh_server.url, timeout=30) as client:
        yield GraphQLClient(client)


async def _trained_world(
    fresh: GraphQLClient, sessions: SessionFactory, make_user: UserFactory
) -> tuple[World, str, str]:
    """The quotation world (its hotels in Cusco too), a trained market, an open quotation."""
    await make_market(sessions, make_user, quotations=40)
    world = await make_world(fresh, make_user)
    await train_models(sessions, min_currency_rows=5)
    quotation_id = await open_quotation(fresh, world)
    await make_user("guide@op.example", Role.GUIDE)
    guide = await fresh.token_for("guide@op.example", PASSWORD)
    return world, quotation_id, guide


def _shown(quotation: dict[str, Any]) -> None:
    """What the operator gets: a real estimate and ranking."""
    estimate = quotation["netPriceEstimate"]
    assert estimate["unavailableReason"] is None
    assert Decimal(estimate["p10"]["amount"]) <= Decimal(estimate["p50"]["amount"])
    assert Decimal(estimate["p50"]["amount"]) <= Decimal(estimate["p90"]["amount"])
    hotels = quotation["hotelRecommendations"]["hotels"]
    assert hotels[0]["hotel"]["name"] == "Cheap Inn"
    invited = {h["hotel"]["name"] for h in hotels if h["invited"]}
    assert invited == {"Inti Palace", "Qorikancha Suites", "Andean Lodge"}


def _hidden(quotation: dict[str, Any]) -> None:
    assert {key: quotation[key] for key in HIDDEN} == HIDDEN


async def test_only_the_operator_sees_them_on_queries(
    fresh: GraphQLClient, sessions: SessionFactory, make_user: UserFactory
) -> None:
    world, quotation_id, guide = await _trained_world(fresh, sessions, make_user)
    admin = (await fresh.execute(VIEW, {"id": quotation_id}, token=world.admin.token)).ok()
    _shown(admin["quotation"])
    for party in (world.agency, world.hotels[0], world.hotels[2]):  # owner, invited hotels
        for query in (VIEW, NODE):
            answer = (await fresh.execute(query, {"id": quotation_id}, token=party.token)).ok()
            _hidden(answer["quotation" if query == VIEW else "node"])
        page = (await fresh.execute(LIST, token=party.token)).ok()["quotations"]
        (node,) = [edge["node"] for edge in page["edges"]]
        _hidden(node)
    # No relation: the quotation is NOT_FOUND, exactly as an unknown id.
    for token in (world.other_agency.token, world.outsider_hotel.token, world.client.token,
                  guide):  # fmt: skip
        answer = await fresh.execute(VIEW, {"id": quotation_id}, token=token)
        assert answer.codes == ["NOT_FOUND"]
        assert answer.data == {"quotation": None}
    anonymous = await fresh.execute(VIEW, {"id": quotation_id})
    assert anonymous.codes == ["UNAUTHENTICATED"]
    assert anonymous.data is None or anonymous.data == {"quotation": None}


async def test_mutation_payloads_carry_them_for_the_operator_only(
    fresh: GraphQLClient, sessions: SessionFactory, make_user: UserFactory
) -> None:
    world, quotation_id, _ = await _trained_world(fresh, sessions, make_user)
    invite = INVITE.replace("quotation { id status }", "quotation { id status " + INSIGHTS + " }")
    invited = await fresh.execute(invite, {"q": quotation_id, "hotels": [world.hotels[0].hotel_id]},
                                  token=world.admin.token)  # fmt: skip
    _shown(invited.ok()["inviteHotels"]["quotation"])
    offer = {"quotationId": quotation_id, "netPrice": "900.00", "currency": "USD",
             "validUntil": "2031-01-01"}  # fmt: skip
    submitted = await fresh.execute(
        "mutation($input: SubmitOfferInput!) { submitOffer(input: $input) { quotation { id "
        + INSIGHTS + " } } }", {"input": offer}, token=world.hotels[1].token,
    )  # fmt: skip
    _hidden(submitted.ok()["submitOffer"]["quotation"])
    cancel = ("mutation($q: ID!) { cancelQuotation(input: {quotationId: $q}) { quotation { "
              + INSIGHTS + " } } }")  # fmt: skip
    cancelled = await fresh.execute(cancel, {"q": quotation_id}, token=world.agency.token)
    _hidden(cancelled.ok()["cancelQuotation"]["quotation"])


async def test_live_events_carry_them_to_the_operator_only(
    fresh: GraphQLClient,
    fresh_server: LiveServer,
    sessions: SessionFactory,
    make_user: UserFactory,
) -> None:
    world, quotation_id, _ = await _trained_world(fresh, sessions, make_user)
    await relayed(sessions)
    viewers = {"admin": world.admin, "owner": world.agency, "own": world.hotels[0],
               "rival": world.hotels[1]}  # fmt: skip
    async with (
        live(fresh_server.url, viewers["admin"].token) as admin,
        live(fresh_server.url, viewers["owner"].token) as owner,
        live(fresh_server.url, viewers["own"].token) as own,
        live(fresh_server.url, viewers["rival"].token) as rival,
    ):
        clients = {"admin": admin, "owner": owner, "own": own, "rival": rival}
        for client in clients.values():
            await client.subscribe("room", ROOM, {"q": quotation_id})
        await listening(fresh_server, {room_of(quotation_id): 4})
        await submit(fresh, world.hotels[0], quotation_id, "900.00")
        # the offer: the operator, the owner and the offering hotel hear of it (HIDDEN mode)
        seen = {name: await clients[name].event("room", "quotationEvents")
                for name in ("admin", "owner", "own")}  # fmt: skip
        _shown(seen["admin"]["quotation"])
        _hidden(seen["owner"]["quotation"])
        _hidden(seen["own"]["quotation"])
        # the operator closes the bidding: every party of the room hears of it
        closed = await fresh.execute(CLOSE, {"q": quotation_id}, token=world.admin.token)
        closed.ok()
        changed = {name: await client.event("room", "quotationEvents")
                   for name, client in clients.items()}  # fmt: skip
        assert {event["__typename"] for event in changed.values()} == {"QuotationChanged"}
        _shown(changed["admin"]["quotation"])
        for name in ("owner", "own", "rival"):
            _hidden(changed[name]["quotation"])


@pytest.mark.parametrize("role", ["AGENCY", "HOTEL", "CLIENT", "GUIDE", None])
async def test_the_stored_models_and_training_are_for_the_operator_only(
    fresh: GraphQLClient, make_user: UserFactory, role: str | None
) -> None:
    token = None
    if role is not None:
        company = None if role in ("CLIENT", "GUIDE") else f"{role} Co"
        await make_user("someone@example.com", Role(role), company=company,
                        hotel="Some Hotel" if role == "HOTEL" else None)  # fmt: skip
        token = await fresh.token_for("someone@example.com", PASSWORD)
    expected = ["UNAUTHENTICATED"] if role is None else ["FORBIDDEN"]
    listed = await fresh.execute(MODELS, token=token)
    assert listed.codes == expected
    assert listed.data is None
    trained = await fresh.execute(TRAIN, token=token)
    assert trained.codes == expected
    assert trained.data is None


def _written(amount: str) -> set[str]:
    """An amount as a mail could print it: plain, and in each locale's grouping."""
    value = Decimal(amount)
    forms = {amount, str(value.quantize(Decimal(1)))}
    for locale in ("es", "en", "pt"):
        forms.add(format_decimal(value, locale=locale))
        forms.add(format_decimal(value, format="#,##0.00", locale=locale))
    return forms


async def test_mails_never_carry_them(
    smtp: tuple[Inbox, int],
    settings: Settings,
    fresh: GraphQLClient,
    sessions: SessionFactory,
    make_user: UserFactory,
) -> None:
    """Trained on demand by the worker (trainModels), then a quotation is asked for and hotels
    are invited: the owner's and the hotels' mails hold none of the estimate's figures."""
    inbox, port = smtp
    async with running_jobs(settings, port) as runner:
        await make_market(sessions, make_user, quotations=40)
        world = await make_world(fresh, make_user)
        trained = (await fresh.execute(TRAIN, token=world.admin.token)).ok()["trainModels"]
        audit = select(AuditEntry.action, AuditEntry.actor_role, AuditEntry.details)
        async with sessions() as session:
            audited = (await session.execute(audit.where(AuditEntry.action == "ml.train"))).all()
        assert audited == [("ml.train", Role.ADMIN, {"job_key": trained["jobKey"]})]
        for _ in range(600):
            if (await fresh.execute(MODELS, token=world.admin.token)).ok()["mlModels"]:
                break
            await asyncio.sleep(0.1)
        quotation_id = await open_quotation(fresh, world)
        admin = (await fresh.execute(VIEW, {"id": quotation_id}, token=world.admin.token)).ok()
        _shown(admin["quotation"])
        await settled(runner, sessions)
    estimate = admin["quotation"]["netPriceEstimate"]
    figures = set().union(*(_written(estimate[p]["amount"]) for p in ("p10", "p50", "p90")))
    mails = [m for m in inbox.received
             if (m["Subject"] and "@hotels.example" in m["To"]) or "andes" in m["To"]]  # fmt: skip
    templates = {m["To"] for m in mails}
    assert any("@hotels.example" in to for to in templates)  # the invitations were sent
    assert any("andes" in to for to in templates)  # and the owner's mail
    for message in mails:
        text = parts(message)
        for figure in figures:
            for part in (message["Subject"], text["text/plain"], text["text/html"]):
                assert figure not in part, (message["To"], figure)
        assert "Cheap Inn" not in text["text/plain"]  # nor the ranking
