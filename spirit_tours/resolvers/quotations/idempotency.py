"""``createQuotation`` retried after a lost response must not ask for a second quotation.

The optional ``idempotencyKey`` is unique per owner (the creating user): the same key with the
same input returns the quotation it created, the same key with other input is CONFLICT
(``field: idempotencyKey``). Concurrent retries race on the unique constraint
``uq_quotations_idempotency``; the loser reads the winner's quotation once it commits.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from spirit_tours.core.idempotency import idempotency_key, require_same_request
from spirit_tours.permissions.viewer import Viewer
from spirit_tours.persistence.quotations import Quotation


async def created_before(
    session: AsyncSession, viewer: Viewer, key: str, digest: str
) -> Quotation | None:
    """The quotation this key already created (None: the key is new)."""
    idempotency_key(key)
    found = await session.scalar(
        select(Quotation).where(
            Quotation.owner_user_id == viewer.user_id, Quotation.idempotency_key == key
        )
    )
    if found is not None:
        require_same_request(found.request_hash, digest, "quotation", quotationId=str(found.id))
    return found


async def insert_once(
    session: AsyncSession, viewer: Viewer, quotation: Quotation, key: str, digest: str
) -> Quotation | None:
    """Insert the quotation under its key; None when a concurrent request with the same key
    inserted first (then :func:`created_before` returns that one)."""
    quotation.idempotency_key = key
    quotation.request_hash = digest
    try:
        async with session.begin_nested():
            session.add(quotation)
            await session.flush()
    except IntegrityError as error:
        if "uq_quotations_idempotency" not in str(error.orig):
            raise
        return None
    return quotation
