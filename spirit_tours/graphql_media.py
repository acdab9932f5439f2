"""GraphQL over HTTP (https://graphql.github.io/graphql-over-http/draft/): which media type an
answer has, and its status code.

A client that accepts ``application/graphql-response+json`` (Apollo Client 4 asks for it
first) gets it, with status codes that say what happened: 200 once the operation ran (its
field errors travel beside the data), 4xx or 5xx for a request error — one raised before
execution (a parse or validation error, a variable that does not coerce, a refused cost or
rate) — whose answer has no ``data`` entry. Every other client (``application/json``, ``*/*``,
no ``Accept`` at all) gets ``application/json``, where the spec keeps the legacy 200 for every
well-formed request; its request errors carry no ``data`` either (the GraphQL spec: "if an error
was raised before execution begins, the data entry should not be present").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from spirit_tours.core.errors import ErrorCode

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
JSON = "application/json"

# The media ranges that mean each type we serve, the specific before the wildcards.
_SERVES = {
    GRAPHQL_RESPONSE_JSON: GRAPHQL_RESPONSE_JSON,
    JSON: JSON,
    "application/*": JSON,
    "*/*": JSON,
}

# A request error's status with application/graphql-response+json, by extensions.code
# (400 for any other: the request is not one the server can execute).
_STATUS_BY_CODE = {
    ErrorCode.UNAUTHENTICATED.value: 401,
    ErrorCode.FORBIDDEN.value: 403,
    ErrorCode.PERSISTED_QUERY_NOT_FOUND.value: 404,
    ErrorCode.METHOD_NOT_ALLOWED.value: 405,
    ErrorCode.RATE_LIMITED.value: 429,
    ErrorCode.INTERNAL_SERVER_ERROR.value: 500,
    ErrorCode.SERVICE_UNAVAILABLE.value: 503,
}


def response_media_type(accept: str | None) -> str:
    """The media type of the answer to a request with this ``Accept`` header: the one of ours
    it ranks highest (by ``q``, then by order), ``application/json`` when it names neither —
    the spec's legacy default, which every client reads."""
    best: tuple[float, int, int] | None = None
    chosen = JSON
    for index, media_range in enumerate((accept or "").split(",")):
        name, *params = (part.strip().lower() for part in media_range.split(";"))
        served = _SERVES.get(name)
        quality = _quality(params)
        if served is None or quality <= 0:
            continue
        # Higher q first; at equal q a type named over a wildcard, then the first listed.
        rank = (quality, int(name == served), -index)
        if best is None or rank > best:
            best, chosen = rank, served
    return chosen


def _quality(params: Sequence[str]) -> float:
    for param in params:
        key, _, value = param.partition("=")
        if key.strip().lower() == "q":
            try:
                return min(max(float(value.strip()), 0.0), 1.0)
            except ValueError:
                return 0.0
    return 1.0


def is_request_error(response: Mapping[str, object]) -> bool:
    """Whether this GraphQL response reports a request error: errors, and no ``data``."""
    return "data" not in response and bool(response.get("errors"))


def error_status(errors: Sequence[object]) -> int:
    """The status of a request error with application/graphql-response+json: the first
    error's code decides, a client error before a server error (the client can fix it)."""
    statuses = [_STATUS_BY_CODE.get(_code(error) or "", 400) for error in errors] or [400]
    client = [status for status in statuses if status < 500]
    return client[0] if client else statuses[0]


def retry_after(errors: Sequence[object]) -> int | None:
    """The ``retryAfterSeconds`` of the first error that has one (RATE_LIMITED,
    SERVICE_UNAVAILABLE): the ``Retry-After`` of a 429 or 503."""
    for error in errors:
        extensions = error.get("extensions") if isinstance(error, Mapping) else None
        seconds = extensions.get("retryAfterSeconds") if isinstance(extensions, Mapping) else None
        if isinstance(seconds, int) and not isinstance(seconds, bool):
            return seconds
    return None


def _code(error: object) -> str | None:
    extensions = error.get("extensions") if isinstance(error, Mapping) else None
    code = extensions.get("code") if isinstance(extensions, Mapping) else None
    return code if isinstance(code, str) else None
