"""The JSON of /graphql (``core.json_codec``): orjson's speed with the standard library's
answers, amounts exact, and the few explicit differences tested."""

from __future__ import annotations

import json
import math
from decimal import Decimal
from typing import Any

import httpx
import pytest
import websockets
from hypothesis import given, settings
from hypothesis import strategies as st
from websockets.typing import Subprotocol

from spirit_tours.core import json_codec
from tests.conftest import LiveServer, UserFactory
from tests.graphql_client import GraphQLClient
from tests.quotation_flows import make_world, open_quotation, submit

JSON_HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}

# Any JSON value the standard library writes: integers of any size, every float it reads back
# (finite), any text (lone surrogates included, written as \ud800 escapes).
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(2**200), max_value=2**200)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=30,
)


def _typed(value: Any) -> Any:
    """``value`` with the type of every number, so that 1 and 1.0 (equal) differ."""
    if isinstance(value, dict):
        return {key: _typed(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_typed(item) for item in value]
    if isinstance(value, float | int) and not isinstance(value, bool):
        return (type(value).__name__, value)
    return value


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_reads_what_the_standard_library_reads(value: Any) -> None:
    text = json.dumps(value)
    expected = _typed(json.loads(text))
    assert _typed(json_codec.loads(text)) == expected
    assert _typed(json_codec.loads(text.encode())) == expected
    compact = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if not any(0xD800 <= ord(c) <= 0xDFFF for c in compact):  # not encodable as UTF-8
        assert _typed(json_codec.loads(compact.encode())) == expected


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_writes_what_reads_back_the_same(value: Any) -> None:
    assert _typed(json.loads(json_codec.dumps(value))) == _typed(value)


@pytest.mark.parametrize(
    "number",
    [2**64, 2**64 - 1, -(2**63) - 1, -(2**63), 10**30, -(10**30), 123456789012345678901234567890],
)
def test_big_integers_stay_exact_integers(number: int) -> None:
    for text in (f'{{"n":{number}}}', f"[{number}]"):
        for data in (text, text.encode()):
            value: Any = json_codec.loads(data)
            found = value["n"] if isinstance(value, dict) else value[0]
            assert type(found) is int
            assert found == number
    assert json_codec.dumps({"n": number}) == f'{{"n":{number}}}'.encode()


@pytest.mark.parametrize(
    "text",
    ['{"a":NaN}', '{"a":Infinity}', '{"a":-Infinity}', "NaN", '[1,"x",Infinity]'],
)
def test_nan_and_infinity_are_not_json(text: str) -> None:
    for data in (text, text.encode()):
        with pytest.raises(json.JSONDecodeError):
            json_codec.loads(data)


@pytest.mark.parametrize(
    "data",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b"[" * 5_000,
        b'{"a":"\xff\xfe"}',
        b"",
        b'{"a":1} x',
        b'{"a" 1}',
        b'{"a":' + b"1" * 5_000 + b"}",
    ],
    ids=["deep", "deep-unclosed", "invalid-utf8", "empty", "trailing", "no-colon", "long-int"],
)
def test_malformed_json_is_a_decode_error(data: bytes) -> None:
    with pytest.raises(json.JSONDecodeError):
        json_codec.loads(data)


def test_what_the_standard_library_accepted_is_still_read_the_same() -> None:
    # A lone surrogate (escaped, in text, or encoded in bytes) stays a lone surrogate: the
    # input checks then name its field.
    assert json_codec.loads(rb'{"a":"\ud800"}') == {"a": "\ud800"}
    assert json_codec.loads('{"a":"\ud800"}') == {"a": "\ud800"}
    assert json_codec.loads(b'{"a":"\xed\xa0\x80"}') == {"a": "\ud800"}
    # A number too large for a float is infinity (a number, unlike the constant Infinity).
    assert json_codec.loads(b'{"a":1e999999}') == {"a": math.inf}
    # Duplicate keys: the last one wins, in both parsers.
    assert json_codec.loads(b'{"a":1,"a":2}') == {"a": 2}
    # A UTF-8 byte order mark, and UTF-16, as json.loads detects them in bytes.
    assert json_codec.loads(b'\xef\xbb\xbf{"a":1}') == {"a": 1}
    assert json_codec.loads('{"a":1}'.encode("utf-16")) == {"a": 1}
    # Nesting within the parsers' depth.
    assert json_codec.loads("[" * 500 + "]" * 500) is not None


def test_writing() -> None:
    assert json_codec.dumps({"a": "é", "b": [1, 2.5, None, True]}) == (
        '{"a":"é","b":[1,2.5,null,true]}'.encode()
    )
    # What orjson cannot write, the standard library writes as it did.
    assert json_codec.dumps({"s": "\ud800"}) == b'{"s":"\\ud800"}'
    assert json_codec.dumps({1: "x"}) == b'{"1":"x"}'
    # A non-finite float is null (was NaN, which no JSON parser reads).
    assert json_codec.dumps([math.nan, math.inf, -math.inf]) == b"[null,null,null]"
    # A Decimal is never written as a float: the Decimal scalar serialises it to a string.
    with pytest.raises(TypeError):
        json_codec.dumps({"amount": Decimal("12345678901234.10")})


# --- Over HTTP ----------------------------------------------------------------------------

AMOUNT = "123456789012.10"  # the largest kind of amount (NUMERIC(14, 2)); a float drops the 0
OFFER = """query($id: ID!) { quotation(id: $id) {
  offers { netPrice { amount currency } } } }"""


async def test_amounts_round_trip_exactly(gql: GraphQLClient, make_user: UserFactory) -> None:
    world = await make_world(gql, make_user)
    quotation_id = await open_quotation(gql, world)
    await submit(gql, world.hotels[0], quotation_id, AMOUNT)
    response = await gql.http.post(
        "/graphql",
        json={"query": OFFER, "variables": {"id": quotation_id}},
        headers={"Authorization": f"Bearer {world.hotels[0].token}"},
    )
    assert response.status_code == 200, response.text
    assert f'"amount":"{AMOUNT}"' in response.text  # a JSON string, every digit kept
    offers = response.json()["data"]["quotation"]["offers"]
    assert [o["netPrice"] for o in offers] == [{"amount": AMOUNT, "currency": "USD"}]


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
async def test_nan_in_a_body_is_a_bad_request(http: httpx.AsyncClient, constant: str) -> None:
    body = '{"query":"query($x:Decimal){__typename}","variables":{"x":' + constant + "}}"
    response = await http.post("/graphql", content=body.encode(), headers=JSON_HEADERS)
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_an_integer_too_long_to_read_is_a_bad_request(http: httpx.AsyncClient) -> None:
    """Past Python's 4,300 digits an integer cannot be converted: malformed, not a crash."""
    body = '{"query":"query($x:Decimal){__typename}","variables":{"x":' + "9" * 5_000 + "}}"
    response = await http.post("/graphql", content=body.encode(), headers=JSON_HEADERS)
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_big_integers_in_variables_are_read_exactly(http: httpx.AsyncClient) -> None:
    """An integer past 64 bits is an integer (GraphQL's Int refuses it by its value), not a
    float rounded to something else."""
    body = (
        '{"query":"query($n:Int){quotations(first:$n){totalCount}}",'
        '"variables":{"n":123456789012345678901}}'
    )
    response = await http.post("/graphql", content=body.encode(), headers=JSON_HEADERS)
    assert response.status_code == 200, response.text
    message = response.json()["errors"][0]["message"]
    assert "123456789012345678901" in message, message


async def test_responses_are_utf8_json(gql: GraphQLClient) -> None:
    response = await gql.http.post(
        "/graphql", json={"query": '{ __type(name: "Money") { name description } }'}
    )
    assert response.headers["content-type"] == "application/json"
    assert response.json()["data"]["__type"]["name"] == "Money"


async def test_websocket_messages_are_text_frames(live_server: LiveServer) -> None:
    url = live_server.url.replace("http://", "ws://") + "/graphql"
    async with websockets.connect(url, subprotocols=[Subprotocol("graphql-transport-ws")]) as ws:
        await ws.send('{"type":"connection_init","payload":{}}')
        ack = await ws.recv()
        assert isinstance(ack, str), ack
        assert json.loads(ack)["type"] == "connection_ack"
        await ws.send('{"id":"1","type":"subscribe","payload":{"query":"{ __typename }"}}')
        first = await ws.recv()
        assert isinstance(first, str), first
        assert json.loads(first)["payload"] == {"data": {"__typename": "Query"}}
