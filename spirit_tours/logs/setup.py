"""One logging configuration for every process: ``spirit-tours`` commands, each uvicorn worker
process (through uvicorn's ``log_config``, which each of them applies when it starts) and the
job workers.

structlog renders every record, stdlib ones included (``ProcessorFormatter``): uvicorn's
access and error lines, saq's, SQLAlchemy's warnings and ours all become one JSON object per
line — ``timestamp`` (ISO 8601, UTC), ``level``, ``logger``, ``event``, ``request_id``,
``trace_id``/``span_id`` and any ``extra`` fields — scrubbed by :func:`redaction.redact`.
``console`` renders the same events for a person reading a terminal (development).
"""

from __future__ import annotations

import logging
import logging.config
from typing import Any, Literal

import structlog
from structlog.typing import EventDict

from spirit_tours.logs.access import add_access_fields
from spirit_tours.logs.context import add_trace_ids
from spirit_tours.logs.redaction import redact

LogFormat = Literal["json", "console"]
# Chatty at INFO: saq writes two lines per job (200,000 lines per 100,000 mails), pgserver one
# per pg_ctl run. Shown at DEBUG.
QUIET_AT_INFO = ("saq", "pgserver")
# SQLAlchemy logs every statement with its parameters (personal data, hashes, sealed values)
# whenever its loggers are enabled for INFO: kept at WARNING even at DEBUG.
QUIET_ALWAYS = ("sqlalchemy.engine", "sqlalchemy.pool")


# Attributes another formatter may have left on a record (``message``, ``asctime``), and
# uvicorn's ``color_message`` extra (the message again, with terminal colours).
_LEFTOVERS = ("message", "asctime", "color_message")


def _drop_formatter_leftovers(logger: Any, method: str, event: EventDict) -> EventDict:
    for key in _LEFTOVERS:
        event.pop(key, None)
    return event


def _shared_processors() -> list[Any]:
    """Run on every event, structlog's and stdlib's, before it is rendered."""
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.ExtraAdder(),
        _drop_formatter_leftovers,
        add_access_fields,
        add_trace_ids,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


def formatter(log_format: LogFormat = "json") -> structlog.stdlib.ProcessorFormatter:
    """The formatter of our handler; also configures structlog's own loggers to end in it."""
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *_shared_processors(),
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if log_format == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_shared_processors(),
        pass_foreign_args=True,  # for access.add_access_fields
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            # Tracebacks as text before scrubbing: an exception's message can hold a secret.
            structlog.processors.format_exc_info,
            structlog.processors.StackInfoRenderer(),
            redact,
            renderer,
        ],
    )


def logging_config(log_format: LogFormat, level: str) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` dict (uvicorn's ``log_config``): one stderr handler on
    the root logger with our formatter; uvicorn's loggers lose their own and propagate."""
    level = level.upper()
    quiet = "DEBUG" if level == "DEBUG" else "WARNING"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "spirit": {"()": "spirit_tours.logs.setup.formatter", "log_format": log_format}
        },
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "spirit",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": {
            **{name: {"level": quiet} for name in QUIET_AT_INFO},
            **{name: {"level": "WARNING"} for name in QUIET_ALWAYS},
            **{
                name: {"handlers": [], "propagate": True}
                for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")
            },
        },
    }


def configure_logging(log_format: LogFormat, level: str) -> None:
    """Configure this process's logging (a command's start, the embedded servers' watchdog)."""
    logging.config.dictConfig(logging_config(log_format, level))
