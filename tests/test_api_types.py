"""The typed API: closed sets are enums, money has its currency's decimals, the scalars name
their specification, every error code is published, and the privacy guards stay out of the
public schema while still being recorded (docs/api/guarded-fields.md)."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import strawberry
from babel.numbers import get_currency_precision, list_currencies
from sqlalchemy import text
from strawberry.exceptions import StrawberryInputCoercionError

from spirit_tours.core.currencies import WITHDRAWN, Currency
from spirit_tours.core.enums import EventKind
from spirit_tours.core.errors import ErrorCode
from spirit_tours.emails.render import TEMPLATES
from spirit_tours.emails.triggers import TRIGGERS
from spirit_tours.permissions import pricing_fields as can
from spirit_tours.permissions.live import NOTIFICATIONS
from spirit_tours.persistence.database import SessionFactory
from spirit_tours.schema.build import SCHEMA_PARTS, guarded_fields, guarded_fields_doc, sdl
from spirit_tours.schema.scalars import DECIMAL
from tests.conftest import UserFactory
from tests.graphql_client import GraphQLClient
from tests.quotation_flows import CREATE, INVITE, make_world, quotation_input

ROOT = Path(__file__).parent.parent
NEW_ENUMS = ("Currency", "ErrorCode", "EventKind", "NotificationKind", "ChatThread",
             "EmailTemplate", "EmailPriority", "AttemptOutcome", "WebhookOutcome")  # fmt: skip
BUILT_IN_DIRECTIVES = {"include", "skip", "deprecated", "specifiedBy", "oneOf"}
ENUM_VALUES = "query($name: String!) { __type(name: $name) { enumValues { name description } } }"
SUBMIT_PRICE = """
mutation($input: SubmitOfferInput!) { submitOffer(input: $input) { offer { netPrice {
  amount currency } } } }"""
OFFERS = "query($id: ID!) { quotation(id: $id) { offers { id } } }"
COUNT = "{ quotations { totalCount } }"


def _schema() -> strawberry.Schema:
    return strawberry.Schema(**SCHEMA_PARTS)


def _enum_values(name: str) -> dict[str, str | None]:
    result = _schema().execute_sync(ENUM_VALUES, variable_values={"name": name})
    assert result.errors is None, result.errors
    assert result.data is not None
    return {value["name"]: value["description"] for value in result.data["__type"]["enumValues"]}


# --- the published enums ----------------------------------------------------------------------


def test_every_error_code_is_published_with_a_description() -> None:
    published = _enum_values("ErrorCode")
    assert set(published) == {code.value for code in ErrorCode}
    assert all(published.values()), published


@pytest.mark.parametrize("name", NEW_ENUMS)
def test_each_value_of_the_new_enums_says_what_it_means(name: str) -> None:
    values = _enum_values(name)
    assert values
    assert [value for value, description in values.items() if not description] == []


def test_every_code_the_server_writes_comes_from_the_error_code_enum() -> None:
    """Any ``"code": …`` the server puts in a response is an ErrorCode member (or one passed
    through), so the published enum cannot miss one. The payment adapters are left out: their
    "code" keys are the providers' own answers, never ours."""
    allowed = re.compile(r"ErrorCode\.[A-Z_]+\.value|(?:self\.|error\.)?code\.value")
    members = {f'"{code.value}"' for code in ErrorCode}
    strays = []
    for path in (ROOT / "spirit_tours").rglob("*.py"):
        if path.is_relative_to(ROOT / "spirit_tours" / "payments"):
            continue
        for match in re.finditer(r"[\"']code[\"']\s*:\s*([^,}\n]+)", path.read_text()):
            value = match.group(1).strip()
            if not allowed.fullmatch(value) and value not in members:
                strays.append(f"{path.relative_to(ROOT)}: {value}")
    assert strays == []


async def test_the_codes_of_real_failures_are_published_values(http: httpx.AsyncClient) -> None:
    published = set(_enum_values("ErrorCode"))
    answers = [
        await http.post("/graphql", json={"query": "{ viewer { id "}),
        await http.post("/graphql", json={"query": "{ nope }"}),
        await http.post("/graphql", json={"query": "{ viewer { id } }"}),
        await http.post("/graphql", content=b"{not json", headers={"content-type":
                                                                  "application/json"}),
        await http.post("/graphql", json={"extensions": {"persistedQuery": {
            "version": 1, "sha256Hash": "0" * 64}}}),
        await http.get("/graphql", params={"query": "mutation { logout(input: {refreshToken: "
                                                    '"x"}) { revokedSessions } }'}),
    ]  # fmt: skip
    codes = [error["extensions"]["code"] for answer in answers for error in answer.json()["errors"]]
    assert set(codes) == {
        "GRAPHQL_PARSE_FAILED", "GRAPHQL_VALIDATION_FAILED", "UNAUTHENTICATED", "BAD_REQUEST",
        "PERSISTED_QUERY_NOT_FOUND", "METHOD_NOT_ALLOWED",
    }  # fmt: skip
    assert set(codes) <= published


def test_currencies_are_every_iso_4217_code_babel_knows_the_withdrawn_ones_deprecated() -> None:
    known = set(list_currencies())
    assert {"USD", "EUR", "BRL", "CLP", "COP", "JPY", "KWD", "MXN", "PEN"} <= set(Currency)
    # Every code the API took before the enum (any Babel knew) still reads on stored rows.
    assert set(Currency) == known
    assert {"ESP", "HRK", "VEF", "XAU", "CLF"} <= WITHDRAWN
    assert not {"USD", "EUR", "BRL", "CLP", "COP", "JPY", "KWD"} & WITHDRAWN
    assert all(get_currency_precision(code) in (0, 2, 3) for code in set(Currency) - WITHDRAWN)
    deprecated = re.findall(r"^  ([A-Z]{3}) @deprecated", sdl(), flags=re.M)
    assert set(deprecated) == {code.value for code in WITHDRAWN}


def test_the_templates_enum_is_the_template_registry() -> None:
    from spirit_tours.core.enums import EmailTemplate

    assert {template.value for template in EmailTemplate} == set(TEMPLATES)


def test_every_event_a_rule_listens_to_is_an_event_kind() -> None:
    kinds = {kind.value for kind in EventKind}
    assert set(NOTIFICATIONS) <= kinds
    assert set(TRIGGERS) <= kinds


# --- scalars ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "url"),
    [
        ("DateTime", "https://www.rfc-editor.org/rfc/rfc3339#section-5.6"),
        ("Date", "https://www.rfc-editor.org/rfc/rfc3339#section-5.6"),
        ("Decimal", "https://www.w3.org/TR/xmlschema11-2/#decimal"),
    ],
)
def test_the_scalars_name_their_specification(name: str, url: str) -> None:
    result = _schema().execute_sync(
        "query($n: String!) { __type(name: $n) { specifiedByURL description } }",
        variable_values={"n": name},
    )
    assert result.data is not None
    assert result.data["__type"]["specifiedByURL"] == url
    assert result.data["__type"]["description"]


def test_decimals_are_written_in_plain_notation_and_only_finite_ones_are_read() -> None:
    assert DECIMAL.serialize is not None
    assert DECIMAL.parse_value is not None
    assert DECIMAL.serialize(Decimal("1E+3")) == "1000"
    assert DECIMAL.serialize(Decimal("-0.50")) == "-0.50"
    assert DECIMAL.parse_value(1e3) == Decimal("1000")
    assert DECIMAL.parse_value("12.50") == Decimal("12.50")
    for zero in ("-0", "-0.00", -0.0, "-0e5"):
        assert not DECIMAL.parse_value(zero).is_signed(), zero
    assert DECIMAL.parse_value(" -.5e2 ") == Decimal("-50")
    assert DECIMAL.parse_value(10**30) == Decimal(10**30)
    other_scripts = ("\u0661\u0662", "\uff11\uff12")  # Arabic-Indic 12, full-width 12
    for bad in ("NaN", "Infinity", "-inf", "12,5", "", True, None, [1], "1_000", *other_scripts,
                "0x10", "1e", "e3", ".", "+", "1.2.3"):  # fmt: skip
        with pytest.raises(StrawberryInputCoercionError):
            DECIMAL.parse_value(bad)


# --- internal directives ----------------------------------------------------------------------


def test_the_public_schema_has_no_directive_of_ours() -> None:
    text = sdl()
    assert "directive @" not in text
    assert "@canSee" not in text
    result = _schema().execute_sync("{ __schema { directives { name } } }")
    assert result.data is not None
    assert {d["name"] for d in result.data["__schema"]["directives"]} <= BUILT_IN_DIRECTIVES
    assert (ROOT / "schema.graphql").read_text() == text


def test_the_guards_are_still_on_their_fields_and_documented() -> None:
    guards = guarded_fields(_schema())
    assert guards["Offer.netPrice"] is can.CanSeeNetPrice
    assert guards["Quotation.markupPercent"] is can.CanSeeMarkup
    assert guards["Payment.providerReference"] is can.CanSeeProviderDetails
    assert guards["Booking.owner"] is can.CanSeeOwner
    assert guards["Quotation.netPriceEstimate"] is can.CanSeeModelInsights
    assert guards["Quotation.hotelRecommendations"] is can.CanSeeModelInsights
    assert len(guards) == 34
    assert {guard.__name__ for guard in guards.values()} == {
        cls.__name__ for cls in vars(can).values()
        if isinstance(cls, type) and issubclass(cls, can._ScopeRule) and cls is not can._ScopeRule
    }  # fmt: skip
    doc = (ROOT / "docs" / "api" / "guarded-fields.md").read_text()
    assert doc == guarded_fields_doc(), "docs/api/guarded-fields.md is stale: run `make schema`"


# --- money and enum inputs over HTTP ----------------------------------------------------------


async def _quotation(gql: GraphQLClient, world: Any, currency: str) -> str:
    created = await gql.execute(
        CREATE, {"input": quotation_input(currency=currency)}, token=world.agency.token
    )
    quotation_id: str = created.ok()["createQuotation"]["quotation"]["id"]
    hotels = [hotel.hotel_id for hotel in world.hotels]
    (await gql.execute(INVITE, {"q": quotation_id, "hotels": hotels}, token=world.admin.token)).ok()
    return quotation_id


def _offer(quotation_id: str, price: Any, currency: str) -> dict[str, Any]:
    valid_until = (date.today() + timedelta(days=30)).isoformat()
    return {"input": {"quotationId": quotation_id, "netPrice": price, "currency": currency,
                      "validUntil": valid_until}}  # fmt: skip


SHOWN = [
    ("USD", 1e3, "1000.00"),  # a JSON number: 1000.0 read, two decimals shown
    ("USD", "1e3", "1000.00"),
    ("USD", "12.5", "12.50"),
    ("JPY", "1000", "1000"),
    ("CLP", "250000.00", "250000"),
    ("KWD", "1000.5", "1000.500"),
]
REFUSED = [("JPY", "1000.5"), ("USD", "10.001"), ("KWD", "1.005"), ("CLP", 0.5)]


async def test_money_comes_with_the_currency_s_minor_units(
    gql: GraphQLClient, make_user: UserFactory
) -> None:
    world = await make_world(gql, make_user)
    for currency, price, shown in SHOWN:
        quotation_id = await _quotation(gql, world, currency)
        result = await gql.execute(
            SUBMIT_PRICE, _offer(quotation_id, price, currency), token=world.hotels[0].token
        )
        assert result.ok()["submitOffer"]["offer"]["netPrice"] == {
            "amount": shown, "currency": currency
        }, (currency, price)  # fmt: skip


async def test_an_amount_with_more_decimals_than_the_currency_is_refused_not_rounded(
    gql: GraphQLClient, make_user: UserFactory
) -> None:
    world = await make_world(gql, make_user)
    for currency, price in REFUSED:
        quotation_id = await _quotation(gql, world, currency)
        refused = await gql.execute(
            SUBMIT_PRICE, _offer(quotation_id, price, currency), token=world.hotels[0].token
        )
        assert refused.codes == ["BAD_USER_INPUT"], (currency, price)
        assert refused.errors[0]["extensions"]["field"] == "netPrice"
        assert f"{currency} amounts have at most" in refused.errors[0]["message"]
        offers = await gql.execute(OFFERS, {"id": quotation_id}, token=world.admin.token)
        assert offers.ok()["quotation"]["offers"] == []
    # Not a finite number: refused with the variables, before anything runs.
    not_a_number = await gql.execute(
        SUBMIT_PRICE, _offer(quotation_id, "NaN", "CLP"), token=world.hotels[0].token
    )
    assert not_a_number.codes == ["GRAPHQL_VALIDATION_FAILED"]
    assert "Decimal" in not_a_number.errors[0]["message"]


async def test_an_enum_input_takes_the_same_string_in_variables_and_refuses_others(
    gql: GraphQLClient, make_user: UserFactory
) -> None:
    world = await make_world(gql, make_user)
    token = world.agency.token
    for wrong in ("XYZ", "usd", ""):
        refused = await gql.execute(CREATE, {"input": quotation_input(currency=wrong)}, token=token)
        assert refused.codes == ["GRAPHQL_VALIDATION_FAILED"], wrong
        assert "Currency" in refused.errors[0]["message"], refused.errors
    # A withdrawn code is a (deprecated) value: it reads on old rows, new amounts refuse it.
    for withdrawn in ("ESP", "HRK"):
        refused = await gql.execute(
            CREATE, {"input": quotation_input(currency=withdrawn)}, token=token
        )
        assert refused.codes == ["BAD_USER_INPUT"], withdrawn
        assert refused.errors[0]["extensions"]["field"] == "currency"
        assert "no longer in use" in refused.errors[0]["message"]
    literal = await gql.execute(
        'mutation { createQuotation(input: {destination: "Cusco", startDate: "2099-01-01", '
        'endDate: "2099-01-05", travellers: 2, rooms: [{type: DOUBLE, count: 1}], '
        'currency: XYZ, offerDeadline: "2098-12-01T00:00:00+00:00"}) { quotation { id } } }',
        token=token,
    )
    assert literal.codes == ["GRAPHQL_VALIDATION_FAILED"]
    assert (await gql.execute(COUNT, token=token)).ok()["quotations"]["totalCount"] == 0
    accepted = await gql.execute(CREATE, {"input": quotation_input(currency="USD")}, token=token)
    quotation_id = accepted.ok()["createQuotation"]["quotation"]["id"]
    assert (await gql.execute(COUNT, token=token)).ok()["quotations"]["totalCount"] == 1
    hotels = [hotel.hotel_id for hotel in world.hotels]
    (await gql.execute(INVITE, {"q": quotation_id, "hotels": hotels}, token=world.admin.token)).ok()
    offer = await gql.execute(
        SUBMIT_PRICE, _offer(quotation_id, "100", "XXQ"), token=world.hotels[0].token
    )
    assert offer.codes == ["GRAPHQL_VALIDATION_FAILED"]
    offers = await gql.execute(OFFERS, {"id": quotation_id}, token=world.admin.token)
    assert offers.ok()["quotation"]["offers"] == []


async def test_amounts_stored_in_a_code_the_api_took_before_still_read(
    gql: GraphQLClient, make_user: UserFactory, sessions: SessionFactory
) -> None:
    """Before the enum the API took any code Babel knew (HRK until Croatia took the euro);
    such a row reads with its code instead of failing the whole page."""
    world = await make_world(gql, make_user)
    token = world.agency.token
    for _ in range(2):
        (await gql.execute(CREATE, {"input": quotation_input(currency="EUR")}, token=token)).ok()
    async with sessions() as session, session.begin():
        await session.execute(
            text(
                "UPDATE quotations SET currency = 'HRK' "
                "WHERE id = (SELECT min(id::text)::uuid FROM quotations)"
            )
        )
    page = await gql.execute(
        "{ quotations(first: 10) { totalCount nodes { currency } } }", token=token
    )
    assert page.ok()["quotations"]["totalCount"] == 2
    assert sorted(node["currency"] for node in page.data["quotations"]["nodes"]) == [
        "EUR",
        "HRK",
    ]
