"""What an operator sends for the newsletter and a user for their preferences."""

from __future__ import annotations

from datetime import datetime

import strawberry


@strawberry.input(description="Marketing mail to switch on (true) or off (false); null: unchanged.")
class EmailPreferencesInput:
    newsletter: bool | None = strawberry.field(default=None, description="The newsletter.")
    survey: bool | None = strawberry.field(default=None, description="Surveys after a trip.")
    birthday: bool | None = strawberry.field(default=None, description="Birthday greetings.")


@strawberry.input(description="A newsletter issue.")
class SendNewsletterInput:
    headline: str = strawberry.field(description="The headline, 1 to 200 characters.")
    body: str = strawberry.field(description="The text, 1 to 20,000 characters.")
    article_url: str = strawberry.field(
        description="Link to the full article: an http(s) URL of at most 2,000 characters."
    )
    scheduled_at: datetime | None = strawberry.field(
        default=None, description="Send later (ISO 8601 with its UTC offset); unset: now."
    )
    idempotency_key: str | None = strawberry.field(
        default=None,
        description="Sending again with the same key (a retried request) mails no one twice.",
    )
