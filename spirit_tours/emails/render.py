"""Render one template for one recipient into a complete MIME message.

Templates use two markers, filled in a single pass so inserted values are never re-expanded:
``[[ msgid with {key} ]]`` is translated, then its ``{key}`` placeholders filled; ``{{ key }}``
inserts a value directly. Every value is HTML-escaped. A template only shows what its own
placeholders name, so extra context keys (e.g. an owner's identity passed by mistake to a
hotel's invitation) never reach the recipient (docs/privacy.md §2.6).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from functools import cache
from typing import Literal

from spirit_tours.core.clock import now_utc
from spirit_tours.emails.catalog import MSGID_RE, TEMPLATE_DIR, check_locale, translate
from spirit_tours.emails.formatting import format_value
from spirit_tours.emails.headers import MAIL_POLICY
from spirit_tours.emails.mjml_compiler import compile_mjml
from spirit_tours.emails.text import html_to_text

Priority = Literal["HIGH", "NORMAL", "LOW", "BULK"]

_MARKER = re.compile(r"\[\[\s*(?P<msgid>.+?)\s*\]\]|\{\{\s*(?P<key>\w+)\s*\}\}", re.DOTALL)
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_TITLE = re.compile(r"<mj-title>(.*?)</mj-title>", re.DOTALL)
_URL_SCHEMES = ("https://", "http://")


@dataclass(frozen=True, slots=True)
class TemplateInfo:
    """What a caller must supply, and how the delivery layer should treat the mail."""

    name: str
    required: frozenset[str]
    marketing: bool
    priority: Priority
    # Its links are secrets that expire (a password reset): never tracked (a click URL would
    # carry them into access logs), never requeued once dead (they would have expired).
    secret_links: bool = False


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    content: bytes
    mimetype: str = "application/octet-stream"


def _info(
    name: str,
    keys: str,
    priority: Priority = "NORMAL",
    marketing: bool = False,
    *,
    secret_links: bool = False,
) -> TemplateInfo:
    return TemplateInfo(name, frozenset(keys.split()), marketing, priority, secret_links)


_DATES = "start_date end_date"
TEMPLATES: dict[str, TemplateInfo] = {
    info.name: info
    for info in (
        _info("quotation_created", f"name reference destination {_DATES} quotation_url"),
        _info("quotation_approved", "name reference destination total quotation_url"),
        _info("booking_confirmed", f"name reference destination {_DATES} total booking_url"),
        _info("payment_received", "name amount reference paid_on booking_url", "HIGH"),
        _info("hotel_invitation", f"hotel_name destination {_DATES} travellers deadline offer_url"),
        _info("guide_assigned", f"name reference destination {_DATES} booking_url"),
        _info("reminder_payment", "name amount reference due_date payment_url"),
        _info("deadline_warning", "name reference deadline quotation_url"),
        _info("cancellation_notice", "name reference destination booking_url"),
        _info("refund_processed", "name amount reference booking_url"),
        _info("password_reset", "name minutes reset_url", "HIGH", secret_links=True),
        _info("welcome", "name login_url"),
        _info("newsletter", "name headline body article_url unsubscribe_url", "BULK", True),
        _info("survey", "name destination survey_url unsubscribe_url", "LOW", True),
        _info("birthday", "name offers_url unsubscribe_url", "LOW", True),
    )
}


def template_info(name: str) -> TemplateInfo:
    """The template's registry entry, or ValueError naming the known templates."""
    info = TEMPLATES.get(name)
    if info is None:
        raise ValueError(f"Unknown e-mail template {name!r}; expected one of {sorted(TEMPLATES)}.")
    return info


@cache
def template_source(name: str) -> str:
    template_info(name)
    return (TEMPLATE_DIR / f"{name}.mjml").read_text(encoding="utf-8")


class _Filler:
    """Formats context values for one locale, escaped for HTML or as plain text."""

    def __init__(self, locale: str, context: Mapping[str, object], *, escape: bool) -> None:
        self.locale, self.context, self.escape = locale, context, escape

    def value(self, key: str) -> str:
        if key == "locale":
            return self.locale
        if key not in self.context:
            raise ValueError(f"E-mail context is missing {key!r}.")
        text = format_value(self.context[key], self.locale)
        if key.endswith("_url") and not text.startswith(_URL_SCHEMES):
            raise ValueError(f"{key} must be an http(s) URL.")
        if self.escape:
            return html.escape(text, quote=True)
        return " ".join(text.split())  # no line breaks can reach a header

    def message(self, msgid: str) -> str:
        translated = translate(self.locale, msgid)
        if self.escape:
            translated = html.escape(translated, quote=True)
        return _PLACEHOLDER.sub(lambda m: self.value(m.group(1)), translated)

    def marker(self, match: re.Match[str]) -> str:
        msgid = match.group("msgid")
        return self.message(msgid) if msgid is not None else self.value(match.group("key"))


def _subject(source: str, filler: _Filler) -> str:
    title = _TITLE.search(source)
    if title is None:
        raise ValueError("The template has no <mj-title> to use as subject.")
    msgid = MSGID_RE.fullmatch(title.group(1).strip())
    if msgid is None:
        raise ValueError("The template's <mj-title> must be a single [[ msgid ]].")
    return filler.message(msgid.group(1))


def render_html(template: str, locale: str, context: Mapping[str, object]) -> str:
    """The template's HTML for one locale (inlined CSS), without building a message."""
    source = template_source(template)
    filler = _Filler(check_locale(locale), context, escape=True)
    return compile_mjml(_MARKER.sub(filler.marker, source))


def render(
    template: str,
    locale: str,
    context: Mapping[str, object],
    *,
    to: str,
    sender: str,
    message_id_domain: str,
    marketing: bool | None = None,
    attachments: Sequence[Attachment] = (),
    message_id: str | None = None,
    html_filter: Callable[[str], str] | None = None,
) -> EmailMessage:
    """A ready-to-send message: text + HTML alternatives, attachments, RFC 8058 headers.

    ``marketing`` defaults to the template's flag; marketing mail needs ``unsubscribe_url``.
    ``message_id`` keeps one Message-ID across retries; ``html_filter`` rewrites the HTML
    part only (tracking), after the plain-text part was taken from the original.
    """
    info = TEMPLATES.get(template)
    if info is None:
        raise ValueError(
            f"Unknown e-mail template {template!r}; expected one of {sorted(TEMPLATES)}."
        )
    check_locale(locale)
    missing = sorted(info.required - context.keys())
    if missing:
        raise ValueError(f"E-mail template {template!r} needs context keys {missing}.")
    if not message_id_domain.strip():
        raise ValueError("message_id_domain must not be empty.")
    is_marketing = info.marketing if marketing is None else marketing

    body = render_html(template, locale, context)
    message = EmailMessage(policy=MAIL_POLICY)
    message["Subject"] = _subject(template_source(template), _Filler(locale, context, escape=False))
    message["From"] = sender
    message["To"] = to
    message["Date"] = format_datetime(now_utc())
    message["Message-ID"] = message_id or make_msgid(domain=message_id_domain.strip())
    if is_marketing:
        unsubscribe = _Filler(locale, context, escape=False).value("unsubscribe_url")
        message["List-Unsubscribe"] = f"<{unsubscribe}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(html_to_text(body), subtype="plain", charset="utf-8")
    message.add_alternative(
        html_filter(body) if html_filter else body, subtype="html", charset="utf-8"
    )
    for attachment in attachments:
        maintype, _, subtype = attachment.mimetype.partition("/")
        if not maintype or not subtype:
            raise ValueError(f"Invalid attachment MIME type {attachment.mimetype!r}.")
        message.add_attachment(
            attachment.content, maintype=maintype, subtype=subtype, filename=attachment.filename
        )
    message["Content-Language"] = locale  # after the content: set_content drops Content-*
    return message
