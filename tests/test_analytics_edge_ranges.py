"""The calendar's ends are ranges like any other: every report, over GraphQL and as CSV, answers
the first and the last days a date can hold (empty), never an internal error."""

from __future__ import annotations

import httpx
import pytest

from spirit_tours.resolvers.analytics.reports import REPORTS
from tests.analytics_flows import refresh, sign_in_everyone
from tests.conftest import UserFactory
from tests.graphql_client import GraphQLClient

ALL = """
query($from: Date!, $to: Date!) {
  analytics(from: $from, to: $to) {
    quotationFunnel(groupBy: MONTH) { truncated total { steps { count } } groups { key } }
    byDestination: quotationFunnel(groupBy: DESTINATION) { groups { key } }
    revenue { rows { month } }
    hotelPerformance { rows { hotelId } }
    cancellations { rows { month } }
    payments { outcomes { provider } routes { provider } failures { provider } }
  }
}"""
EDGES = [("0001-01-01", "0001-12-31"), ("9999-01-01", "9999-12-31")]


@pytest.mark.parametrize(("start", "end"), EDGES)
async def test_the_calendars_ends_answer_empty_reports(
    gql: GraphQLClient, http: httpx.AsyncClient, make_user: UserFactory, start: str, end: str
) -> None:
    admin = (await sign_in_everyone(gql, make_user)).admin
    await refresh(gql, admin)
    answer = (await gql.execute(ALL, {"from": start, "to": end}, token=admin)).ok()["analytics"]
    assert answer["hotelPerformance"]["rows"] == []
    for name in REPORTS:
        exported = await http.get(f"/analytics/{name}.csv", params={"from": start, "to": end},
                                  headers={"Authorization": f"Bearer {admin}"})  # fmt: skip
        assert exported.status_code == 200, (name, exported.text)
        assert len(exported.text.splitlines()) == 1  # the header line only
