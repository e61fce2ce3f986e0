"""The console's login for a person who is a user of two accounts with one password: it asks
which account, and opens the one chosen. Chromium against the console served in the test's
process on the demo's data (SQLite), as in test_console_e2e (the API under it is tested on both
databases in test_email_per_account)."""

from __future__ import annotations

import pytest

from tests.http import GraphQLClient
from tests.system.test_console_e2e import NAMES, PASSWORD, SAM, is_live, screenshot

# The console's fixtures (tests/support/console_e2e.py): Chromium (one for the session), browser
# contexts closed after the test, and the demo's data served on its own SQLite file.

pytestmark = pytest.mark.anyio

CASEY = "casey@contoso.example"  # the demo's admin of Contoso Helpdesk
ADD = """mutation($input: AddUserInput!) { addUser(input: $input) { __typename } }"""


async def test_a_person_of_two_accounts_chooses_one_at_login(new_context, server, demo):
    from playwright.async_api import expect

    # Sam of Northwind is also an engineer of Contoso, with the same password.
    async with GraphQLClient(server.url) as client:
        person = {"name": "Sam Okafor", "email": SAM, "role": "ENGINEER", "password": PASSWORD}
        added = await client.data(ADD, {"input": person}, token=demo.tokens[CASEY])
    assert added["addUser"]["__typename"] == "AddUserSuccess"

    context = await new_context()
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto(server.url)
    for account in ("Contoso Helpdesk", "Northwind IT Services"):
        await page.get_by_label("Email").fill(SAM)
        await page.get_by_label("Password").fill(PASSWORD)
        await page.get_by_role("button", name="Log in").click()
        choice = page.get_by_label("Account")
        await expect(choice.locator("option")).to_have_text(
            ["Contoso Helpdesk", "Northwind IT Services"]
        )
        await expect(page.get_by_role("alert")).to_contain_text("choose one")
        await screenshot(page, "login-account-choice.png")
        await choice.select_option(label=account)
        await page.get_by_role("button", name="Log in").click()
        await expect(page.locator("#topbar .account")).to_have_text(account)
        await expect(page.locator("#who")).to_contain_text(NAMES[SAM])
        await is_live(page)
        await page.get_by_role("button", name="Sign out").click()
        # Signed out: the form is back, with no account picker left over.
        await expect(page.get_by_label("Email")).to_be_visible()
        await expect(page.get_by_label("Account")).to_have_count(0)

    # Typing another email takes the picker away: the accounts were that email's.
    await page.get_by_label("Email").fill(SAM)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_label("Account")).to_have_count(1)
    await page.get_by_label("Email").fill("dana@northwind.example")
    await expect(page.get_by_label("Account")).to_have_count(0)
    await page.get_by_role("button", name="Log in").click()
    await expect(page.locator("#topbar .account")).to_have_text("Northwind IT Services")
    await expect(page.locator("#who")).to_contain_text("Dana Whitfield")
    assert errors == []
