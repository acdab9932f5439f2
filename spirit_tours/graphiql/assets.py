"""GraphiQL's files, served from memory under ``/graphiql/<digest>/<name>``.

Two kinds: the npm packages' files vendored unchanged in ``vendor/`` (``scripts/
vendor_graphiql.py`` put them there and recorded each one's SHA-384 in ``vendor/manifest.json``;
a file that no longer matches stops the server from starting), and this project's own start-up
script and styles in ``static/``. Each is read once per process with its SHA-384, which the page
names in ``integrity=``. The digest in the URL changes with the content, so browsers keep a file
for a year without asking again (``immutable``); a browser that accepts gzip gets it compressed
(GraphiQL's bundle is 3.4 MB, about a fifth of that gzipped), compressed once per process.
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

HERE = Path(__file__).parent
VENDOR = HERE / "vendor"
STATIC = HERE / "static"
PREFIX = "/graphiql"
ROUTE = PREFIX + "/{digest}/{name}"
IMMUTABLE = "public, max-age=31536000, immutable"
_MEDIA_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}


class AssetMismatchError(RuntimeError):
    """A vendored file differs from what ``vendor/manifest.json`` says was downloaded."""


def integrity_of(body: bytes) -> str:
    """The Subresource Integrity value of ``body``: SHA-384, as browsers check it."""
    return "sha384-" + base64.b64encode(hashlib.sha384(body).digest()).decode()


@dataclass(frozen=True)
class Asset:
    name: str
    body: bytes
    integrity: str

    @property
    def media_type(self) -> str:
        return _MEDIA_TYPES[Path(self.name).suffix]

    @property
    def digest(self) -> str:
        """A short name of the content for the URL: the first hex digits of its SHA-384."""
        return base64.b64decode(self.integrity.removeprefix("sha384-")).hex()[:16]

    @property
    def url(self) -> str:
        return f"{PREFIX}/{self.digest}/{self.name}"

    async def compressed(self) -> bytes:
        """The file gzipped, compressed on first need (in a thread: the bundle takes a while)."""
        body = _GZIPPED.get(self.integrity)
        if body is None:
            body = await asyncio.to_thread(gzip.compress, self.body, 6, mtime=0)
            _GZIPPED[self.integrity] = body
        return body


_GZIPPED: dict[str, bytes] = {}  # by integrity, once per process


@dataclass(frozen=True)
class Bundle:
    """GraphiQL's files in the page's order: stylesheets, then scripts (ours last)."""

    stylesheets: tuple[Asset, ...]
    scripts: tuple[Asset, ...]

    def find(self, name: str) -> Asset | None:
        return next((a for a in (*self.stylesheets, *self.scripts) if a.name == name), None)


def _vendored() -> list[Asset]:
    assets = []
    for entry in json.loads((VENDOR / "manifest.json").read_text()):
        body = (VENDOR / entry["name"]).read_bytes()
        if integrity_of(body) != entry["integrity"]:
            raise AssetMismatchError(
                f"spirit_tours/graphiql/vendor/{entry['name']} is not the file of "
                f"{entry['package']}@{entry['version']} recorded in manifest.json: run "
                "`python scripts/vendor_graphiql.py` to download it again"
            )
        assets.append(Asset(entry["name"], body, entry["integrity"]))
    return assets


def _own(name: str) -> Asset:
    body = (STATIC / name).read_bytes()
    return Asset(name, body, integrity_of(body))


@lru_cache(maxsize=1)
def bundle() -> Bundle:
    """The files, read and checked once per process."""
    files = [*_vendored(), _own("spirit-graphiql.css"), _own("spirit-graphiql.js")]
    return Bundle(
        stylesheets=tuple(a for a in files if a.name.endswith(".css")),
        scripts=tuple(a for a in files if a.name.endswith(".js")),
    )


def _accepts_gzip(request: Request) -> bool:
    """Whether ``Accept-Encoding`` names gzip with a weight above 0 (RFC 9110 §12.5.3: a
    qvalue of 0 — "0", "0.0", "0.000" — means "not acceptable")."""
    for part in request.headers.get("accept-encoding", "").lower().split(","):
        coding, _, params = part.strip().partition(";")
        if coding.strip() == "gzip" and _weight(params) > 0:
            return True
    return False


def _weight(params: str) -> float:
    key, _, value = params.replace(" ", "").partition("=")
    if key != "q":
        return 1.0
    try:
        return float(value)
    except ValueError:
        return 0.0


async def serve_asset(request: Request) -> Response:
    """One file by its current digest; a stale or unknown one is a 404 (never cached)."""
    asset = bundle().find(request.path_params["name"])
    if asset is None or request.path_params["digest"] != asset.digest:
        return PlainTextResponse("Not Found", status_code=404)
    headers = {"Cache-Control": IMMUTABLE, "Vary": "Accept-Encoding"}
    if _accepts_gzip(request):
        headers["Content-Encoding"] = "gzip"
        return Response(await asset.compressed(), media_type=asset.media_type, headers=headers)
    return Response(asset.body, media_type=asset.media_type, headers=headers)
