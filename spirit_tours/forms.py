"""Small HTML forms posted to plain pages (the offline checkout, unsubscribe, preferences).

Parsed by hand: Starlette's form parser needs python-multipart, a dependency for a few
buttons. The body is capped while read, and anything unreadable is an empty form.
"""

from __future__ import annotations

from urllib.parse import parse_qs

from starlette.requests import Request

MAX_FORM_BYTES = 4096


async def read_form(request: Request, max_bytes: int = MAX_FORM_BYTES) -> dict[str, str]:
    """The url-encoded fields (first value of each); {} when too large or not text."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_bytes:
            return {}
    try:
        return {key: values[0] for key, values in parse_qs(body.decode()).items()}
    except UnicodeDecodeError:
        return {}
