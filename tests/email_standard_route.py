"""The way messages were rendered before templates were compiled once per locale: fill the MJML
source, compile it, derive the text from the HTML, search the HTML for links, and build the
message with the standard library's ``set_content``. Kept as the oracle the fast route is
compared with (tests/test_email_stencil.py, tests/test_email_mime.py)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from email.message import EmailMessage

from spirit_tours.emails.headers import MAIL_POLICY
from spirit_tours.emails.links import LinkSigner
from spirit_tours.emails.markers import Filler, subject_msgid
from spirit_tours.emails.render import Attachment, render_html, template_source
from spirit_tours.emails.text import html_to_text
from spirit_tours.emails.tracking import instrument


def standard_message(
    template: str,
    locale: str,
    context: Mapping[str, object],
    *,
    to: str,
    sender: str,
    date: str,
    message_id: str,
    marketing: bool,
    attachments: Sequence[Attachment] = (),
    tracked: tuple[uuid.UUID, LinkSigner] | None = None,
) -> tuple[EmailMessage, list[str]]:
    """The message and click targets as the standard route made them."""
    body = render_html(template, locale, context)
    targets: list[str] = []
    markup = body
    if tracked is not None:
        markup, targets = instrument(body, *tracked)
    subject_filler = Filler(locale, context, escape=False)
    message = EmailMessage(policy=MAIL_POLICY)
    message["Subject"] = subject_filler.message(subject_msgid(template_source(template)))
    message["From"] = sender
    message["To"] = to
    message["Date"] = date
    message["Message-ID"] = message_id
    if marketing:
        message["List-Unsubscribe"] = f"<{subject_filler.value('unsubscribe_url')}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(html_to_text(body), subtype="plain", charset="utf-8")
    message.add_alternative(markup, subtype="html", charset="utf-8")
    for attachment in attachments:
        maintype, _, subtype = attachment.mimetype.partition("/")
        message.add_attachment(
            attachment.content, maintype=maintype, subtype=subtype, filename=attachment.filename
        )
    message["Content-Language"] = locale
    return message, targets
