"""Rewrite a rendered message's HTML for tracking: each http(s) link goes through a signed
click redirect and an invisible pixel records the open. The plain-text part keeps the
original links (readers of plain text see where a link really goes)."""

from __future__ import annotations

import html
import re
import uuid
from dataclasses import dataclass, field

from spirit_tours.emails.links import LinkSigner

_HREF = re.compile(r'href="(?P<url>https?://[^"]+)"', re.IGNORECASE)
_TRACKABLE = re.compile(r'https?://[^"]+', re.IGNORECASE)
_BODY_END = re.compile(r"</body>", re.IGNORECASE)


def body_end(markup: str) -> int:
    """Where the last ``</body>`` starts (any case), or -1."""
    position = -1
    for match in _BODY_END.finditer(markup):
        position = match.start()
    return position


@dataclass(slots=True)
class Tracker:
    """Tracks one message's links and collects the targets its click links may lead to."""

    message_id: uuid.UUID
    signer: LinkSigner
    targets: list[str] = field(default_factory=list)

    def href(self, url: str) -> str:
        """An href's value (as in the HTML) once tracked: http(s) links to other sites go
        through the click redirect, our own unsubscribe/preferences links stay as they are."""
        if not _TRACKABLE.fullmatch(url):
            return url
        target = html.unescape(url)
        if self.signer.is_tracking_url(target):
            return url
        if target not in self.targets:
            self.targets.append(target)
        return html.escape(self.signer.click_url(self.message_id, target), quote=True)

    def pixel(self) -> str:
        return (
            f'<img src="{html.escape(self.signer.pixel_url(self.message_id), quote=True)}" '
            'width="1" height="1" alt="" style="display:block;border:0;width:1px;height:1px">'
        )

    def instrument(self, body: str) -> str:
        """``body`` with its links tracked and the pixel before ``</body>``."""
        tracked = _HREF.sub(lambda match: f'href="{self.href(match.group("url"))}"', body)
        closing = body_end(tracked)
        if closing < 0:
            return tracked + self.pixel()
        return tracked[:closing] + self.pixel() + tracked[closing:]


def instrument(body: str, message_id: uuid.UUID, signer: LinkSigner) -> tuple[str, list[str]]:
    """The tracked HTML and the list of targets its click links may redirect to."""
    tracker = Tracker(message_id, signer)
    return tracker.instrument(body), tracker.targets
