"""GraphiQL's page and its Content Security Policy: everything from this server.

The page only names the files of ``assets.bundle()`` with their ``integrity=``; what GraphiQL
does is in our start-up script (``static/spirit-graphiql.js``), so no inline script needs
allowing. Styles allow inline ones too: GraphiQL's dialogs insert a ``<style>`` element.
"""

from __future__ import annotations

from functools import lru_cache
from html import escape

from spirit_tours.graphiql.assets import bundle

_PAGE = """<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>Spirit Tours GraphiQL</title>
    <link rel="icon" href="data:,">
{stylesheets}
  </head>
  <body>
    <div id="graphiql">Loading GraphiQL…</div>
{scripts}
  </body>
</html>
"""


@lru_cache(maxsize=1)
def page_html() -> str:
    files = bundle()
    stylesheets = "\n".join(
        f'    <link rel="stylesheet" href="{escape(a.url)}" integrity="{a.integrity}">'
        for a in files.stylesheets
    )
    scripts = "\n".join(
        f'    <script defer src="{escape(a.url)}" integrity="{a.integrity}"></script>'
        for a in files.scripts
    )
    return _PAGE.format(stylesheets=stylesheets, scripts=scripts)


def page_policy(origin: str | None) -> str:
    """Scripts, styles and queries from this server only (``origin``, when known, named for
    the WebSocket too: older browsers do not count ws: as 'self'); fonts are inlined in
    GraphiQL's stylesheet as data: URLs."""
    sockets = f" {origin.replace('http', 'ws', 1)}" if origin else ""
    return (
        "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "font-src data:; img-src 'self' data:; "
        f"connect-src 'self'{sockets}; frame-ancestors 'none'; base-uri 'none'; "
        "form-action 'none'"
    )
