"""The analytics reports' privacy and the CSV export: ADMIN only on every path (the GraphQL
root field, the refresh mutation, each export), proper CSV headers, formula-safe cells, and
clear refusals of bad parameters."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import datetime

import httpx
import pytest

from spirit_tours.persistence.database import SessionFactory
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
from tests.analytics_history import SPECS, known_history, utc
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


def _rows(response: httpx.Response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.text)))


async def test_the_revenue_export_holds_the_report(
    http: httpx.AsyncClient, gql: GraphQLClient, tokens: Tokens, make_user: UserFactory,
    sessions: SessionFactory,
) -> None:  # fmt: skip
    await known_history(make_user, sessions)
    await refresh(gql, tokens.admin)
    response = await export(http, "revenue", tokens.admin, **{"from": FROM, "to": TO})
    assert response.status_code == 200
    assert response.headers["x-analytics-truncated"] == "false"
    assert datetime.fromisoformat(response.headers["x-analytics-refreshed-at"])
    header, *rows = _rows(response)
    assert header == [
        "month", "destination", "currency", "bookings", "cancelled_bookings", "selling_total",
        "hotel_net_total", "margin", "average_markup_percent", "paid_total", "refunds_total",
        "net_revenue",
    ]  # fmt: skip
    # The same hand-worked figures as tests/test_analytics_revenue.py.
    assert rows == [
        ["2026-01", "Cusco", "USD", "1", "0", "2000.00", "1600.00", "400.00", "25.00", "0.00",
         "0.00", "0.00"],
        ["2026-03", "Cusco", "BRL", "1", "0", "5000.00", "4000.00", "1000.00", "25.00",
         "5000.00", "0.00", "5000.00"],
        ["2026-03", "Cusco", "USD", "2", "0", "2350.00", "2000.00", "350.00", "17.50",
         "1545.00", "0.00", "1545.00"],
        ["2026-04", "Cusco", "EUR", "1", "1", "0.00", "0.00", "0.00", "", "270.00", "135.00",
         "135.00"],
    ]  # fmt: skip
    by_month = await export(
        http, "revenue", tokens.admin, **{"from": FROM, "to": TO, "groupBy": "MONTH"}
    )
    assert [row[:3] for row in _rows(by_month)[1:]] == [
        ["2026-01", "", "USD"], ["2026-03", "", "BRL"], ["2026-03", "", "USD"],
        ["2026-04", "", "EUR"],
    ]  # fmt: skip


async def test_the_funnel_export_holds_the_report(
    http: httpx.AsyncClient, gql: GraphQLClient, tokens: Tokens, make_user: UserFactory,
    sessions: SessionFactory,
) -> None:  # fmt: skip
    history = await known_history(make_user, sessions)
    await refresh(gql, tokens.admin)
    params = {"from": FROM, "to": TO, "groupBy": "AGENCY"}
    header, *rows = _rows(await export(http, "quotation-funnel", tokens.admin, **params))
    assert header == [
        "group_key", "group", "step", "count", "conversion_from_previous",
        "conversion_from_created", "median_hours_from_previous",
    ]  # fmt: skip
    andes = str(history.agency_ids["andes"])
    # Andes Travel in 2026: Q1 (completed), Q2 (booked), Q5 (invited only).
    assert [row for row in rows if row[0] == andes] == [
        [andes, "Andes Travel", "CREATED", "3", "", "", ""],
        [andes, "Andes Travel", "INVITED", "3", "1.0", "1.0", "2.0"],
        [andes, "Andes Travel", "OFFERED", "2", "0.6667", "0.6667", "8.0"],
        [andes, "Andes Travel", "PROPOSED", "2", "1.0", "0.6667", "36.0"],
        [andes, "Andes Travel", "APPROVED", "2", "1.0", "0.6667", "9.0"],
        [andes, "Andes Travel", "BOOKED", "2", "1.0", "0.6667", "3.0"],
        [andes, "Andes Travel", "COMPLETED", "1", "0.5", "0.3333", "240.0"],
    ]
    assert {row[1] for row in rows} == {"Andes Travel", "Rio Viagens"}


async def test_text_a_spreadsheet_would_run_is_defused(
    http: httpx.AsyncClient, gql: GraphQLClient, tokens: Tokens, make_user: UserFactory,
    sessions: SessionFactory,
) -> None:  # fmt: skip
    hostile = ["=HYPERLINK(\"http://evil.example\")", "+1+2", "-3+4", "@SUM(A1)", "\tTab",
               "\rReturn", "Plain, \"quoted\"\nlines"]  # fmt: skip
    specs = [
        replace(SPECS[0], name=f"H{n}", destination=destination, created_at=utc(2026, 5, 1 + n))
        for n, destination in enumerate(hostile)
    ]
    await known_history(make_user, sessions, specs=specs)
    await refresh(gql, tokens.admin)
    params = {"from": FROM, "to": TO, "groupBy": "DESTINATION"}
    rows = _rows(await export(http, "quotation-funnel", tokens.admin, **params))[1:]
    labels = {row[1] for row in rows}
    assert labels == {
        "'=HYPERLINK(\"http://evil.example\")", "'+1+2", "'-3+4", "'@SUM(A1)", "'\tTab",
        "'\rReturn", "Plain, \"quoted\"\nlines",
    }  # fmt: skip
    revenue_rows = _rows(await export(http, "revenue", tokens.admin, **params))[1:]
    assert {row[1] for row in revenue_rows} == labels


GROUP_BY_REFUSED = "(a bad groupBy)"


def _expected(report: str, message: str) -> str:
    """A bad ``groupBy`` is answered with the report's own values, or that it takes none."""
    if message != GROUP_BY_REFUSED:
        return message
    choices = REPORTS[report].group_by
    if choices is None:
        return f"The {report} report takes no `groupBy`."
    return f"`groupBy` is one of {', '.join(choices.__members__)}."


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"to": TO}, "`from` is required"),
        ({"from": FROM}, "`to` is required"),
        ({"from": "2026-02-30", "to": TO}, "`from` is not a date"),
        ({"from": "20260101", "to": TO}, "`from` is not a date"),
        ({"from": FROM, "to": "tomorrow"}, "`to` is not a date"),
        ({"from": "2026-02-01", "to": "2026-01-31"}, "`to` is before `from`"),
        ({"from": "1990-01-01", "to": TO}, "at most 3660 days"),
        ({"from": FROM, "to": TO, "groupBy": "WEEKDAY"}, GROUP_BY_REFUSED),
        ({"from": FROM, "to": TO, "groupBy": "month"}, GROUP_BY_REFUSED),
        ({"from": FROM, "to": TO, "limit": "5"}, "Unknown parameter `limit`"),
    ],
)
async def test_bad_parameters_are_refused_clearly(
    http: httpx.AsyncClient, tokens: Tokens, params: dict[str, str], message: str
) -> None:
    for report in REPORTS:
        response = await export(http, report, tokens.admin, **params)
        assert response.status_code == 400, (report, response.text)
        assert _expected(report, message) in response.text, (report, response.text)
        assert "text/csv" not in response.headers["content-type"]


async def test_repeated_parameters_and_unknown_reports_are_refused(
    http: httpx.AsyncClient, tokens: Tokens
) -> None:
    headers = {"Authorization": f"Bearer {tokens.admin}"}
    twice = await http.get(
        "/analytics/revenue.csv?from=2026-01-01&from=2025-01-01&to=2026-12-31", headers=headers
    )
    assert twice.status_code == 400
    assert "`from` is given more than once" in twice.text
    unknown = await export(http, "salaries", tokens.admin, **{"from": FROM, "to": TO})
    assert unknown.status_code == 404
    assert "quotation-funnel" in unknown.text
    # Not for anyone else to probe which reports exist.
    assert (await export(http, "salaries", tokens.others["HOTEL"])).status_code == 403
