"""Claims and outcomes of delivery attempts, written in batches.

Every running send job of a process claims its message here and records the outcome here;
the calls that arrive while a statement runs go together in the next one (``Coalescer``), so
a busy worker spends one round trip and one transaction per batch, not two per message.

The lease rules are those of a single claim: only a QUEUED row, or a SENDING one whose lease
is over, is claimed; its attempt is counted and its lease set from the database's clock, and
committed before anything is sent (each statement runs in autocommit: its own transaction,
committed when it returns, without a BEGIN and a COMMIT round trip around it); an outcome is
written only while the claim is still ours (SENDING, same attempt), and that write is shielded
from cancellation and retried on a database hiccup — losing it after the SMTP server took the
message would send it again.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
    Boolean,
    DateTime,
    Float,
    Integer,
    Table,
    Text,
    Uuid,
    and_,
    bindparam,
    case,
    cast,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from spirit_tours.core.batching import Coalescer
from spirit_tours.core.enums import EmailStatus
from spirit_tours.emails.render import template_info
from spirit_tours.persistence.emails import EmailMessage, EmailSuppression

log = logging.getLogger(__name__)

_RECORD_TRIES = 3


@dataclass(frozen=True, slots=True)
class Claim:
    """One attempt at one message: the row as claimed (its ``attempts`` names the attempt)."""

    row: EmailMessage
    suppressed: bool  # marketing mail its recipient opted out of: recorded, never sent


@dataclass(frozen=True, slots=True)
class Outcome:
    """What an attempt writes to its row. ``None`` keeps a column as it is, except
    ``last_error``, which is written as given unless ``keep_error``."""

    status: EmailStatus
    sent_at: datetime | None = None
    failed_at: datetime | None = None
    scheduled_at: datetime | None = None
    links: list[str] | None = None
    last_error: str | None = None
    keep_error: bool = False
    context: dict[str, Any] | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class _Request:
    message_id: uuid.UUID
    lease_seconds: float


def _table_of(model: type[EmailMessage]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


def _array(name: str, item: Any) -> Any:
    return cast(bindparam(name, type_=ARRAY(item)), ARRAY(item))


_requested = (
    func.unnest(_array("claim_ids", Uuid()), _array("claim_leases", Float()))
    .table_valued("id", "seconds")
    .render_derived()
)
_now = func.now()  # one clock (the database's) for every worker's leases
_messages = _table_of(EmailMessage)
# Core statements on a connection: the ORM's bulk-update machinery cost more CPU per batch
# than the rows themselves.
CLAIM = (
    update(_messages)
    .where(
        EmailMessage.id == _requested.c.id,
        or_(
            EmailMessage.status == EmailStatus.QUEUED,
            and_(EmailMessage.status == EmailStatus.SENDING, EmailMessage.lease_until < _now),
        ),
    )
    .values(
        status=EmailStatus.SENDING,
        attempts=EmailMessage.attempts + 1,
        lease_until=_now + func.make_interval(0, 0, 0, 0, 0, 0, _requested.c.seconds),
    )
    .returning(*_messages.columns)
)

_OUTCOME_COLUMNS = (
    *("id", "attempts", "status", "sent_at", "failed_at", "scheduled_at"),
    *("links", "last_error", "keep_error", "context"),
)
_outcomes = (
    func.unnest(
        _array("outcome_ids", Uuid()),
        _array("outcome_attempts", Integer()),
        _array("outcome_statuses", Text()),
        _array("outcome_sent_at", DateTime(timezone=True)),
        _array("outcome_failed_at", DateTime(timezone=True)),
        _array("outcome_scheduled_at", DateTime(timezone=True)),
        _array("outcome_links", Text()),
        _array("outcome_errors", Text()),
        _array("outcome_keep_errors", Boolean()),
        _array("outcome_contexts", EmailMessage.__table__.c.context.type),
    )
    .table_valued(*_OUTCOME_COLUMNS)
    .render_derived()
)
RECORD = (
    update(_messages)
    .where(
        EmailMessage.id == _outcomes.c.id,
        EmailMessage.status == EmailStatus.SENDING,
        EmailMessage.attempts == _outcomes.c.attempts,
    )
    .values(
        status=cast(_outcomes.c.status, EmailMessage.__table__.c.status.type),
        lease_until=None,
        sent_at=func.coalesce(_outcomes.c.sent_at, EmailMessage.sent_at),
        failed_at=func.coalesce(_outcomes.c.failed_at, EmailMessage.failed_at),
        scheduled_at=func.coalesce(_outcomes.c.scheduled_at, EmailMessage.scheduled_at),
        links=func.coalesce(cast(_outcomes.c.links, JSONB), EmailMessage.links),
        last_error=case(
            (_outcomes.c.keep_error, EmailMessage.last_error), else_=_outcomes.c.last_error
        ),
        context=func.coalesce(_outcomes.c.context, EmailMessage.context),
    )
)


class ClaimBook:
    """The claims and outcomes of one process's delivery attempts, batched."""

    def __init__(self, engine: AsyncEngine, *, max_batch: int = 500) -> None:
        self._engine = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._claims: Coalescer[_Request, Claim | None] = Coalescer(
            self._claim_batch, max_batch=max_batch
        )
        self._records: Coalescer[tuple[EmailMessage, Outcome], None] = Coalescer(
            self._record_batch, max_batch=max_batch
        )

    async def claim(self, message_id: uuid.UUID, lease_seconds: float) -> Claim | None:
        """The message for one attempt, or None when it is not QUEUED (sent, dead, claimed
        by a live lease)."""
        return await self._claims.submit(_Request(message_id, lease_seconds))

    async def record(self, claim: Claim, outcome: Outcome) -> None:
        """Write the attempt's outcome if the claim is still ours. Shielded: a cancelled
        caller (a timeout, a stopping worker) does not take the write down with it."""
        await asyncio.shield(self._records.submit((claim.row, outcome)))

    async def _claim_batch(self, requests: list[_Request]) -> list[Claim | None]:
        leases: dict[uuid.UUID, float] = {}
        for request in requests:  # one claim per message: a duplicate gets None below
            leases.setdefault(request.message_id, request.lease_seconds)
        params = {"claim_ids": list(leases), "claim_leases": list(leases.values())}
        async with self._engine.connect() as connection:
            found = (await connection.execute(CLAIM, params)).mappings().all()
            rows = [EmailMessage(**row) for row in found]
            suppressed = await _suppressed(connection, rows)
        claimed = {row.id: row for row in rows}
        answers: list[Claim | None] = []
        for request in requests:
            row = claimed.pop(request.message_id, None)
            key = (row.recipient.lower(), row.template) if row is not None else None
            answers.append(None if row is None else Claim(row, key in suppressed))
        return answers

    async def _record_batch(self, items: list[tuple[EmailMessage, Outcome]]) -> list[None]:
        params = _record_params(items)
        for attempt in range(_RECORD_TRIES):
            try:
                async with self._engine.connect() as connection:
                    await connection.execute(RECORD, params)
                break
            except (OperationalError, InterfaceError) as error:
                if attempt == _RECORD_TRIES - 1:
                    raise
                log.warning("recording %d e-mail outcomes failed, retrying: %s", len(items), error)
                await asyncio.sleep(0.5 * (attempt + 1))
        return [None] * len(items)


async def _suppressed(
    connection: AsyncConnection, rows: Sequence[EmailMessage]
) -> set[tuple[str, str]]:
    """(address, template) of the claimed marketing mail whose recipient opted out."""
    marketing = [row for row in rows if template_info(row.template).marketing]
    wanted = {(row.recipient.lower(), row.template) for row in marketing}
    if not wanted:
        return set()
    found = await connection.execute(
        select(EmailSuppression.email, EmailSuppression.category).where(
            EmailSuppression.email.in_({email for email, _ in wanted})
        )
    )
    return wanted & {(email, category) for email, category in found}


def _record_params(items: list[tuple[EmailMessage, Outcome]]) -> dict[str, list[Any]]:
    outcomes = [outcome for _, outcome in items]
    return {
        "outcome_ids": [row.id for row, _ in items],
        "outcome_attempts": [row.attempts for row, _ in items],
        "outcome_statuses": [o.status.value for o in outcomes],
        "outcome_sent_at": [o.sent_at for o in outcomes],
        "outcome_failed_at": [o.failed_at for o in outcomes],
        "outcome_scheduled_at": [o.scheduled_at for o in outcomes],
        "outcome_links": [None if o.links is None else json.dumps(o.links) for o in outcomes],
        "outcome_errors": [o.last_error for o in outcomes],
        "outcome_keep_errors": [o.keep_error for o in outcomes],
        "outcome_contexts": [o.context for o in outcomes],
    }
