"""uvicorn's access line as fields: ``method``, ``path``, ``status``, ``client``, besides its
message, so that the line can be queried like any other (the path is scrubbed like the
message: a token in a link's query string is not kept)."""

from __future__ import annotations

import logging
from typing import Any

from structlog.typing import EventDict

ACCESS_LOGGER = "uvicorn.access"


def add_access_fields(logger: Any, method: str, event: EventDict) -> EventDict:
    """structlog processor for uvicorn's access records (args: client, method, path with
    query, HTTP version, status; ``ProcessorFormatter(pass_foreign_args=True)`` passes them).
    Other records' arguments are dropped: their message already holds them."""
    args = event.pop("positional_args", None)
    record = event.get("_record")
    if not isinstance(record, logging.LogRecord) or record.name != ACCESS_LOGGER:
        return event
    if isinstance(args, tuple) and len(args) == 5:
        client, verb, path, version, status = args
        event.update(client=client, method=verb, path=path, http_version=version, status=status)
    return event
