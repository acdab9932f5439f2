"""Chat privacy (docs/privacy.md §2.5): a quotation's chat runs in threads between the operator
and one party, the owner (``OWNER``) or one invited hotel company (``HOTEL``). A message, and a
typing signal, is seen by its thread's participants and ADMIN only: a hotel never learns that a
competitor talks with the operator, the owner never reads a hotel's thread."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from spirit_tours.core.enums import ChatThread
from spirit_tours.core.errors import forbidden
from spirit_tours.permissions.quotations import Relation

OWNER = ChatThread.OWNER
HOTEL = ChatThread.HOTEL


@dataclass(frozen=True)
class Thread:
    """``OWNER``, or ``HOTEL`` with the hotel company it is with."""

    kind: str
    hotel_company_id: uuid.UUID | None = None


def thread_includes(
    thread: Thread, relation: Relation, viewer_company_id: uuid.UUID | None
) -> bool:
    """Whether a viewer (their relation to the quotation, their company) reads the thread:
    its messages, its typing signals, its inbox notifications."""
    if relation == Relation.ADMIN:
        return True
    if thread.kind == OWNER:
        return relation == Relation.OWNER
    return relation == Relation.INVITED_HOTEL and viewer_company_id == thread.hotel_company_id


def party_thread(
    relation: Relation, viewer_company_id: uuid.UUID | None, *, names_hotel: bool
) -> Thread | None:
    """The one thread a party addresses: the owner's own, or the hotel company's own (a hotel
    naming another hotel still gets its own). The owner talks with the operator only: naming a
    hotel is FORBIDDEN. None for the operator, who names the thread (no hotel: the owner's)."""
    if relation == Relation.OWNER:
        if names_hotel:
            raise forbidden("The owner talks with the operator only.")
        return Thread(OWNER)
    if relation == Relation.INVITED_HOTEL:
        return Thread(HOTEL, viewer_company_id)
    if not names_hotel:
        return Thread(OWNER)
    return None
