"""The public e-mail endpoints: open pixel, click redirect, one-click unsubscribe (RFC 8058)
and the preferences page. No sign-in: the signed link is the credential, and it only ever
speaks for the one message (and address) it was sent with."""

from __future__ import annotations

import base64
import html
import uuid

from sqlalchemy import func, update
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from spirit_tours.core.clock import now_utc
from spirit_tours.core.enums import SuppressionSource
from spirit_tours.emails.catalog import translate
from spirit_tours.forms import read_form
from spirit_tours.persistence.emails import EmailMessage
from spirit_tours.resolvers.emails import MARKETING, set_preferences, suppressed_categories
from spirit_tours.services import Services

PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
NO_STORE = {"Cache-Control": "no-store, private", "Referrer-Policy": "no-referrer"}
PAGE_MSGIDS: tuple[str, ...] = (
    "E-mail preferences",
    "Mail about your trips, bookings and payments always reaches you.",
    "Newsletter",
    "Surveys",
    "Birthday greetings",
    "Save",
    "Your preferences are saved.",
    "You will no longer receive this kind of e-mail.",
    "This link is not valid.",
)
_LABELS = {"newsletter": "Newsletter", "survey": "Surveys", "birthday": "Birthday greetings"}


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def _message_id(request: Request) -> uuid.UUID | None:
    try:
        return uuid.UUID(request.path_params["message_id"])
    except ValueError:
        return None


def _invalid(locale: str = "en", status: int = 400) -> HTMLResponse:
    text = html.escape(translate(locale, "This link is not valid."))
    return HTMLResponse(f"<!doctype html><title>{text}</title><p>{text}</p>", status, NO_STORE)


async def open_pixel(request: Request) -> Response:
    """Counts an open once per fetch, records the first; always answers with the GIF."""
    services = _services(request)
    message_id = _message_id(request)
    signature = request.path_params["signature"].removesuffix(".gif")
    if message_id is not None and services.links.verify(signature, "open", message_id):
        async with services.sessions() as session, session.begin():
            await session.execute(
                update(EmailMessage)
                .where(EmailMessage.id == message_id)
                .values(
                    open_count=EmailMessage.open_count + 1,
                    opened_at=func.coalesce(EmailMessage.opened_at, now_utc()),
                )
            )
    return Response(PIXEL, media_type="image/gif", headers=NO_STORE)


async def click(request: Request) -> Response:
    """Redirect to one of the message's own links, signed for it; anything else is refused."""
    services = _services(request)
    message_id = _message_id(request)
    target = request.query_params.get("u", "")
    signature = request.query_params.get("s", "")
    if message_id is None or not services.links.verify(signature, "click", message_id, target):
        return _invalid()
    now = now_utc()
    async with services.sessions() as session, session.begin():
        message = await session.get(EmailMessage, message_id, with_for_update=True)
        if message is None or target not in message.links:
            return _invalid(message.locale if message else "en")
        message.click_count += 1
        message.clicked_at = message.clicked_at or now
        message.opened_at = message.opened_at or now  # a click proves the open
    return RedirectResponse(target, status_code=302, headers=NO_STORE)


def _page(locale: str, suppressed: set[str], action: str, notice: str | None) -> HTMLResponse:
    def t(msgid: str) -> str:
        return html.escape(translate(locale, msgid))

    boxes = "".join(
        f'<p><label><input type="checkbox" name="{c}" value="on"'
        f"{'' if c in suppressed else ' checked'}> {t(_LABELS[c])}</label></p>"
        for c in MARKETING
    )
    note = f'<p role="status"><strong>{html.escape(notice)}</strong></p>' if notice else ""
    body = (
        f'<!doctype html><html lang="{locale}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width"><title>{t("E-mail preferences")}'
        f"</title></head><body><h1>{t('E-mail preferences')}</h1>{note}"
        f"<p>{t('Mail about your trips, bookings and payments always reaches you.')}</p>"
        f'<form method="post" action="{html.escape(action)}">'
        f'<input type="hidden" name="preferences" value="1">{boxes}'
        f'<button type="submit">{t("Save")}</button></form></body></html>'
    )
    return HTMLResponse(body, headers=NO_STORE)


async def unsubscribe(request: Request) -> Response:
    """GET: the preferences page. POST ``List-Unsubscribe=One-Click``: unsubscribe from this
    message's kind of mail at once (RFC 8058). POST from the page: save the choices."""
    services = _services(request)
    message_id = _message_id(request)
    signature = request.path_params["signature"]
    if message_id is None or not services.links.verify(signature, "unsubscribe", message_id):
        return _invalid(status=403)
    # The body first: a slow client must not hold a database connection and the row's lock.
    form = await read_form(request) if request.method == "POST" else {}
    async with services.sessions() as session, session.begin():
        message = await session.get(EmailMessage, message_id, with_for_update=True)
        if message is None:
            return _invalid(status=404)
        locale, notice = message.locale, None
        if request.method == "POST":
            if form.get("preferences") != "1":
                # RFC 8058: the mail client's POST (url-encoded or multipart) — unsubscribe
                # from this message's kind of mail only, never from anything else.
                if message.template not in MARKETING:
                    return _invalid(locale)
                await set_preferences(session, message.recipient, {message.template: False},
                                      SuppressionSource.ONE_CLICK, message=message)  # fmt: skip
                text = translate(locale, "You will no longer receive this kind of e-mail.")
                return HTMLResponse(f"<!doctype html><p>{html.escape(text)}</p>", 200, NO_STORE)
            wanted = {category: form.get(category) == "on" for category in MARKETING}
            await set_preferences(session, message.recipient, wanted,
                                  SuppressionSource.PREFERENCES, message=message)  # fmt: skip
            notice = translate(locale, "Your preferences are saved.")
        suppressed = await suppressed_categories(session, message.recipient)
    return _page(locale, suppressed, str(request.url.path), notice)
