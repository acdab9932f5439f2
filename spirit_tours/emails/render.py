"""Render one template for one recipient into a complete MIME message.

The template language and its escaping rules are in ``markers``. Each template is compiled
once per locale (``stencil``) and a message only fills it; ``render_html`` keeps the long way
(fill the MJML source, then compile it), which the stencils are tested against and which values
the shortcut cannot carry still take. The message is assembled by ``mime``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from functools import cache
from typing import Literal

from spirit_tours.core.clock import now_utc
from spirit_tours.emails.catalog import TEMPLATE_DIR, check_locale, translate
from spirit_tours.emails.markers import PLACEHOLDER, Filler, fill_source, header_text, subject_msgid
from spirit_tours.emails.mime import Attachment, assemble
from spirit_tours.emails.mjml_compiler import compile_mjml
from spirit_tours.emails.stencil import REFUSED_BY_MJML, Stencil, build
from spirit_tours.emails.text import html_to_text
from spirit_tours.emails.tracking import Tracker

__all__ = ["TEMPLATES", "Attachment", "Priority", "TemplateInfo", "render", "render_html"]

Priority = Literal["HIGH", "NORMAL", "LOW", "BULK"]


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


@cache
def stencil(template: str, locale: str) -> Stencil:
    """The template compiled for ``locale`` (once per process)."""
    return build(template_source(template), check_locale(locale))


@cache
def _subject_pieces(template: str, locale: str) -> tuple[str, ...]:
    """The translated subject split at its placeholders: text, key, text, key, …, text."""
    translated = translate(locale, subject_msgid(template_source(template)))
    return tuple(PLACEHOLDER.split(translated))


def render_html(template: str, locale: str, context: Mapping[str, object]) -> str:
    """The template's HTML for one locale (inlined CSS): the MJML source filled, then compiled."""
    source = template_source(template)
    return compile_mjml(fill_source(source, Filler(check_locale(locale), context, escape=True)))


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
    tracker: Tracker | None = None,
) -> EmailMessage:
    """A ready-to-send message: text + HTML alternatives, attachments, RFC 8058 headers.

    ``marketing`` defaults to the template's flag; marketing mail needs ``unsubscribe_url``.
    ``message_id`` keeps one Message-ID across retries; ``tracker`` tracks the HTML part's
    links (the plain-text part keeps the original links).
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

    filler = Filler(locale, context, escape=False)
    layout = stencil(template, locale)
    values = {key: filler.text(key) for key in layout.keys}
    if any(REFUSED_BY_MJML.search(value) for value in values.values()):
        body = render_html(template, locale, context)  # raises as MJML always did
        markup, text = (tracker.instrument(body) if tracker else body), html_to_text(body)
    else:
        markup, text = layout.fill(values, tracker)

    def subject_value(key: str) -> str:  # formatted once already when the body shows it
        return header_text(values[key]) if key in values else filler.value(key)

    pieces = _subject_pieces(template, locale)  # text, key, text, key, …, text
    subject = "".join(
        subject_value(piece) if index % 2 else piece for index, piece in enumerate(pieces)
    )
    return assemble(
        subject=subject,
        sender=sender,
        to=to,
        date=format_datetime(now_utc()),
        message_id=message_id or make_msgid(domain=message_id_domain.strip()),
        unsubscribe_url=filler.value("unsubscribe_url") if is_marketing else None,
        language=locale,
        text=text,
        html=markup,
        attachments=attachments,
    )
