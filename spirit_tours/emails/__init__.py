"""Mail, from event to transport: the feed (outbox events to messages), triggers (which event
mails whom), queueing (rows in PostgreSQL, then saq), delivery (one attempt under a lease),
composing and rendering (MJML, Babel catalogs, the PDF voucher, tracking links) and the
SMTP/outbox transport. The saq entry points live in ``spirit_tours.jobs``, the public links'
endpoints in ``spirit_tours.endpoints.mail``; nothing here imports either.
"""

from spirit_tours.emails.render import TEMPLATES, Attachment, TemplateInfo, render

__all__ = ["TEMPLATES", "Attachment", "TemplateInfo", "render"]
