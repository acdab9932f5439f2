"""Signed tracking links: the open pixel, click redirects and unsubscribe pages.

Every link carries an HMAC over the message it belongs to (and, for clicks, the target), so
a link cannot be forged, moved to another message or pointed at another site. Click targets
are also checked against the links the message was sent with: never an open redirect.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from dataclasses import dataclass
from urllib.parse import quote, urlencode

TRACKING_PREFIX = "/e/"


def _signature(secret: bytes, *parts: str) -> str:
    digest = hmac.new(secret, "\x1f".join(parts).encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:18]).decode()


@dataclass(frozen=True, slots=True)
class LinkSigner:
    secret: bytes
    base_url: str  # where this server is reached, e.g. https://api.spirit-tours.example

    def sign(self, kind: str, message_id: uuid.UUID, target: str = "") -> str:
        return _signature(self.secret, kind, str(message_id), target)

    def verify(self, signature: str, kind: str, message_id: uuid.UUID, target: str = "") -> bool:
        return hmac.compare_digest(signature.encode(), self.sign(kind, message_id, target).encode())

    def pixel_url(self, message_id: uuid.UUID) -> str:
        return f"{self.base_url}{TRACKING_PREFIX}o/{message_id}/{self.sign('open', message_id)}.gif"

    def click_url(self, message_id: uuid.UUID, target: str) -> str:
        query = urlencode({"u": target, "s": self.sign("click", message_id, target)})
        return f"{self.base_url}{TRACKING_PREFIX}c/{message_id}?{query}"

    def unsubscribe_url(self, message_id: uuid.UUID) -> str:
        signature = quote(self.sign("unsubscribe", message_id), safe="")
        return f"{self.base_url}{TRACKING_PREFIX}u/{message_id}/{signature}"

    def is_tracking_url(self, url: str) -> bool:
        return url.startswith(f"{self.base_url}{TRACKING_PREFIX}")
