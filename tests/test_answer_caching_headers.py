"""Every /graphql answer is the viewer's (an ADMIN's reports and estimates, a hotel's own net
prices): ``Cache-Control: no-store`` keeps it out of every cache — the browser's disk, a proxy
— for a GET as for a POST, like the CSV exports of the same reports."""

from __future__ import annotations

import httpx
import pytest

from tests.analytics_flows import sign_in_everyone
from tests.conftest import UserFactory
from tests.graphql_client import GraphQLClient

REPORT = '{ analytics(from: "2026-01-01", to: "2026-12-31") { revenue { truncated } } }'


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_an_admins_report_is_never_stored_by_a_cache(
    http: httpx.AsyncClient, gql: GraphQLClient, make_user: UserFactory, method: str
) -> None:
    admin = (await sign_in_everyone(gql, make_user)).admin
    headers = {"Authorization": f"Bearer {admin}", "Accept": "application/json"}
    if method == "GET":
        answer = await http.get("/graphql", params={"query": REPORT}, headers=headers)
    else:
        answer = await http.post("/graphql", json={"query": REPORT}, headers=headers)
    assert answer.status_code == 200
    assert answer.json()["data"]["analytics"]["revenue"] == {"truncated": False}
    directives = {d.strip() for d in answer.headers["cache-control"].split(",")}
    assert {"no-store", "private"} <= directives


async def test_a_refusal_is_not_stored_either(http: httpx.AsyncClient) -> None:
    answer = await http.get("/graphql", params={"query": REPORT},
                            headers={"Accept": "application/json"})  # fmt: skip
    assert answer.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert "no-store" in answer.headers["cache-control"]
