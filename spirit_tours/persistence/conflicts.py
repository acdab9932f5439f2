"""Constraint refusals as the API's CONFLICT: the database is what holds when two requests race
past the checks made before writing."""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from spirit_tours.core.errors import DomainError, ErrorCode


async def flush_or_conflict(session: AsyncSession, message: str, **details: Any) -> None:
    """Flush; a unique or exclusion constraint that refuses the write becomes a CONFLICT.

    The Python checks before it give the precise message; the constraint is what holds when
    two requests race past them.
    """
    try:
        await session.flush()
    except IntegrityError as error:
        if getattr(error.orig, "sqlstate", None) in (
            "23505",
            "23P01",
        ):  # unique_violation, exclusion_violation
            raise DomainError(ErrorCode.CONFLICT, message, **details) from error
        raise
