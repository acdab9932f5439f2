"""The analytics reports' privacy and the CSV export: ADMIN only on every path (the GraphQL
root field, the refresh mutation, each export), proper CSV headers, formula-safe cells, and
clear refusals of bad parameters."""

from __future__ import annotations

import httpx
import pytest

from spirit_tours.resolvers.analytics.reports import REPORTS
from tests.analytics_flows import (
    REFRESH,
    Tokens,
    export,
    funnel,
    refresh,
    revenue,
    sign_in_everyone,
)
from tests.conftest import UserFactory
from tests.graphql_client import GraphQLClient

FROM, TO = "2026-01-01", "2026-12-31"


@pytest.fixture
async def tokens(gql: GraphQLClient, make_user: UserFactory) -> Tokens:
    return await sign_in_everyone(gql, make_user)


async def test_every_other_role_is_refused_the_reports(gql: GraphQLClient, tokens: Tokens) -> None:
    for role, token in tokens.others.items():
        for result in (
            await funnel(gql, token, FROM, TO),
            await revenue(gql, token, FROM, TO, "MONTH"),
        ):
            assert result.data is None, role
            assert result.codes == ["FORBIDDEN"], role
    for result in (await funnel(gql, None, FROM, TO), await revenue(gql, None, FROM, TO, "MONTH")):
        assert result.data is None
        assert result.codes == ["UNAUTHENTICATED"]
    assert (await funnel(gql, tokens.admin, FROM, TO)).ok()["analytics"]["quotationFunnel"]


async def test_every_other_role_is_refused_the_refresh(gql: GraphQLClient, tokens: Tokens) -> None:
    for role, token in tokens.others.items():
        result = await gql.execute(REFRESH, token=token)
        assert result.data is None, role
        assert result.codes == ["FORBIDDEN"], role
    assert (await gql.execute(REFRESH)).codes == ["UNAUTHENTICATED"]
    rollups = await refresh(gql, tokens.admin)
    assert {rollup["name"] for rollup in rollups} >= {
        "analytics_quotation_funnel",
        "analytics_revenue_daily",
    }


@pytest.mark.parametrize("report", sorted(REPORTS))
async def test_every_other_role_is_refused_each_export(
    http: httpx.AsyncClient, tokens: Tokens, report: str
) -> None:
    anonymous = await export(http, report, None, **{"from": FROM, "to": TO})
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"].startswith("Bearer")
    assert "text/csv" not in anonymous.headers["content-type"]
    forged = await export(http, report, "not-a-token", **{"from": FROM, "to": TO})
    assert forged.status_code == 401
    for role, token in tokens.others.items():
        refused = await export(http, report, token, **{"from": FROM, "to": TO})
        assert refused.status_code == 403, role
        assert "text/csv" not in refused.headers["content-type"], role
    allowed = await export(http, report, tokens.admin, **{"from": FROM, "to": TO})
    assert allowed.status_code == 200
    assert allowed.headers["content-type"] == "text/csv; charset=utf-8"
    assert allowed.headers["content-disposition"] == (
        f'attachment; filename="{report}_{FROM}_{TO}.csv"'
    )
    assert "no-store" in allowed.headers["cache-control"]
    assert allowed.text.endswith("\r\n")
