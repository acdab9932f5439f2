"""Tracking and unsubscribe links against the real server: the open pixel, click redirects
that only ever lead to the message's own links, RFC 8058 one-click unsubscribe that stops
marketing mail but never transactional mail, and the preferences page."""

from __future__ import annotations

import html
import re
import uuid
from urllib.parse import urlsplit

import httpx
import pytest

from spirit_tours.config import Settings
from spirit_tours.core.enums import EmailStatus
from spirit_tours.emails.links import LinkSigner
from spirit_tours.emails.queueing import Queued, enqueue_messages, queue_email
from spirit_tours.persistence.database import SessionFactory
from tests.email_flows import (
    Inbox,
    message_row,
    parts,
    queue_now,
    running_jobs,
    settled,
    smtp,
    until,
    until_status,
)

__all__ = ["smtp"]

NEWSLETTER = {
    "name": "Ana",
    "headline": "Machu Picchu at dawn",
    "body": "Our new trek.",
    "article_url": "https://spirit-tours.example/news/dawn?utm=mail&x=1",
}
WELCOME = {"name": "Ana", "login_url": "https://app.spirit-tours.example/login"}


def _path(url: str) -> str:
    """The link's path and query, to ask the test server (links name the public URL)."""
    parts_ = urlsplit(url)
    return f"{parts_.path}?{parts_.query}" if parts_.query else parts_.path


def _links(body: str, marker: str) -> list[str]:
    return [html.unescape(u) for u in re.findall(r'(?:href|src)="([^"]+)"', body) if marker in u]


@pytest.fixture
async def sent_newsletter(
    smtp: tuple[Inbox, int], settings: Settings, sessions: SessionFactory
) -> tuple[Inbox, str, str]:
    """A newsletter delivered to ana@example.com: (inbox, message id, its HTML)."""
    inbox, port = smtp
    async with running_jobs(settings, port) as runner:
        queued = await queue_now(sessions, runner, "newsletter", "ana@example.com", "es",
                                 NEWSLETTER)  # fmt: skip
        await until(lambda: inbox.to("ana@example.com"), 20, "the newsletter")
    (message,) = inbox.to("ana@example.com")
    return inbox, str(queued.id), parts(message)["text/html"]


async def test_a_click_redirects_to_the_messages_own_link_and_is_counted(
    sent_newsletter: tuple[Inbox, str, str], http: httpx.AsyncClient, sessions: SessionFactory
) -> None:
    _, message_id, body = sent_newsletter
    (click,) = _links(body, "/e/c/")
    response = await http.get(_path(click))
    assert response.status_code == 302
    assert response.headers["location"] == NEWSLETTER["article_url"]
    await http.get(_path(click))
    row = await message_row(sessions, message_id)
    assert row.click_count == 2
    assert row.clicked_at is not None
    assert row.opened_at is not None  # a click proves the open


async def test_a_tampered_or_foreign_click_link_is_refused(
    sent_newsletter: tuple[Inbox, str, str],
    http: httpx.AsyncClient,
    sessions: SessionFactory,
    settings: Settings,
) -> None:
    _, message_id, body = sent_newsletter
    (click,) = _links(body, "/e/c/")
    path = _path(click)
    tampered_signature = re.sub(r"s=([^&]+)", lambda m: "s=" + m.group(1)[::-1], path)
    foreign_target = path.replace("spirit-tours.example%2Fnews", "evil.example%2Fnews")
    assert foreign_target != path
    signer = LinkSigner(settings.email_secret.get_secret_value().encode(), "http://x")
    # Even correctly signed, a target that was not in the message is refused.
    signed_foreign = signer.click_url(uuid.UUID(message_id), "https://evil.example/")
    other_message = path.replace(message_id, "00000000-0000-4000-8000-000000000000")
    for bad in (tampered_signature, foreign_target, _path(signed_foreign), other_message,
                f"/e/c/{message_id}", "/e/c/not-a-uuid?u=https://evil.example/&s=x"):  # fmt: skip
        response = await http.get(bad)
        assert response.status_code in (400, 404), bad
        assert "location" not in response.headers
        assert "evil.example" not in response.text
    row = await message_row(sessions, uuid.UUID(message_id))
    assert row.click_count == 0


async def test_the_open_pixel_records_the_open_and_ignores_forgeries(
    sent_newsletter: tuple[Inbox, str, str], http: httpx.AsyncClient, sessions: SessionFactory
) -> None:
    _, message_id, body = sent_newsletter
    (pixel,) = _links(body, "/e/o/")
    forged = re.sub(r"/e/o/([^/]+)/[^.]+\.gif", r"/e/o/\1/forged.gif", _path(pixel))
    response = await http.get(forged)
    assert response.headers["content-type"] == "image/gif"  # never tells a forger anything
    assert (await message_row(sessions, message_id)).opened_at is None
    response = await http.get(_path(pixel))
    assert response.status_code == 200
    assert response.content.startswith(b"GIF89a")
    assert "no-store" in response.headers["cache-control"]
    row = await message_row(sessions, message_id)
    assert row.opened_at is not None
    assert row.open_count == 1


async def test_one_click_unsubscribe_stops_marketing_mail_but_never_transactional_mail(
    smtp: tuple[Inbox, int],
    settings: Settings,
    sessions: SessionFactory,
    http: httpx.AsyncClient,
) -> None:
    inbox, port = smtp
    async with running_jobs(settings, port) as runner:
        first = await queue_now(sessions, runner, "newsletter", "Ana@Example.com", "en",
                                NEWSLETTER)  # fmt: skip
        await until(lambda: inbox.to("Ana@Example.com"), 20, "the newsletter")
        (message,) = inbox.to("Ana@Example.com")
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        unsubscribe = message["List-Unsubscribe"].strip().strip("<>")
        assert unsubscribe.startswith("http://127.0.0.1:8000/e/u/")
        assert unsubscribe in parts(message)["text/html"]  # the footer link is the same page

        # What a mail client does for RFC 8058: a POST, no cookies, no page.
        response = await http.post(
            _path(unsubscribe),
            content=b"List-Unsubscribe=One-Click",
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert response.status_code == 200
        row = await message_row(sessions, first.id)
        assert row.unsubscribed_at is not None

        inbox.received.clear()
        later = await queue_only(sessions, "newsletter", "ana@example.com", NEWSLETTER)
        assert later is None  # suppressed at queueing (kept for the statistics)
        welcome = await queue_now(sessions, runner, "welcome", "ana@example.com", "en", WELCOME)
        await until(lambda: inbox.to("ana@example.com"), 20, "the transactional mail")
        await settled(runner, sessions)
    assert [m["Subject"] for m in inbox.to("ana@example.com")] == [
        inbox.to("ana@example.com")[0]["Subject"]
    ]
    assert (await message_row(sessions, welcome.id)).status == EmailStatus.SENT
    # A survey is another kind of marketing mail: still wanted.
    survey = {"name": "Ana", "destination": "Cusco", "survey_url": "https://a.example/s"}
    assert await queue_only(sessions, "survey", "ana@example.com", survey) is not None


async def queue_only(
    sessions: SessionFactory, template: str, to: str, context: dict[str, str]
) -> Queued | None:
    async with sessions() as session, session.begin():
        return await queue_email(
            session, template=template, to=to, locale="en", context=context,
            message_id_domain="spirit-tours.example",
        )  # fmt: skip


async def test_the_preferences_page_shows_and_saves_choices_in_the_recipients_language(
    sent_newsletter: tuple[Inbox, str, str], http: httpx.AsyncClient, sessions: SessionFactory
) -> None:
    _, message_id, body = sent_newsletter
    (page_link,) = _links(body, "/e/u/")
    page = await http.get(_path(page_link))
    assert page.status_code == 200
    assert 'lang="es"' in page.text
    assert "Preferencias de correo" in page.text
    assert page.text.count("checked") == 3  # everything on
    saved = await http.post(_path(page_link), data={"preferences": "1", "survey": "on"})
    assert saved.status_code == 200
    assert "Tus preferencias se han guardado." in saved.text
    assert saved.text.count("checked") == 1  # only surveys stay on
    row = await message_row(sessions, message_id)
    assert row.unsubscribed_at is not None  # this message's newsletter was switched off
    forged = await http.get(_path(page_link)[:-3] + "abc")
    assert forged.status_code == 403
    other = await http.post(
        _path(page_link).replace(message_id, "00000000-0000-4000-8000-000000000000"),
        data={"preferences": "1"},
    )
    assert other.status_code == 403  # the signature belongs to one message only


async def test_a_multipart_or_empty_one_click_post_unsubscribes_from_that_kind_only(
    sent_newsletter: tuple[Inbox, str, str], http: httpx.AsyncClient, sessions: SessionFactory
) -> None:
    """RFC 8058 clients may POST multipart/form-data; whatever the body, a POST that is not
    the preferences form means: no more of this kind of mail — and nothing else."""
    _, _message_id, body = sent_newsletter
    (page_link,) = _links(body, "/e/u/")
    multipart = await http.post(_path(page_link), files={"List-Unsubscribe": (None, "One-Click")})
    assert multipart.status_code == 200
    empty = await http.post(_path(page_link))
    assert empty.status_code == 200
    from spirit_tours.resolvers.emails import suppressed_categories

    async with sessions() as session:
        assert await suppressed_categories(session, "ANA@example.com") == {"newsletter"}


async def test_an_unsubscribe_after_queueing_still_stops_the_waiting_newsletter(
    smtp: tuple[Inbox, int], settings: Settings, sessions: SessionFactory
) -> None:
    """Suppression is checked again when the worker picks the message up."""
    from spirit_tours.core.enums import SuppressionSource
    from spirit_tours.resolvers.emails import set_preferences

    inbox, port = smtp
    waiting = await queue_only(sessions, "newsletter", "ana@example.com", NEWSLETTER)
    assert waiting is not None  # queued while still subscribed
    async with sessions() as session, session.begin():
        await set_preferences(session, "ana@example.com", {"newsletter": False},
                              SuppressionSource.PREFERENCES)  # fmt: skip
    welcome = await queue_only(sessions, "welcome", "ana@example.com", WELCOME)
    assert welcome is not None
    async with running_jobs(settings, port) as runner:
        await enqueue_messages(runner.email_queues, [waiting, welcome])
        await until(lambda: inbox.to("ana@example.com"), 20, "the welcome mail")
        row = await until_status(sessions, waiting.id, EmailStatus.SUPPRESSED, 20)
    assert row.sent_at is None
    assert len(inbox.to("ana@example.com")) == 1  # the welcome mail only
