"""Security headers on every HTTP response.

Every answer says ``nosniff``, sends no referrer, may not be framed, and carries a Content
Security Policy suited to what it is: JSON and plain pages may load nothing at all; the e-mail
preference page and the offline checkout may post their own form; the queue monitor runs its
own scripts; GraphiQL (``graphiql.page``) loads its files from this server only. An endpoint
that sets its own policy keeps it. Behind an https public URL, browsers are also told to use
https only (HSTS).
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable
from urllib.parse import urlsplit

from saq.web.common import render
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Nothing may be loaded, framed, posted or used as a base: right for JSON and plain text.
API_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
HSTS = "max-age=31536000"
_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.\-]+(:[0-9]{1,5})?$")


def inline_hashes(html: str) -> list[str]:
    """CSP sources allowing each inline ``<script>`` of ``html`` (and nothing else inline)."""
    scripts = re.findall(r"<script>(.*?)</script>", html, flags=re.DOTALL)
    return [
        "'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'"
        for body in scripts
    ]


def origin_of(url: str) -> str | None:
    """The origin of an http(s) URL as a CSP source, or None when it is not a plain one."""
    parts = urlsplit(url)
    origin = f"{parts.scheme}://{parts.netloc}"
    return origin if _ORIGIN.match(origin) else None


def form_page_policy(form_targets: Iterable[str] = ()) -> str:
    """A server-rendered page with inline styles and a form posting to this server (and, for
    a form answered by a redirect, to the redirect's origin)."""
    targets = " ".join(("'self'", *form_targets))
    return (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
        f"form-action {targets}; frame-ancestors 'none'; base-uri 'none'"
    )


def _monitor_policy(mount: str) -> str:
    """saq's monitor: its own scripts and styles, one inline script naming its root path."""
    hashes = " ".join(inline_hashes(render(root_path=mount)))
    return (
        f"default-src 'none'; script-src 'self' {hashes}; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
        "form-action 'self'"
    )


def baseline_headers(policy: str, *, https: bool) -> list[tuple[str, str]]:
    """The headers every response carries (``policy`` being its Content Security Policy): the
    middleware adds them to the application's answers, the HTTP edge (``edge.protocol``) to
    the refusals it writes itself (408, 431)."""
    headers = [
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "no-referrer"),
        ("X-Frame-Options", "DENY"),
        ("Content-Security-Policy", policy),
    ]
    if https:
        headers.append(("Strict-Transport-Security", HSTS))
    return headers


def serves_https(public_url: str) -> bool:
    """Whether browsers reach this server over https (then HSTS is sent)."""
    return public_url.startswith("https://")


class SecurityHeaders:
    """ASGI middleware adding the headers to every HTTP response that lacks them."""

    def __init__(self, app: ASGIApp, *, https: bool, monitor_mount: str) -> None:
        self.app = app
        self.https = https
        # By path prefix: the policy of the pages served there (API_POLICY elsewhere).
        self.policies: tuple[tuple[str, str], ...] = (
            (monitor_mount, _monitor_policy(monitor_mount)),
            ("/e/u/", form_page_policy()),
            ("/payments/offline/", form_page_policy()),
        )

    def policy_for(self, path: str) -> str:
        return next((policy for prefix, policy in self.policies if path.startswith(prefix)),
                    API_POLICY)  # fmt: skip

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", []))
                headers = MutableHeaders(scope=message)
                for name, value in baseline_headers(
                    self.policy_for(scope["path"]), https=self.https
                ):
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, with_headers)
