"""Chat messages, typing, announcements and the inbox: types, queries and mutations."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import strawberry

from spirit_tours.context import Context
from spirit_tours.core.clock import now_utc
from spirit_tours.core.enums import ChatThread, EventKind, Role
from spirit_tours.core.errors import bad_input
from spirit_tours.permissions.classes import IsAdmin, IsAuthenticated
from spirit_tours.persistence.events import ChatMessage as MessageRow
from spirit_tours.persistence.events import Notification as NotificationRow
from spirit_tours.persistence.repositories import chat as messages_repository
from spirit_tours.persistence.repositories import notifications as inbox
from spirit_tours.persistence.repositories.events import emit_event, record_audit
from spirit_tours.persistence.repositories.pagination import (
    UNSET_PAGE_SIZE,
    encode_cursor,
    page_size,
)
from spirit_tours.realtime.rooms import quotation_room
from spirit_tours.resolvers import chat
from spirit_tours.schema import enums  # noqa: F401 - registers the GraphQL enums
from spirit_tours.schema.common import Node, PageInfo
from spirit_tours.schema.ids import parse_id

Info = strawberry.Info[Context, None]


@strawberry.type(description="Someone in a room or a thread.")
class Participant:
    id: strawberry.ID = strawberry.field(description="The user's id, a UUID.")
    full_name: str = strawberry.field(description="The user's full name.")
    role: Role = strawberry.field(description="The user's role.")


async def load_participant(info: Info, user_id: uuid.UUID) -> Participant | None:
    user = await info.context.loaders.user.load(user_id)
    if user is None:
        return None
    return Participant(id=strawberry.ID(str(user.id)), full_name=user.full_name, role=user.role)


@strawberry.type(description="A message in a quotation's thread.")
class ChatMessage(Node):
    body: str = strawberry.field(description="The text, at most 4,000 characters.")
    thread: ChatThread = strawberry.field(
        description="Whom the thread is with: OWNER, or HOTEL (with one hotel company)."
    )
    created_at: datetime = strawberry.field(description="When it was posted (ISO 8601, UTC).")
    author_id: strawberry.Private[uuid.UUID]

    @strawberry.field(description="Who wrote it; null if the account no longer exists.")
    async def author(self, info: Info) -> Participant | None:
        return await load_participant(info, self.author_id)

    @classmethod
    def from_model(cls, row: MessageRow) -> ChatMessage:
        return cls(
            id=strawberry.ID(str(row.id)),
            body=row.body,
            thread=ChatThread(row.thread),
            created_at=row.created_at,
            author_id=row.author_id,
        )


@strawberry.type(description="A message of a thread and its cursor.")
class ChatMessageEdge:
    cursor: str = strawberry.field(
        description="Where this message stands: pass it as `before` or `after`."
    )
    node: ChatMessage = strawberry.field(description="The message.")


@strawberry.type(description="A page of a thread's messages, oldest first within the page.")
class ChatMessageConnection:
    edges: list[ChatMessageEdge] = strawberry.field(
        description="The messages of this page, oldest first."
    )
    page_info: PageInfo = strawberry.field(description="Where this page stands in the thread.")
    total_count: int = strawberry.field(description="Messages in the whole thread.")

    @strawberry.field(description="The edges' nodes, for a client that needs no cursor.")
    def nodes(self) -> list[ChatMessage]:
        return [edge.node for edge in self.edges]


@strawberry.input(description="A message for a quotation's thread.")
class PostMessageInput:
    quotation_id: strawberry.ID = strawberry.field(description="The quotation, by its id.")
    body: str = strawberry.field(description="The text, 1 to 4,000 characters.")
    hotel_id: strawberry.ID | None = strawberry.field(
        default=None, description="ADMIN only: the hotel's thread (none: the owner's)."
    )


@strawberry.input(description="Whether you are typing in a thread.")
class SetTypingInput:
    quotation_id: strawberry.ID = strawberry.field(description="The quotation, by its id.")
    typing: bool = strawberry.field(description="True when you start typing, false when you stop.")
    hotel_id: strawberry.ID | None = strawberry.field(
        default=None, description="ADMIN only: the hotel's thread (none: the owner's)."
    )


@strawberry.type(description="The message posted.")
class PostMessagePayload:
    message: ChatMessage = strawberry.field(description="The message as stored.")


@strawberry.input(description="An announcement to every signed-in user.")
class PostAnnouncementInput:
    title: str = strawberry.field(description="The title, 1 to 200 characters.")
    body: str = strawberry.field(description="The text, 1 to 5,000 characters.")


@strawberry.type(description="The announcement posted.")
class AnnouncementPayload:
    title: str = strawberry.field(description="The title, trimmed.")
    body: str = strawberry.field(description="The text, trimmed.")


@strawberry.type(description="What acknowledging removed from the inbox.")
class AcknowledgePayload:
    acknowledged: int = strawberry.field(
        description="How many of the given entries were removed (unknown ids are skipped)."
    )


def _hotel(value: strawberry.ID | None) -> uuid.UUID | None:
    return parse_id(value, "hotelId") if value else None


@strawberry.type
class ChatQueries:
    @strawberry.field(
        permission_classes=[IsAuthenticated],
        description=(
            "A thread's messages (participants and ADMIN), oldest first within a page. "
            f"Neither first nor last: the latest {UNSET_PAGE_SIZE}; page back through the "
            "history with `last` and `before: pageInfo.startCursor`, or forwards from the "
            "first message with `first` and `after`."
        ),
    )
    async def messages(
        self,
        info: Info,
        quotation_id: Annotated[
            strawberry.ID, strawberry.argument(description="The quotation, by its id.")
        ],
        hotel_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(
                description="ADMIN only: the hotel's thread (none: the owner's). Others read "
                "their own thread whatever they name."
            ),
        ] = None,
        first: Annotated[
            int | None, strawberry.argument(description="Page forwards: this many (1 to 100).")
        ] = None,
        after: Annotated[
            str | None, strawberry.argument(description="Page forwards: after this cursor.")
        ] = None,
        last: Annotated[
            int | None,
            strawberry.argument(
                description="Page backwards: this many (1 to 100); with no argument at all, "
                "the latest 50."
            ),
        ] = None,
        before: Annotated[
            str | None, strawberry.argument(description="Page backwards: before this cursor.")
        ] = None,
    ) -> ChatMessageConnection:
        viewer = info.context.require_viewer()
        forwards = first is not None or after is not None
        if forwards and (last is not None or before is not None):
            raise bad_input(
                "last", "Page forwards (first, after) or backwards (last, before), not both."
            )
        if forwards:
            size = page_size(first if first is not None else UNSET_PAGE_SIZE, "first")
        else:
            size = page_size(last if last is not None else UNSET_PAGE_SIZE, "last")
        quotation = parse_id(quotation_id, "quotationId")
        async with info.context.session() as session:
            thread, _ = await chat.thread_for(session, viewer, quotation, _hotel(hotel_id))
            page = await messages_repository.thread_page(
                session,
                quotation,
                thread.kind,
                thread.hotel_company_id,
                size=size,
                forwards=forwards,
                cursor=after if forwards else before,
            )
        edges = [
            ChatMessageEdge(
                cursor=encode_cursor(row.created_at, row.id), node=ChatMessage.from_model(row)
            )
            for row in page.rows
        ]
        cursors = [edge.cursor for edge in edges]
        return ChatMessageConnection(
            edges=edges,
            page_info=PageInfo(
                has_next_page=page.has_next,
                end_cursor=cursors[-1] if cursors else None,
                has_previous_page=page.has_previous,
                start_cursor=cursors[0] if cursors else None,
            ),
            total_count=page.total,
        )


@strawberry.type
class ChatMutations:
    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="Post in a quotation's thread (the owner's or one hotel's, with the "
        "operator); its readers are told live and in their inbox.",
    )
    async def post_message(
        self,
        info: Info,
        input: Annotated[
            PostMessageInput,
            strawberry.argument(description="The quotation, the thread and the text."),
        ],
    ) -> PostMessagePayload:
        viewer = info.context.require_viewer()
        quotation = parse_id(input.quotation_id, "quotationId")
        async with info.context.transaction() as session:
            row = await chat.post_message(
                session, viewer, quotation, _hotel(input.hotel_id), input.body
            )
        return PostMessagePayload(message=ChatMessage.from_model(row))

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="Tell the thread you are (not) typing; live only, never stored.",
    )
    async def set_typing(
        self,
        info: Info,
        input: Annotated[
            SetTypingInput,
            strawberry.argument(description="The quotation, the thread and whether you type."),
        ],
    ) -> bool:
        viewer = info.context.require_viewer()
        quotation = parse_id(input.quotation_id, "quotationId")
        async with info.context.session() as session:
            thread, _ = await chat.thread_for(session, viewer, quotation, _hotel(input.hotel_id))
        data = {
            "user_id": str(viewer.user_id),
            "thread": thread.kind,
            "hotel_company_id": str(thread.hotel_company_id) if thread.hotel_company_id else None,
            "typing": input.typing,
        }
        await info.context.services.hub.publish_signal(quotation_room(quotation), "typing", data)
        return input.typing

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="ADMIN posts an announcement to every signed-in user (the "
        "announcements subscription).",
    )
    async def post_announcement(
        self,
        info: Info,
        input: Annotated[
            PostAnnouncementInput,
            strawberry.argument(description="The announcement's title and text."),
        ],
    ) -> AnnouncementPayload:
        viewer = info.context.require_viewer()
        title, body = input.title.strip(), input.body.strip()
        if not 1 <= len(title) <= 200:
            raise bad_input("title", "A title of 1 to 200 characters.")
        if not 1 <= len(body) <= 5000:
            raise bad_input("body", "A body of 1 to 5000 characters.")
        announcement = uuid.uuid4()
        async with info.context.transaction() as session:
            emit_event(session, EventKind.ANNOUNCEMENT_POSTED, "Announcement", announcement,
                       title=title, body=body)  # fmt: skip
            record_audit(session, viewer, "announcement.post", "Announcement", announcement,
                         title=title)  # fmt: skip
        return AnnouncementPayload(title=title, body=body)

    @strawberry.mutation(
        permission_classes=[IsAuthenticated], description="Remove entries from your inbox."
    )
    async def acknowledge_notifications(
        self,
        info: Info,
        ids: Annotated[
            list[strawberry.ID],
            strawberry.argument(description="The ids of the inbox entries to remove."),
        ],
    ) -> AcknowledgePayload:
        viewer = info.context.require_viewer()
        try:
            numbers = [int(value) for value in ids]
        except ValueError as error:
            raise bad_input("ids", "Notification ids are numbers.") from error
        async with info.context.transaction() as session:
            count = await inbox.acknowledge(session, viewer.user_id, numbers, now_utc())
        return AcknowledgePayload(acknowledged=count)


async def unacknowledged(info: Info, user_id: uuid.UUID) -> list[NotificationRow]:
    async with info.context.session() as session:
        return await inbox.unacknowledged(session, user_id)
