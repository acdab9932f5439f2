"""Apollo Client (core, tests/js/apollo.mjs, installed by `make install`) against the live
server, as an app configures it: its normalised cache keeps one entry per quotation whichever
field brought it (a page, ``node(id:)``, ``quotation(id:)``, a mutation's payload), and
``errorPolicy: 'all'`` keeps the other root fields' data when one lookup is NOT_FOUND."""

from __future__ import annotations

import asyncio
import json
import shutil
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import PASSWORD, LiveServer, UserFactory
from tests.graphql_client import GraphQLClient
from tests.quotation_flows import CREATE, make_world, quotation_input

pytestmark = pytest.mark.slow

JS = Path(__file__).parent / "js"


async def apollo(server: LiveServer, email: str, *arguments: str) -> dict[str, Any]:
    node = shutil.which("node")
    assert node, "node (>= 20) is needed: install Node.js, then `make install`"
    assert (JS / "node_modules" / "@apollo" / "client").is_dir(), "run `make install`"
    process = await asyncio.create_subprocess_exec(
        node, str(JS / "apollo.mjs"), server.url, email, PASSWORD, *arguments,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, cwd=JS,
    )  # fmt: skip
    stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, stderr.decode()
    result: dict[str, Any] = json.loads(stdout)
    return result


async def test_apollo_normalises_quotations_and_keeps_partial_data(
    gql: GraphQLClient, make_user: UserFactory, live_server: LiveServer
) -> None:
    world = await make_world(gql, make_user)
    ids = []
    for destination in ("Cusco", "Puno"):
        variables = {"input": quotation_input(destination=destination)}
        created = await gql.execute(CREATE, variables, token=world.agency.token)
        ids.append(created.ok()["createQuotation"]["quotation"]["id"])
    puno, cusco = ids[1], ids[0]  # newest first in the list
    unknown = str(uuid.uuid4())

    seen = await apollo(live_server, world.agency.email, cusco, unknown)
    print(json.dumps(seen, indent=1))  # shown when the test fails

    assert seen["key"] == f"Quotation:{cusco}"
    page = seen["list"]
    assert [edge["node"]["id"] for edge in page["edges"]] == [puno, cusco]
    assert page["pageInfo"] == {
        "__typename": "PageInfo",
        "hasNextPage": False,
        "hasPreviousPage": False,
        "startCursor": page["edges"][0]["cursor"],
        "endCursor": page["edges"][1]["cursor"],
    }
    # node(id:) lands on the entry the list made: one entry, the fields of both merged.
    assert seen["node"] == {
        "__typename": "Quotation", "id": cusco, "status": "DRAFT", "destination": "Cusco"
    }  # fmt: skip
    assert seen["entryAfterNode"] == {
        "__typename": "Quotation", "id": cusco, "destination": "Cusco", "travellers": 12,
        "status": "DRAFT",
    }  # fmt: skip
    assert sorted(seen["quotationEntries"]) == sorted([f"Quotation:{puno}", f"Quotation:{cusco}"])
    # quotation(id:) is answered by the cache: no request reached the server.
    assert seen["typed"] == {
        "__typename": "Quotation", "id": cusco, "destination": "Cusco", "travellers": 12
    }  # fmt: skip
    assert seen["requestsAfterTyped"] == seen["requestsAfterList"] + 1  # node(id:) only
    # The mutation's payload updates the entry, so the cached list shows it at once.
    assert seen["renamed"] == {"__typename": "Quotation", "id": cusco, "destination": "Arequipa"}
    assert [(q["id"], q["destination"]) for q in seen["listAfterMutation"]] == [
        (puno, "Puno"),
        (cusco, "Arequipa"),
    ]
    assert seen["requestsForListAfterMutation"] == 0

    # errorPolicy 'all': the unknown quotation is null with its error, the viewer is kept.
    assert seen["errorPolicyAll"] == {
        "data": {
            "viewer": {"__typename": "User", "email": world.agency.email},
            "quotation": None,
        },
        "errors": [{"code": "NOT_FOUND", "path": ["quotation"]}],
    }
    # The default policy ('none') reports the error and drops the data, as Apollo documents.
    assert seen["errorPolicyNone"]["errors"] == [{"code": "NOT_FOUND", "path": ["quotation"]}]
    assert seen["errorPolicyNone"]["data"] is None

    assert seen["nodes"] == [
        {"__typename": "Quotation", "id": cusco, "destination": "Arequipa"},
        None,
        {"__typename": "Quotation", "id": cusco, "destination": "Arequipa"},
    ]
