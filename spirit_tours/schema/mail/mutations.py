"""E-mail mutations: requeue a dead letter, send the newsletter (ADMIN), set one's preferences."""

from __future__ import annotations

from typing import Annotated

import strawberry

from spirit_tours.context import Context
from spirit_tours.core.enums import EmailTemplate, SuppressionSource
from spirit_tours.core.errors import bad_input
from spirit_tours.emails.queueing import hand_over
from spirit_tours.permissions.classes import IsAdmin, IsAuthenticated
from spirit_tours.persistence.emails import EmailMessage as MessageRow
from spirit_tours.persistence.repositories import accounts
from spirit_tours.resolvers import emails
from spirit_tours.schema.ids import parse_id
from spirit_tours.schema.mail.inputs import EmailPreferencesInput, SendNewsletterInput
from spirit_tours.schema.mail.types import EmailMessage, EmailPreferences, SendNewsletterPayload

Info = strawberry.Info[Context, None]


@strawberry.type
class EmailMutations:
    @strawberry.mutation(
        permission_classes=[IsAdmin], description="Send a dead letter again (fresh attempts)."
    )
    async def requeue_email(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The dead letter's id.")],
    ) -> EmailMessage:
        viewer = info.context.require_viewer()
        message_id = parse_id(id, "id")
        async with info.context.transaction() as session:
            queued = await emails.requeue(session, viewer, message_id)
        services = info.context.services
        timeout = services.settings.email_send_timeout_seconds
        await hand_over(services.email_queues, [queued], timeout_seconds=timeout)
        async with info.context.session() as session:
            return EmailMessage.build(await session.get_one(MessageRow, message_id))

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="Every dead letter (or those of one template) sent again, oldest first, "
        "up to 10,000 per call; returns how many. Password-reset mail is left out.",
    )
    async def requeue_dead_letters(
        self,
        info: Info,
        template: Annotated[
            EmailTemplate | None,
            strawberry.argument(
                description="Only the dead letters of this template, e.g. WELCOME; null: all."
            ),
        ] = None,
    ) -> int:
        viewer = info.context.require_viewer()
        name = template.value if template is not None else None
        async with info.context.transaction() as session:
            queued = await emails.requeue_all(session, viewer, name)
        services = info.context.services
        timeout = services.settings.email_send_timeout_seconds
        await hand_over(services.email_queues, queued, timeout_seconds=timeout)
        return len(queued)

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="The newsletter to every active user in their language (BULK priority; "
        "those who unsubscribed are skipped).",
    )
    async def send_newsletter(
        self,
        info: Info,
        input: Annotated[
            SendNewsletterInput, strawberry.argument(description="The issue to send.")
        ],
    ) -> SendNewsletterPayload:
        viewer = info.context.require_viewer()
        services = info.context.services
        letter = emails.Newsletter(input.headline, input.body, input.article_url,
                                   input.scheduled_at, input.idempotency_key)  # fmt: skip
        async with info.context.transaction() as session:
            queued, suppressed = await emails.send_newsletter(
                session, viewer, letter, services.message_id_domain
            )
        # After the commit; should this process die here, the dispatcher picks them up.
        timeout = services.settings.email_send_timeout_seconds
        await hand_over(services.email_queues, queued, timeout_seconds=timeout)
        return SendNewsletterPayload(queued=len(queued), suppressed=suppressed)

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="Switch marketing mail on or off for your address.",
    )
    async def set_email_preferences(
        self,
        info: Info,
        input: Annotated[
            EmailPreferencesInput,
            strawberry.argument(description="The marketing mail to switch; at least one field."),
        ],
    ) -> EmailPreferences:
        viewer = info.context.require_viewer()
        wanted = {
            name: value for name in emails.MARKETING if (value := getattr(input, name)) is not None
        }
        if not wanted:
            raise bad_input("input", "Say which mail to switch on or off.")
        async with info.context.transaction() as session:
            user = await accounts.user_by_id(session, viewer.user_id)
            assert user is not None
            suppressed = await emails.set_preferences(
                session, user.email, wanted, SuppressionSource.PREFERENCES
            )
        return EmailPreferences.from_suppressed(suppressed)
