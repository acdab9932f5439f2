"""Scheduled mail and the quotation expiry: saq cron jobs on the maintenance queue.

Each job may run on several workers or twice in a row: a message's ``source_key`` (the
quotation and hotel user, the user and year) makes it queued once.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, extract, or_, select

from spirit_tours.core.clock import now_utc, today_utc
from spirit_tours.core.enums import InvitationStatus, QuotationStatus
from spirit_tours.emails.queueing import Queued, enqueue_messages, queue_email
from spirit_tours.emails.triggers import FrontEnd, quotation_reference
from spirit_tours.permissions.audiences import hotel_staff
from spirit_tours.persistence.accounts import User
from spirit_tours.persistence.quotations import HotelInvitation, Quotation

WARNING_LEAD = timedelta(hours=24)


async def _queue_and_dispatch(ctx: dict[str, Any], queued: list[Queued]) -> int:
    timeout = ctx["settings"].email_send_timeout_seconds
    await enqueue_messages(ctx["email_queues"], queued, timeout_seconds=timeout)
    return len(queued)


async def deadline_warnings(ctx: dict[str, Any], *, now: datetime | None = None) -> int:
    """Warn invited hotels that have not answered yet, 24 hours before the offer deadline."""
    now = now or now_utc()
    links: FrontEnd = ctx["front_end"]
    queued: list[Queued] = []
    async with ctx["sessions"]() as session, session.begin():
        rows = await session.execute(
            select(Quotation, User)
            .join(HotelInvitation, HotelInvitation.quotation_id == Quotation.id)
            .join(User, User.company_id == HotelInvitation.hotel_company_id)
            .where(
                Quotation.status == QuotationStatus.OPEN,
                Quotation.offer_deadline > now,
                Quotation.offer_deadline <= now + WARNING_LEAD,
                HotelInvitation.status.in_((InvitationStatus.INVITED, InvitationStatus.VIEWED)),
                hotel_staff(),
            )
        )
        for quotation, user in rows:
            message = await queue_email(
                session,
                template="deadline_warning",
                to=user.email,
                locale=user.locale.value,
                context={
                    "name": user.full_name,
                    "reference": quotation_reference(quotation.id),
                    "deadline": quotation.offer_deadline,
                    "quotation_url": links.offer(quotation.id),
                },
                message_id_domain=ctx["message_id_domain"],
                user_id=user.id,
                source_key=f"deadline:{quotation.id}:{quotation.offer_deadline:%Y%m%d%H%M}:{user.id}",
            )
            if message is not None:
                queued.append(message)
    return await _queue_and_dispatch(ctx, queued)


def _birthdays(today: date) -> Any:
    born_today = and_(
        extract("month", User.birth_date) == today.month,
        extract("day", User.birth_date) == today.day,
    )
    if today.month == 2 and today.day == 28 and not _is_leap(today.year):
        leaplings = and_(
            extract("month", User.birth_date) == 2, extract("day", User.birth_date) == 29
        )
        return or_(born_today, leaplings)
    return born_today


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


async def birthday_mail(ctx: dict[str, Any], *, today: date | None = None) -> int:
    """Birthday greetings (marketing: the suppression list applies); 29 February on the 28th."""
    today = today or today_utc()
    links: FrontEnd = ctx["front_end"]
    queued: list[Queued] = []
    async with ctx["sessions"]() as session, session.begin():
        users = await session.scalars(
            select(User).where(User.is_active, User.birth_date.is_not(None), _birthdays(today))
        )
        for user in users:
            message = await queue_email(
                session,
                template="birthday",
                to=user.email,
                locale=user.locale.value,
                context={"name": user.full_name, "offers_url": links.offers()},
                message_id_domain=ctx["message_id_domain"],
                user_id=user.id,
                source_key=f"birthday:{today.year}:{user.id}",
            )
            if message is not None:
                queued.append(message)
    return await _queue_and_dispatch(ctx, queued)
