"""The CSV export of the analytics reports: ``GET /analytics/<report>.csv?from=…&to=…&groupBy=…``.

ADMIN only, with the same bearer token as ``/graphql`` (401 without a valid one, 403 for every
other role). The reports are the registry's (``resolvers/analytics/reports.py``), so a new
report is exported without a line here. Every text cell that a spreadsheet would read as a
formula (starting with = + - @, a tab or a carriage return) is prefixed with ``'``.

An export spends the viewer's rate-limit points like a GraphQL answer (the same counter, one
point per cell, as a field of a GraphQL answer costs one): 429 with ``Retry-After`` once they
are spent for this minute, before any report is read.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from decimal import Decimal
from enum import StrEnum

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from spirit_tours.auth.rate_limit import CostRateLimiter
from spirit_tours.core.analytics import DateRange
from spirit_tours.core.errors import DomainError, ErrorCode
from spirit_tours.graphql_app import bearer_token
from spirit_tours.permissions.classes import IsAdmin
from spirit_tours.permissions.viewer import Viewer
from spirit_tours.resolvers.analytics.reports import REPORTS, Cell, Report, ReportTable
from spirit_tours.services import Services

NO_STORE = {"Cache-Control": "no-store, private", "Pragma": "no-cache"}
PARAMETERS = frozenset({"from", "to", "groupBy"})
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class BadParameterError(Exception):
    """A query parameter the export cannot take: 400 with this message."""


def _refusal(message: str, status: int, headers: dict[str, str] | None = None) -> Response:
    return PlainTextResponse(message, status, {**NO_STORE, **(headers or {})})


def _day(request: Request, name: str) -> date:
    value = request.query_params.get(name)
    if value is None:
        raise BadParameterError(f"`{name}` is required: a date, YYYY-MM-DD.")
    if not _ISO_DATE.fullmatch(value):
        raise BadParameterError(f"`{name}` is not a date: write it YYYY-MM-DD.")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise BadParameterError(f"`{name}` is not a date: write it YYYY-MM-DD.") from None


def _group_by(request: Request, report: Report) -> StrEnum | None:
    value = request.query_params.get("groupBy")
    if value is None:
        return report.default_group_by
    choices = report.group_by
    if choices is None:
        raise BadParameterError(f"The {report.name} report takes no `groupBy`.")
    if value not in choices.__members__:
        names = ", ".join(choices.__members__)
        raise BadParameterError(f"`groupBy` is one of {names}.")
    return choices[value]


def _parameters(request: Request, report: Report) -> tuple[DateRange, StrEnum | None]:
    unknown = sorted(set(request.query_params.keys()) - PARAMETERS)
    if unknown:
        raise BadParameterError(f"Unknown parameter `{unknown[0][:40]}`: use from, to and groupBy.")
    for name in PARAMETERS:
        if len(request.query_params.getlist(name)) > 1:
            raise BadParameterError(f"`{name}` is given more than once.")
    start, end = _day(request, "from"), _day(request, "to")
    try:
        days = DateRange.of(start, end)
    except DomainError as error:
        raise BadParameterError(error.message) from None
    return days, _group_by(request, report)


def safe_cell(value: Cell) -> str:
    """The cell's text; text a spreadsheet would run as a formula gets a leading ``'``."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, int | float):
        return str(value)
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def render_csv(table: ReportTable) -> str:
    """RFC 4180: a header line, then one line per row, CRLF line ends."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(table.columns)
    writer.writerows([safe_cell(cell) for cell in row] for row in table.rows)
    return out.getvalue()


async def _refused(request: Request, services: Services) -> Response | Viewer:
    """The ADMIN asking; else the 401, 403 or 503 to answer."""
    token = bearer_token(request.headers.get("authorization"))
    challenge = {"WWW-Authenticate": 'Bearer realm="Spirit Tours"'}
    if token is None:
        return _refusal("Sign in: send Authorization: Bearer <access token>.", 401, challenge)
    try:
        claims = await services.authenticate(token)
    except DomainError as error:
        if error.code == ErrorCode.SERVICE_UNAVAILABLE:
            retry = {"Retry-After": str(error.details.get("retryAfterSeconds", 30))}
            return _refusal(error.message, 503, retry)
        return _refusal(error.message, 401, challenge)
    if claims.viewer.role not in IsAdmin.roles:
        return _refusal("Forbidden: the analytics exports are for ADMIN only.", 403)
    return claims.viewer


async def _spent(services: Services, viewer: Viewer, points: int) -> Response | None:
    """Charge ``points`` to the viewer's minute; the 429 to answer once it is spent."""
    settings = services.settings
    limiter = CostRateLimiter(
        points_per_minute=settings.rate_limit_points,
        timeout_seconds=settings.rate_limit_redis_timeout_seconds,
    )
    retry_after = await limiter.charge(services.redis, f"user:{viewer.user_id}", points)
    if retry_after is None:
        return None
    message = f"Too many requests; try again in {retry_after} seconds."
    return _refusal(message, 429, {"Retry-After": str(retry_after)})


async def export_report(request: Request) -> Response:
    """One report as a CSV attachment, never cached."""
    services: Services = request.app.state.services
    viewer = await _refused(request, services)
    if isinstance(viewer, Response):
        return viewer
    report = REPORTS.get(request.path_params["report"])
    if report is None:
        return _refusal(f"No such report; there are: {', '.join(sorted(REPORTS))}.", 404)
    try:
        days, group_by = _parameters(request, report)
    except BadParameterError as error:
        return _refusal(str(error), 400)
    spent = await _spent(services, viewer, 1)
    if spent is not None:
        return spent
    async with services.sessions() as session:
        table = await report.table(session, days, group_by)
    await _spent(services, viewer, len(table.rows) * len(table.columns))  # the next one waits
    filename = f"{report.name}_{days.start.isoformat()}_{days.end.isoformat()}.csv"
    headers = {
        **NO_STORE,
        "Content-Disposition": f'attachment; filename="{filename}"',
        "X-Analytics-Truncated": "true" if table.truncated else "false",
    }
    if table.refreshed_at is not None:
        headers["X-Analytics-Refreshed-At"] = table.refreshed_at.isoformat()
    return Response(render_csv(table), 200, headers, media_type="text/csv; charset=utf-8")
