"""GraphiQL at /graphql, served by the desk itself: its page (`web/graphiql/index.html`) loads
React, GraphiQL and the explorer plugin from `/graphiql/vendor/`, the releases that
`web/graphiql/vendor/VERSIONS.json` records (with their licences; `scripts/vendor-graphiql`
fetches them again). Nothing comes from elsewhere, so it works on a network without internet.

Like the console, the files live beside the packages (`web/`): an install without them falls
back to Strawberry's page, which loads the same releases from a CDN.
"""

from __future__ import annotations

from starlette.responses import FileResponse, Response

from handoff_desk.http.console import WEB_DIR, RevalidatedFiles

GRAPHIQL_DIR = WEB_DIR / "graphiql"
PAGE = GRAPHIQL_DIR / "index.html"

# Scripts and styles from this server only; the queries and the subscriptions' websocket are
# same-origin. GraphiQL's stylesheet embeds its fonts and images as data: URLs. Its dialogs
# (react-remove-scroll) add a <style> element to lock the page's scroll, which a style-src
# without 'unsafe-inline' refuses; inline styles cannot run code, scripts stay 'self' only.
_PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "connect-src 'self'; img-src 'self' data:; font-src 'self' data:; object-src 'none'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def available() -> bool:
    return PAGE.is_file()


def page() -> Response:
    return FileResponse(PAGE, headers=_PAGE_HEADERS)


class Assets(RevalidatedFiles):
    """The page's script and stylesheet and the vendored releases (the page itself is served at
    /graphql, with its headers)."""

    def __init__(self) -> None:
        super().__init__(GRAPHIQL_DIR, hidden=lambda path: path == "index.html")
