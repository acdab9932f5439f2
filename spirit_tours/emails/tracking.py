"""Rewrite a rendered message's HTML for tracking: each http(s) link goes through a signed
click redirect and an invisible pixel records the open. The plain-text part keeps the
original links (readers of plain text see where a link really goes)."""

from __future__ import annotations

import html
import re
import uuid

from spirit_tours.emails.links import LinkSigner

_HREF = re.compile(r'href="(?P<url>https?://[^"]+)"', re.IGNORECASE)


def instrument(body: str, message_id: uuid.UUID, signer: LinkSigner) -> tuple[str, list[str]]:
    """The tracked HTML and the list of targets its click links may redirect to."""
    targets: list[str] = []

    def rewrite(match: re.Match[str]) -> str:
        target = html.unescape(match.group("url"))
        if signer.is_tracking_url(target):
            return match.group(0)  # our own unsubscribe/preferences links stay as they are
        if target not in targets:
            targets.append(target)
        return f'href="{html.escape(signer.click_url(message_id, target), quote=True)}"'

    tracked = _HREF.sub(rewrite, body)
    pixel = (
        f'<img src="{html.escape(signer.pixel_url(message_id), quote=True)}" width="1" '
        'height="1" alt="" style="display:block;border:0;width:1px;height:1px">'
    )
    closing = tracked.lower().rfind("</body>")
    if closing < 0:
        return tracked + pixel, targets
    return tracked[:closing] + pixel + tracked[closing:], targets
