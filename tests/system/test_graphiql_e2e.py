"""GraphiQL at /graphql on a network without internet: Debian's Chromium (through Playwright)
with every request beyond 127.0.0.1 refused, as a locked-down network refuses a CDN. A person
logs in with a mutation, puts the token in the Headers pane, runs a query and a subscription;
the console, on the same blocked network, asks nothing of anywhere else either.

The fixtures (the demo's data, the server, Chromium) are tests/support/console_e2e.py's.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx
import pytest

from tests.http import GraphQLClient
from tests.waiting import wait_for

pytestmark = pytest.mark.anyio

PASSWORD = "handoff-demo"  # the demo users'
SAM, ALEX = "sam@northwind.example", "alex@northwind.example"
VPN = "VPN drops every ten minutes on home Wi-Fi"  # Alex's active demo session


@dataclass
class Offline:
    """What a page asked of the network, with everything beyond 127.0.0.1 refused."""

    refused: list[str] = field(default_factory=list)
    sockets: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # script errors, what the CSP refused


async def offline_page(new_context):
    """A browser whose network ends at 127.0.0.1 (page.route sees every request but the
    websockets, which are listed to be checked)."""
    context = await new_context()
    offline = Offline()

    async def only_local(route) -> None:
        url = route.request.url
        if urlsplit(url).hostname == "127.0.0.1":
            await route.continue_()
        else:
            offline.refused.append(url)
            await route.abort("internetdisconnected")

    await context.route("**/*", only_local)
    page = await context.new_page()
    page.on("websocket", lambda socket: offline.sockets.append(socket.url))
    page.on("pageerror", lambda error: offline.problems.append(str(error)))

    def on_console(message) -> None:
        # (Other lines of the libraries' own, such as react-remove-scroll-bar's on the page's
        # overflow: hidden, which Strawberry's page has too, are not the desk's to fix.)
        if "Content Security Policy" in message.text:
            offline.problems.append(message.text)

    page.on("console", on_console)
    return page, offline


async def subscriptions_open(server, count: int) -> bool:
    async with httpx.AsyncClient(base_url=server.url) as client:
        metrics = (await client.get("/metrics")).text
    return f"handoff_desk_subscriptions_open {float(count)}" in metrics.splitlines()


def editor(page, where: str):
    """The editor shown there (the tools' pane holds the variables' and the headers')."""
    return page.locator(f"{where} .CodeMirror").filter(visible=True)


async def write(page, where: str, text: str) -> None:
    """Replaces what an editor holds, as typed (inserted whole: no brackets closed for us)."""
    await editor(page, where).click()
    await page.keyboard.press("Control+A")
    await page.keyboard.press("Delete")
    await page.keyboard.insert_text(text)


async def response(page) -> dict:
    """The result pane's JSON, read from its editor (it shows only the lines in view)."""
    text = await page.evaluate(
        "document.querySelector('.graphiql-response .CodeMirror').CodeMirror.getValue()"
    )
    return json.loads(text)


async def run(page, document: str) -> None:
    await write(page, ".graphiql-query-editor", document)
    # GraphiQL parses the editor's text 100 ms after the last change, and tells a subscription
    # (sent over the websocket) from the parse: a person is never that quick, a test waits.
    await page.wait_for_function(
        """(text) => document.querySelector('.graphiql-query-editor .CodeMirror')
             .CodeMirror.documentAST?.loc?.source.body === text""",
        arg=document,
    )
    await page.get_by_role("button", name=re.compile("Execute query")).click()


async def test_graphiql_works_with_no_internet(new_context, server, demo):
    from playwright.async_api import expect

    page, offline = await offline_page(new_context)
    await page.goto(f"{server.url}/graphql")
    await expect(editor(page, ".graphiql-query-editor")).to_be_visible()
    # The explorer plugin lists the schema's fields (GraphiQL read the schema).
    await page.get_by_role("button", name="Show GraphiQL Explorer").click()
    await expect(page.locator(".graphiql-explorer-root")).to_contain_text("handoffQueue")
    # A dialog (it adds a <style> element: the page's CSP allows it).
    await page.get_by_role("button", name="Open settings dialog").click()
    await expect(page.get_by_role("dialog")).to_contain_text("Persist headers")
    await page.keyboard.press("Escape")
    await expect(page.get_by_role("dialog")).to_have_count(0)

    # Logging in is a mutation; the token comes back in the result.
    await run(
        page,
        f'mutation {{ login(input: {{ email: "{SAM}", password: "{PASSWORD}" }}) {{'
        " ... on LoginSuccess { token user { name } } } }",
    )
    await expect(page.locator(".graphiql-response")).to_contain_text("Sam Okafor")
    token = (await response(page))["data"]["login"]["token"]

    # The Headers pane authenticates queries...
    await page.get_by_role("button", name="Headers").click()
    await write(page, ".graphiql-editor-tool", json.dumps({"Authorization": f"Bearer {token}"}))
    await run(page, "{ me { name role } }")
    await expect(page.locator(".graphiql-response")).to_contain_text('"me"')
    assert (await response(page)) == {"data": {"me": {"name": "Sam Okafor", "role": "ENGINEER"}}}

    # ...and subscriptions (the same pane is the websocket's connection_init payload).
    await run(page, "subscription { handoffCreated { handoff { session { problemSummary } } } }")
    async with GraphQLClient(server.url) as client:  # the junior escalates, elsewhere
        await wait_for(lambda: subscriptions_open(server, 1), "GraphiQL's subscription")
        sessions = await client.data(
            "{ mySessions(status: ACTIVE) { id problemSummary } }", token=demo.tokens[ALEX]
        )
        [vpn] = [s for s in sessions["mySessions"] if s["problemSummary"] == VPN]
        await client.escalate(demo.tokens[ALEX], vpn["id"])
    await expect(page.locator(".graphiql-response")).to_contain_text(VPN)
    created = (await response(page))["data"]["handoffCreated"]
    assert created["handoff"]["session"]["problemSummary"] == VPN

    assert offline.refused == []
    assert [urlsplit(url)[:2] for url in offline.sockets] == [("ws", urlsplit(server.url).netloc)]
    assert offline.problems == []


async def test_the_console_asks_nothing_beyond_the_desk(new_context, server, demo):
    from playwright.async_api import expect

    page, offline = await offline_page(new_context)
    await page.goto(server.url)
    await page.get_by_label("Email").fill(SAM)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await expect(page.locator("#who")).to_contain_text("Sam Okafor")
    await expect(page.locator("body")).to_have_attribute("data-live", "live")
    await expect(page.locator("#queue .card").first).to_be_visible()

    assert offline.refused == []
    assert {urlsplit(url).hostname for url in offline.sockets} == {"127.0.0.1"}
    assert offline.problems == []
