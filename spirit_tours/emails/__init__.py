"""E-mail content: MJML templates, Babel catalogs and a renderer producing MIME messages.

Delivery (queues, SMTP, tracking) lives elsewhere; this package only builds the message.
"""

from spirit_tours.emails.render import TEMPLATES, Attachment, TemplateInfo, render

__all__ = ["TEMPLATES", "Attachment", "TemplateInfo", "render"]
