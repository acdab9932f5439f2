"""The audit log keeps no secret, whatever the nesting: the same rule as the logs."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DBAPIError

from spirit_tours.core.enums import CompanyKind
from spirit_tours.persistence.accounts import Company
from spirit_tours.persistence.database import SessionFactory
from spirit_tours.persistence.events import AuditEntry
from spirit_tours.persistence.repositories.events import audit_values, audited, record_audit


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


async def test_a_change_audited_in_its_own_statement_redacts_and_audits_only_what_changed(
    sessions: SessionFactory,
) -> None:
    """``audited`` (one statement for a hot path's change and its entry) writes the entry
    ``record_audit`` would, secrets redacted, and none when the change changes nothing."""
    company_id = uuid.uuid4()
    change = (
        insert(Company)
        .values(id=company_id, name=f"Audited {company_id}", kind=CompanyKind.AGENCY)
        .on_conflict_do_nothing()
        .returning(Company.id)
    )
    details = {"password": "hunter2-audit", "provider": {"clientSecret": "s"}, "amount": "1.00"}
    async with sessions() as session, session.begin():
        first = await session.scalar(
            audited(change), audit_values(None, "company.made", "Company", **details)
        )
    async with sessions() as session, session.begin():
        again = await session.scalar(
            audited(change), audit_values(None, "company.made", "Company", **details)
        )
    async with sessions() as session:
        entries = list(
            await session.scalars(select(AuditEntry).where(AuditEntry.object_id == company_id))
        )
    assert (first, again) == (company_id, None)
    assert len(entries) == 1
    entry = entries[0]
    assert (entry.action, entry.object_type, entry.actor_id, entry.actor_role) == (
        "company.made", "Company", None, None,
    )  # fmt: skip
    assert entry.details == {
        "password": "[redacted]",
        "provider": {"clientSecret": "[redacted]"},
        "amount": "1.00",
    }
    assert entry.id != company_id


async def test_an_audited_change_refuses_an_action_too_long_like_record_audit(
    sessions: SessionFactory,
) -> None:
    """The entry's bound values are not cast to the column's type (a cast to ``varchar(n)``
    cuts a longer value short): too long an action is refused, and the change with it."""
    company_id = uuid.uuid4()
    change = (
        insert(Company)
        .values(id=company_id, name=f"Audited {company_id}", kind=CompanyKind.AGENCY)
        .returning(Company.id)
    )
    action = "company." + "x" * 100
    with pytest.raises(DBAPIError):
        async with sessions() as session, session.begin():
            record_audit(session, None, action, "Company", company_id)
    with pytest.raises(DBAPIError):
        async with sessions() as session, session.begin():
            await session.scalar(audited(change), audit_values(None, action, "Company"))
    async with sessions() as session:
        made = await session.scalar(select(Company.id).where(Company.id == company_id))
    assert made is None
