"""The audit log keeps no secret, whatever the nesting: the same rule as the logs."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from spirit_tours.persistence.database import SessionFactory
from spirit_tours.persistence.events import AuditEntry
from spirit_tours.persistence.repositories.events import record_audit


async def test_secrets_in_audit_details_are_redacted_at_any_depth(
    sessions: SessionFactory,
) -> None:
    object_id = uuid.uuid4()
    async with sessions() as session, session.begin():
        record_audit(
            session, None, "payment.updated", "Payment", object_id,
            password="hunter2-audit", refreshToken="r-token", cardNumber="4242424242424242",
            provider={"clientSecret": "pi_secret_x", "X-Api-Key": "k-1", "status": "ok"},
            amount="120.00",
        )  # fmt: skip
    async with sessions() as session:
        details = (
            await session.scalars(
                select(AuditEntry.details).where(AuditEntry.object_id == object_id)
            )
        ).one()
    assert details == {
        "password": "[redacted]",
        "refreshToken": "[redacted]",
        "cardNumber": "[redacted]",
        "provider": {"clientSecret": "[redacted]", "X-Api-Key": "[redacted]", "status": "ok"},
        "amount": "120.00",
    }
