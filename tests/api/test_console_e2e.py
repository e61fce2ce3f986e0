"""The web console, driven the way a person uses it: Debian's Chromium (headless, through
Playwright) against the console and its API served by uvicorn in the test's process, on a SQLite
file seeded with `serve --demo`'s data.

One database is enough here: the API under the page is tested on SQLite and PostgreSQL elsewhere.
One Chromium serves the session; each person is a browser context of their own, closed after the
test. Screenshots land in test-artifacts/e2e/ (git-ignored).
"""

from __future__ import annotations

import re

import httpx
import pytest

pytestmark = pytest.mark.anyio


async def test_the_console_is_served_with_the_api(server):
    """`/` is the console (nothing from elsewhere), its modules are served, GraphiQL stays."""
    async with httpx.AsyncClient(base_url=server.url) as client:
        page = await client.get("/")
        assert page.status_code == 200
        assert '<script type="module" src="/console/app.js">' in page.text
        assert "default-src 'self'" in page.headers["content-security-policy"]
        assert not re.search(r"(src|href)=\"(https?:)?//", page.text)  # no CDN
        module = await client.get("/console/app.js")
        assert module.status_code == 200
        assert module.headers["content-type"].startswith("text/javascript")
        assert (await client.get("/console/nope.js")).status_code == 404
        ide = await client.get("/graphql", headers={"accept": "text/html"})
        assert ide.status_code == 200
        assert "graphiql" in ide.text.lower()
