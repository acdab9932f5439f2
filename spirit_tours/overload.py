"""Overload answered as such: a request of a plain HTTP route (webhooks, payment pages, e-mail
links, ops) that waited the pool timeout for a database connection gets 503 with Retry-After
and the API's SERVICE_UNAVAILABLE shape, instead of a 500. (GraphQL operations map the same
timeout in ``schema/errors.py``.)"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from spirit_tours.core.errors import ErrorCode

log = logging.getLogger("spirit_tours.core.errors")

RETRY_AFTER_SECONDS = 5


async def pool_exhausted(request: Request, error: Exception) -> Response:
    log.warning("database pool exhausted at %s: %s", request.url.path, error)
    return JSONResponse(
        {
            "errors": [
                {
                    "message": "The service is busy; try again shortly.",
                    "extensions": {
                        "code": ErrorCode.SERVICE_UNAVAILABLE.value,
                        "retryAfterSeconds": RETRY_AFTER_SECONDS,
                    },
                }
            ]
        },
        status_code=503,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )
