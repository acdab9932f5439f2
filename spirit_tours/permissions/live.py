"""Live privacy (docs/privacy.md §2.3 and §2.4): who may enter which room, which stored event a
subscriber receives and in what form, who sees whom present, who gets which inbox entry.

Rooms only route: every stored event is resolved (on replay too) through the same types, hence
the same field rules, as a query, once per group of subscribers whose viewer the rules read
alike (:func:`shared_viewer`). What a type cannot express is
decided here: whether an event about an offer, an invitation or a competitor's move reaches a
subscriber at all, since even an event with every price hidden tells *when* a competitor acted.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from decimal import Decimal
from enum import Enum

from spirit_tours.core.enums import EventKind, NotificationKind, Role
from spirit_tours.permissions.quotations import (
    OfferFacts,
    QuotationScope,
    Relation,
    revision_moves_rank,
)
from spirit_tours.permissions.viewer import Viewer


class OwnRoom(Enum):
    """The room of a viewer's ``companyEvents``."""

    OPERATOR = "OPERATOR"  # ADMIN and GUIDE: the operator's people
    COMPANY = "COMPANY"  # an agency's or a hotel's staff: their company's room
    CLIENT = "CLIENT"  # a traveller without a company: their own room


def own_room(viewer: Viewer) -> OwnRoom:
    if viewer.role in (Role.ADMIN, Role.GUIDE):
        return OwnRoom.OPERATOR
    if viewer.company_id is None:
        return OwnRoom.CLIENT
    return OwnRoom.COMPANY


#: A user id nobody has: what the live rules see of the viewer where they never read it.
NOBODY = uuid.UUID(int=0)


def shared_viewer(viewer: Viewer) -> Viewer:
    """The viewer as far as the privacy rules read it: live events are rendered once per
    distinct value (with the same document and variables) and the bytes shared by everyone
    having it. The rules read the role and the company of everyone, and the user id of a
    client (ownership without a company) and of a guide (assignments, time off) only; elsewhere
    the user id becomes :data:`NOBODY`, so that a rule reading it anyway would hide (it matches
    no one), never share what one user alone may see."""
    if viewer.role in (Role.CLIENT, Role.GUIDE):
        return viewer
    return Viewer(user_id=NOBODY, role=viewer.role, company_id=viewer.company_id)


def enters_quotation_room(relation: Relation) -> bool:
    """Anyone who may see the quotation; the room closes (NOT_FOUND) once that stops, e.g. for
    a hotel whose invitation was taken back."""
    return relation != Relation.NONE


def watches_hotel(viewer: Viewer, hotel_company_id: uuid.UUID) -> bool:
    """A hotel's room: its company's staff and ADMIN; anyone else gets NOT_FOUND."""
    return viewer.role == Role.ADMIN or (
        viewer.company_id is not None and viewer.company_id == hotel_company_id
    )


class OfferNews(Enum):
    """What a subscriber learns of an ``offer.*`` event."""

    OFFER = "OFFER"  # the offer itself, as its OfferScope shows it
    COMPETITION = "COMPETITION"  # only "competition.changed" (count and own rank may move)
    COMPETITION_IF_RANK_MOVES = "COMPETITION_IF_RANK_MOVES"  # see revision_changes_rank
    NOTHING = "NOTHING"


def offer_news(scope: QuotationScope, offer: OfferFacts, kind: str) -> OfferNews:
    """Those who may list the offer get it; a competitor in RANK_ONLY hears that the
    competition changed (an offer more or fewer changes the count), of a revision only when it
    moves their rank; in HIDDEN nothing at all."""
    if scope.lists_offer(offer):
        return OfferNews.OFFER
    if not scope.sees_offer_count:
        return OfferNews.NOTHING
    if kind == "offer.revised":
        return OfferNews.COMPETITION_IF_RANK_MOVES
    return OfferNews.COMPETITION


def revision_changes_rank(
    mine: Iterable[OfferFacts], previous: Decimal | None, current: Decimal | None
) -> bool:
    """Whether a competitor's revision reaches a RANK_ONLY hotel: only when it moves the rank of
    one of its active offers. An event stored before revisions carried their prices counts."""
    if previous is None or current is None:
        return True
    return revision_moves_rank(mine, previous, current)


def sees_event_about_hotels(
    scope: QuotationScope, hotel_company_ids: Sequence[uuid.UUID | None]
) -> bool:
    """A quotation event that names hotels (invited, declined, removed) reaches a viewer who may
    learn of the invitation of one of them; an event naming none reaches everyone in the room.
    ``None`` stands for a named hotel that no longer exists."""
    if not hotel_company_ids:
        return True
    return any(
        company is not None and scope.sees_invitation(company) for company in hotel_company_ids
    )


def sees_presence(relation: Relation, present_role: str | None) -> bool:
    """Presence in a quotation's room: the operator sees everyone; a hotel or the owner sees
    operator staff only, never who else (which competitor) is there."""
    return relation == Relation.ADMIN or present_role == Role.ADMIN.value


class Audience(Enum):
    """Whose inbox an event lands in."""

    OPERATOR = "OPERATOR"  # every active ADMIN
    OWNER = "OWNER"  # the quotation's or booking's owner: the agency's users, or the client
    INVITED_HOTELS = "INVITED_HOTELS"  # the HOTEL users of the hotels the event names
    GUIDE = "GUIDE"  # the guide the event names
    PAYER = "PAYER"  # the user who paid
    THREAD = "THREAD"  # the thread's party and the operator, never its author


#: event kind → (notification kind users see, who gets it). A competitor never gets an entry
#: about another hotel's offer: new offers go to the operator only.
NOTIFICATIONS: dict[str, tuple[NotificationKind, Audience]] = {
    EventKind.QUOTATION_HOTELS_INVITED: (
        NotificationKind.INVITATION_RECEIVED,
        Audience.INVITED_HOTELS,
    ),
    EventKind.OFFER_SUBMITTED: (NotificationKind.OFFER_RECEIVED, Audience.OPERATOR),
    EventKind.QUOTATION_PROPOSED: (NotificationKind.PROPOSAL_READY, Audience.OWNER),
    EventKind.BOOKING_CONFIRMED: (NotificationKind.BOOKING_CONFIRMED, Audience.OWNER),
    EventKind.BOOKING_CANCELLED: (NotificationKind.BOOKING_CANCELLED, Audience.OWNER),
    EventKind.BOOKING_GUIDE_ASSIGNED: (NotificationKind.GUIDE_ASSIGNED, Audience.GUIDE),
    EventKind.BOOKING_PAYMENT_REMINDER_DUE: (NotificationKind.PAYMENT_REMINDER, Audience.OWNER),
    EventKind.PAYMENT_SUCCEEDED: (NotificationKind.PAYMENT_RECEIVED, Audience.PAYER),
    EventKind.MESSAGE_POSTED: (NotificationKind.MESSAGE_RECEIVED, Audience.THREAD),
}
