"""What an operator sends for the newsletter and a user for their preferences."""

from __future__ import annotations

from datetime import datetime

import strawberry


@strawberry.input
class EmailPreferencesInput:
    newsletter: bool | None = None
    survey: bool | None = None
    birthday: bool | None = None


@strawberry.input
class SendNewsletterInput:
    headline: str
    body: str
    article_url: str
    scheduled_at: datetime | None = strawberry.field(
        default=None, description="Send later; unset: now."
    )
    idempotency_key: str | None = strawberry.field(
        default=None,
        description="Sending again with the same key (a retried request) mails no one twice.",
    )
