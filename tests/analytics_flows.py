"""Helpers of the analytics tests: every role signed in, and the report and refresh calls."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from spirit_tours.core.enums import Role
from tests.conftest import PASSWORD, UserFactory
from tests.graphql_client import GraphQLClient, Result

REFRESH = "mutation { refreshAnalytics { rollups { name refreshedAt durationMs } } }"
FUNNEL = """
query($from: Date!, $to: Date!, $groupBy: FunnelGroupBy!) {
  analytics(from: $from, to: $to) {
    quotationFunnel(groupBy: $groupBy) {
      refreshedAt groupBy truncated
      total { key label steps { step count conversionFromPrevious conversionFromCreated
                                medianHoursFromPrevious } }
      groups { key label steps { step count conversionFromPrevious conversionFromCreated
                                 medianHoursFromPrevious } }
    }
  }
}"""
REVENUE = """
query($from: Date!, $to: Date!, $groupBy: RevenueGroupBy!) {
  analytics(from: $from, to: $to) {
    revenue(groupBy: $groupBy) {
      refreshedAt groupBy truncated
      rows { month destination currency bookings cancelledBookings sellingTotal hotelNetTotal
             margin averageMarkupPercent paidTotal refundsTotal netRevenue }
    }
  }
}"""


@dataclass
class Tokens:
    """An access token per role (the ADMIN's, and every other role's)."""

    admin: str
    others: dict[str, str]


async def sign_in_everyone(gql: GraphQLClient, make_user: UserFactory) -> Tokens:
    await make_user("admin@op.example", Role.ADMIN)
    await make_user("maria@andes.example", Role.AGENCY, company="Andes Travel")
    await make_user("hotel@inti.example", Role.HOTEL, company="Inti Co", hotel="Inti Palace")
    await make_user("emma@example.com", Role.CLIENT)
    await make_user("guide@op.example", Role.GUIDE)
    others = {
        "AGENCY": await gql.token_for("maria@andes.example", PASSWORD),
        "HOTEL": await gql.token_for("hotel@inti.example", PASSWORD),
        "CLIENT": await gql.token_for("emma@example.com", PASSWORD),
        "GUIDE": await gql.token_for("guide@op.example", PASSWORD),
    }
    return Tokens(await gql.token_for("admin@op.example", PASSWORD), others)


async def refresh(gql: GraphQLClient, token: str) -> list[dict[str, Any]]:
    rollups: list[dict[str, Any]] = (await gql.execute(REFRESH, token=token)).ok()[
        "refreshAnalytics"
    ]["rollups"]
    return rollups


async def funnel(
    gql: GraphQLClient, token: str | None, start: str, end: str, group_by: str = "MONTH"
) -> Result:
    variables = {"from": start, "to": end, "groupBy": group_by}
    return await gql.execute(FUNNEL, variables, token=token)


async def revenue(
    gql: GraphQLClient, token: str | None, start: str, end: str, group_by: str
) -> Result:
    variables = {"from": start, "to": end, "groupBy": group_by}
    return await gql.execute(REVENUE, variables, token=token)


async def export(
    http: httpx.AsyncClient, report: str, token: str | None, **params: str
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return await http.get(f"/analytics/{report}.csv", params=params, headers=headers)
