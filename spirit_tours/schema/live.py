"""Subscriptions: one per kind of room, plus the viewer's inbox.

Every event is resolved through the same types, hence the same field permission classes, as
queries; whether an event reaches a subscriber at all is decided by ``permissions.live`` and
``permissions.chat`` (docs/privacy.md §2.3 to §2.5): a competing hotel never receives another
hotel's price, identity, message or presence. Stored events carry a ``cursor``; pass the last
one as ``after`` within 60 s of disconnecting to receive what you missed, exactly once, then
live events.

A room subscription's resolver only starts it: it checks access, listens, replays what the
client missed and hands the operation to the fan-out (``realtime.handoff``), which renders each
event once per group of subscribers sharing a document, variables and privacy identity
(``schema.live_render``) and writes the same bytes to each. Starts and replays go through
``services.live_limits``, so subscriptions never hold more than their share of the pool.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator
from typing import Annotated

import strawberry
from starlette.websockets import WebSocket

from spirit_tours.context import Context
from spirit_tours.core.errors import DomainError, ErrorCode, not_found
from spirit_tours.permissions.classes import IsAuthenticated
from spirit_tours.permissions.live import OwnRoom, enters_quotation_room, own_room, watches_hotel
from spirit_tours.permissions.viewer import Viewer
from spirit_tours.realtime import rooms
from spirit_tours.realtime.handoff import LiveHandoff
from spirit_tours.realtime.hub import StoredEvent, decode_cursor
from spirit_tours.resolvers.quotations.rules import load_for
from spirit_tours.schema.chat import unacknowledged
from spirit_tours.schema.ids import parse_id
from spirit_tours.schema.live_events import EventView
from spirit_tours.schema.live_render import (
    ANNOUNCEMENTS,
    COMPANY_EVENTS,
    HOTEL_EVENTS,
    QUOTATION_EVENTS,
    LiveQuery,
)
from spirit_tours.schema.live_types import (
    AnnouncementPosted,
    CompanyRoomEvent,
    Notification,
    QuotationRoomEvent,
)
from spirit_tours.schema.mail.subscriptions import EmailSubscriptions

Info = strawberry.Info[Context, None]


def _handoff(info: Info) -> LiveHandoff:
    handoff = info.root_value
    if not isinstance(handoff, LiveHandoff):
        raise DomainError(
            ErrorCode.BAD_REQUEST, "Live subscriptions are served over the WebSocket at /graphql."
        )
    return handoff


async def _start(
    info: Info,
    field_name: str,
    room: str,
    after: str | None,
    *,
    quotation_id: uuid.UUID | None = None,
    present: bool = False,
) -> None:
    """Listen in ``room``, replay what the client missed since ``after``, hand over."""
    handoff = _handoff(info)
    viewer = info.context.require_viewer()
    request = info.context.request
    assert isinstance(request, WebSocket)
    query = LiveQuery.of(field_name, room, viewer, handoff.operation, request, quotation_id)
    last = decode_cursor(after) if after is not None else None
    handoff.listen(room, query, viewer)
    missed: list[StoredEvent] = []
    if last is not None:
        async with info.context.services.live_limits.start():
            missed = await info.context.services.hub.replay(room, last)
    handoff.accept(missed, (room, viewer) if present else None)


def _company_room(viewer: Viewer) -> str:
    room = own_room(viewer)
    if room == OwnRoom.OPERATOR:
        return rooms.OPERATOR
    if room == OwnRoom.CLIENT or viewer.company_id is None:
        return rooms.client_room(viewer.user_id)
    return rooms.company_room(viewer.company_id)


RESUME_AFTER = strawberry.argument(
    description="The cursor of the last event received, to resume within 60 s of a "
    "disconnect: the missed events are replayed once, then live ones. Null: live events only."
)


@strawberry.type(
    description="Live events over the WebSocket at /graphql (graphql-transport-ws, the access "
    "token in connection_init), each filtered for its subscriber by the price-privacy rules."
)
class Subscription(EmailSubscriptions):
    @strawberry.subscription(
        permission_classes=[IsAuthenticated],
        description="A quotation's room: status, offers (per the price-privacy rules), your "
        "thread's messages, typing and presence.",
    )
    async def quotation_events(
        self,
        info: Info,
        quotation_id: Annotated[
            strawberry.ID,
            strawberry.argument(description="The quotation; NOT_FOUND without a relation to it."),
        ],
        after: Annotated[str | None, RESUME_AFTER] = None,
    ) -> AsyncGenerator[QuotationRoomEvent, None]:
        viewer = info.context.require_viewer()
        quotation_id_value = parse_id(quotation_id, "quotationId")
        _handoff(info)
        async with info.context.services.live_limits.start(), info.context.session() as session:
            quotation, relation = await load_for(session, viewer, quotation_id_value)
        if not enters_quotation_room(relation):
            raise not_found("Quotation")  # load_for refuses first; the rule is stated here
        room = rooms.quotation_room(quotation.id)
        await _start(info, QUOTATION_EVENTS, room, after, quotation_id=quotation.id, present=True)
        return
        yield  # an async generator: strawberry serves it as a subscription

    @strawberry.subscription(
        permission_classes=[IsAuthenticated],
        description="Your company's room (a client's own): its quotations, offers, bookings "
        "and payments; the operator's room for ADMIN.",
    )
    async def company_events(
        self,
        info: Info,
        after: Annotated[str | None, RESUME_AFTER] = None,
    ) -> AsyncGenerator[CompanyRoomEvent, None]:
        room = _company_room(info.context.require_viewer())
        await _start(info, COMPANY_EVENTS, room, after)
        return
        yield

    @strawberry.subscription(
        permission_classes=[IsAuthenticated],
        description="One hotel's room (its company's staff and ADMIN): invitations, its own "
        "offers, its bookings.",
    )
    async def hotel_events(
        self,
        info: Info,
        hotel_id: Annotated[
            strawberry.ID,
            strawberry.argument(description="One of your company's hotels (any for ADMIN)."),
        ],
        after: Annotated[str | None, RESUME_AFTER] = None,
    ) -> AsyncGenerator[CompanyRoomEvent, None]:
        viewer = info.context.require_viewer()
        _handoff(info)
        async with info.context.services.live_limits.start():
            hotel = await info.context.loaders.hotel.load(parse_id(hotel_id, "hotelId"))
        if hotel is None or not watches_hotel(viewer, hotel.company_id):
            raise not_found("Hotel")
        await _start(info, HOTEL_EVENTS, rooms.hotel_room(hotel.id), after)
        return
        yield

    @strawberry.subscription(
        permission_classes=[IsAuthenticated],
        description="The operator's announcements to every signed-in user.",
    )
    async def announcements(
        self,
        info: Info,
        after: Annotated[str | None, RESUME_AFTER] = None,
    ) -> AsyncGenerator[AnnouncementPosted, None]:
        await _start(info, ANNOUNCEMENTS, rooms.ANNOUNCEMENTS, after)
        return
        yield

    @strawberry.subscription(
        permission_classes=[IsAuthenticated],
        description="Your inbox: the unacknowledged notifications first, then new ones.",
    )
    async def notifications(self, info: Info) -> AsyncGenerator[Notification, None]:
        viewer = info.context.require_viewer()
        services = info.context.services
        async with services.hub.listen({rooms.user_room(viewer.user_id)}) as listener:
            last = 0
            async with services.live_limits.start():
                info.context.refresh_loaders()
                view = EventView(info.context, services.hub.position)
                pending = [await view.notification(row)
                           for row in await unacknowledged(info, viewer.user_id)]  # fmt: skip
            for notification in pending:
                last = max(last, int(notification.id))
                yield notification
            while True:
                delivery = await listener.next()
                if not isinstance(delivery, StoredEvent):
                    continue
                async with services.live_limits.delivery():
                    info.context.refresh_loaders()
                    view = EventView(info.context, delivery.position)
                    rows = [row for row in await unacknowledged(info, viewer.user_id)
                            if row.id > last]  # fmt: skip
                    fresh = [await view.notification(row) for row in rows]
                for row, notification in zip(rows, fresh, strict=True):
                    last = row.id
                    yield notification
