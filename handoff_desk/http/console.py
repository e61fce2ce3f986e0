"""The web console: the single page in `web/` (plain ES modules and CSS, no build step).

It lives beside the packages, so a clone with `pip install -e .` serves it; an install without
the directory answers `/` with a redirect to GraphiQL instead.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.staticfiles import StaticFiles

WEB_DIR = Path(__file__).resolve().parents[2] / "web"  # handoff_desk/http/ -> the root

# Everything the page needs comes from this server; the websocket is same-origin too.
_PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; connect-src 'self'; img-src 'self' data:; object-src 'none'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def available() -> bool:
    return (WEB_DIR / "index.html").is_file()


async def page(request: Request) -> Response:
    if not available():
        return RedirectResponse("/graphql")
    return FileResponse(WEB_DIR / "index.html", headers=_PAGE_HEADERS)


class RevalidatedFiles(StaticFiles):
    """A folder's files, revalidated on every load (they change with the server, and a stale
    module beside a fresh one breaks a page); those `hidden` says (of a path in the folder) are
    not served."""

    def __init__(self, directory: Path, hidden: Callable[[str], bool]) -> None:
        super().__init__(directory=directory, check_dir=False)
        self._hidden = hidden

    async def get_response(self, path: str, scope: Any) -> Response:
        if self._hidden(path):
            raise HTTPException(status_code=404)
        return await super().get_response(path, scope)

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = "no-cache"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


class Assets(RevalidatedFiles):
    """The console's modules and stylesheet (GraphiQL's files, in web/graphiql/, are served at
    /graphiql when it is on)."""

    def __init__(self) -> None:
        super().__init__(WEB_DIR, hidden=lambda path: path.split("/", 1)[0] == "graphiql")
