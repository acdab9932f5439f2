"""From a stored message row to the exact MIME message that goes out: its template rendered
in the recipient's locale, tracked links, the unsubscribe link of marketing mail, and the
attachments its template carries (the booking voucher)."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage as MimeMessage
from email.utils import parseaddr
from functools import cache

from spirit_tours.emails.context import decode_context
from spirit_tours.emails.links import LinkSigner
from spirit_tours.emails.mime import BARE_ADDRESS
from spirit_tours.emails.render import Attachment, render, template_info
from spirit_tours.emails.tracking import Tracker
from spirit_tours.emails.transport import Envelope
from spirit_tours.persistence.emails import EmailMessage


@cache
def message_id_domain(sender: str) -> str:
    """The sender's domain, so Message-IDs look like the mail they belong to."""
    address = parseaddr(sender)[1]
    return address.rpartition("@")[2] or "spirit-tours.invalid"


def _attachments(template: str, context: dict[str, object], locale: str) -> list[Attachment]:
    if template == "booking_confirmed":
        from spirit_tours.emails.voucher import booking_voucher  # fpdf2 loads on first use

        return [booking_voucher(context, locale)]
    return []


@cache
def envelope_sender(sender: str) -> str:
    """The bare address of the From header, for MAIL FROM."""
    return parseaddr(sender)[1] or sender.strip()


@dataclass(frozen=True, slots=True)
class Composer:
    sender: str
    signer: LinkSigner

    def envelope(self, row: EmailMessage) -> Envelope:
        """MAIL FROM and RCPT TO for the message: the sender's address and the row's
        recipient, the addresses its From and To headers carry."""
        to = row.recipient
        if not BARE_ADDRESS.fullmatch(to):  # a display name, a comment: parsed (slower)
            to = parseaddr(to)[1] or to.strip()
        return Envelope(envelope_sender(self.sender), (to,))

    def compose(self, row: EmailMessage) -> tuple[MimeMessage, list[str]]:
        """The message and the click targets it was sent with."""
        context = decode_context(row.context)
        info = template_info(row.template)
        if info.marketing:
            context["unsubscribe_url"] = self.signer.unsubscribe_url(row.id)
        tracker = None if info.secret_links else Tracker(row.id, self.signer)
        message = render(
            row.template,
            row.locale,
            context,
            to=row.recipient,
            sender=self.sender,
            message_id_domain=message_id_domain(self.sender),
            message_id=row.message_id,
            attachments=_attachments(row.template, context, row.locale),
            tracker=tracker,
        )
        return message, [] if tracker is None else tracker.targets
