"""Refusals at the HTTP edge, as JSON in the shape of GraphQL errors (``extensions.code``)."""

from __future__ import annotations

import json
from typing import Any

from spirit_tours.core.errors import ErrorCode


def edge_error_body(message: str, reason: str, **details: Any) -> bytes:
    """``{"errors": [{"message", "extensions": {"code": "BAD_REQUEST", "reason", …}}]}``."""
    extensions = {"code": ErrorCode.BAD_REQUEST.value, "reason": reason, **details}
    return json.dumps({"errors": [{"message": message, "extensions": extensions}]}).encode()
