"""Chat in a quotation: posting in a thread and reading it. Who reads which thread is the rule of
``permissions.chat`` (docs/privacy.md §2.5)."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from spirit_tours.core.enums import EventKind
from spirit_tours.core.errors import bad_input, not_found
from spirit_tours.permissions.chat import HOTEL, Thread, party_thread
from spirit_tours.permissions.quotations import Relation
from spirit_tours.permissions.viewer import Viewer
from spirit_tours.persistence.accounts import Hotel
from spirit_tours.persistence.events import ChatMessage
from spirit_tours.persistence.repositories.events import emit_event, record_audit
from spirit_tours.resolvers.quotations.rules import invited_company_ids, load_for

MAX_BODY = 4000


async def thread_for(
    session: AsyncSession,
    viewer: Viewer,
    quotation_id: uuid.UUID,
    hotel_id: uuid.UUID | None,
) -> tuple[Thread, Relation]:
    """The thread a viewer addresses: the owner's, their own hotel company's, or — for the
    operator — the one named by ``hotel_id`` (none: the owner's)."""
    quotation, relation = await load_for(session, viewer, quotation_id)
    thread = party_thread(relation, viewer.company_id, names_hotel=hotel_id is not None)
    if thread is not None:
        return thread, relation
    hotel = await session.get(Hotel, hotel_id)  # the operator named a hotel's thread
    if hotel is None or hotel.company_id not in await invited_company_ids(session, quotation.id):
        raise not_found("Hotel")
    return Thread(HOTEL, hotel.company_id), relation


async def post_message(
    session: AsyncSession,
    viewer: Viewer,
    quotation_id: uuid.UUID,
    hotel_id: uuid.UUID | None,
    body: str,
) -> ChatMessage:
    text = body.strip()
    if not text:
        raise bad_input("body", "Write something.")
    if len(text) > MAX_BODY:
        raise bad_input("body", f"Messages are at most {MAX_BODY} characters.")
    thread, _ = await thread_for(session, viewer, quotation_id, hotel_id)
    message = ChatMessage(
        id=uuid.uuid4(),
        quotation_id=quotation_id,
        thread=thread.kind,
        hotel_company_id=thread.hotel_company_id,
        author_id=viewer.user_id,
        body=text,
    )
    session.add(message)
    record_audit(session, viewer, "chat.message", "Quotation", quotation_id,
                 message_id=str(message.id), thread=thread.kind, body=text)  # fmt: skip
    emit_event(session, EventKind.MESSAGE_POSTED, "Quotation", quotation_id, message_id=message.id)
    return message
