"""The web console, driven the way a person uses it: its system-tier tests (the whole story:
tests/api/test_console_e2e.py)."""

from __future__ import annotations

import asyncio
import json
import re

import pytest

from db.engine import Database
from db.enums import Priority
from handoff_desk.app import create_app
from resolvers.desk import Desk
from tests.http import GraphQLClient
from tests.inprocess import serving
from tests.server import ROOT
from tests.support.console_e2e import escalate_in_bulk
from workers import create_worker

pytestmark = pytest.mark.anyio


ARTIFACTS = ROOT / "test-artifacts" / "e2e"


PASSWORD = "handoff-demo"  # the demo users'


SAM, DANA, ALEX = "sam@northwind.example", "dana@northwind.example", "alex@northwind.example"


VIC = "vic@northwind.example"  # the demo's viewer


NAMES = {SAM: "Sam Okafor", DANA: "Dana Whitfield", ALEX: "Alex Rivera", VIC: "Vic Chen"}


VPN = "VPN drops every ten minutes on home Wi-Fi"  # Alex's active demo session


OUTLOOK = "Outlook keeps prompting for a password after the MFA change"  # escalated, high


PRINTER = "Shared printer offline for the finance team"  # escalated, urgent


@pytest.fixture
async def start_worker(demo_settings):
    """Starts a worker (the product's, with its own connection pool, as `handoff-desk worker`
    runs it): the pending assessments land."""
    started: list[tuple] = []

    def start() -> None:
        desk = Desk(settings=demo_settings, db=Database.from_url(demo_settings.database_url))
        worker = create_worker(desk)
        worker.start()
        started.append((worker, desk))

    yield start
    for worker, desk in started:
        await worker.stop()
        await desk.db.dispose()


TOKEN_KEY = "handoff-desk:token"  # where the console keeps its token (web/api.js)


@pytest.fixture
def open_desk(new_context, server, demo):
    """A new browser context (another person's browser) logged in as `email`: through the login
    form, or (`through_the_form=False`) as a browser that logged in before and kept its token."""

    async def open_desk(email: str, *, through_the_form: bool = False):
        context = await new_context()
        if not through_the_form:
            await context.add_init_script(kept_token(demo.tokens[email]))
        page = await context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.errors = errors
        await page.goto(server.url)
        if through_the_form:
            await log_in(page, email)
        else:
            await is_in(page, email)
        return page

    return open_desk


def kept_token(token: str) -> str:
    """A script for a browser's first page, before the console's: the token the console keeps
    after a login (web/api.js), put where it keeps it once (a context's storage_state would open
    a page of its own to put it there: a renderer's start, a second or so on a busy machine)."""
    return f"""if (!sessionStorage.getItem("kept-token")) {{
      sessionStorage.setItem("kept-token", "1");
      localStorage.setItem({json.dumps(TOKEN_KEY)}, {json.dumps(token)});
    }}"""


async def open_desks(open_desk, *emails: str):
    """Several people's browsers, opened at once."""
    return await asyncio.gather(*(open_desk(email) for email in emails))


async def log_in(page, email: str) -> None:

    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await is_in(page, email)


async def is_in(page, email: str) -> None:
    """The desk of `email`, live."""
    from playwright.async_api import expect

    await expect(page.locator("#who")).to_contain_text(NAMES[email])
    await is_live(page)


async def is_live(page) -> None:
    from playwright.async_api import expect

    await expect(page.locator("body")).to_have_attribute("data-live", "live")


def card(page, summary: str, where: str = "#queue"):
    return page.locator(f"{where} .card", has_text=summary)


def tab(page, label: str):
    return page.get_by_role("tab", name=re.compile(rf"^{label}\b"))


def screenshot(page, name: str, full_page: bool = False):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return page.screenshot(path=str(ARTIFACTS / name), full_page=full_page)


async def handoff_state(server, token: str, summary: str) -> dict:
    """The escalation of the queue with this summary, as the API tells it."""
    async with GraphQLClient(server.url) as client:
        data = await client.data(
            """{ handoffQueue(first: 50) { nodes {
                   session { problemSummary } claimedBy { name } unread
                   history { kind actor { name } } } } }""",
            token=token,
        )
    [node] = [n for n in data["handoffQueue"]["nodes"] if n["session"]["problemSummary"] == summary]
    return node


async def test_two_seniors_race_and_a_junior_escalates(open_desk, server, demo, start_worker):
    from playwright.async_api import expect

    # The junior logs in through the form; the seniors' browsers kept their tokens.
    sam, dana, alex = await asyncio.gather(
        open_desk(SAM), open_desk(DANA), open_desk(ALEX, through_the_form=True)
    )
    for senior in (sam, dana):  # the demo's escalations, newest unclaimed first by priority
        await expect(senior.locator("#queue .card-title")).to_have_text([PRINTER, OUTLOOK])
        await expect(card(senior, PRINTER).locator(".badge")).to_have_text("urgent")

    # The junior escalates the session they are stuck on, from the escalate page.
    await alex.get_by_role("link", name="Escalate").click()
    # The field keeps its name once the page has listed Alex's sessions in it.
    session_field = alex.get_by_label("Session", exact=True)
    await expect(session_field).to_contain_text(VPN)
    await session_field.select_option(label=VPN)
    await alex.get_by_label("Priority").select_option(label="Urgent")
    await alex.get_by_label("What you tried").fill("Reinstalled the client; drops persist.")
    await alex.set_viewport_size({"width": 1280, "height": 560})  # a laptop with a dock
    await alex.get_by_role("button", name="Escalate to the team").click()
    confirmation = alex.get_by_role("status").filter(has_text="Escalated")
    await expect(confirmation).to_contain_text(VPN)
    # Below the form, it is brought into view, and the keyboard with it.
    await expect(confirmation).to_be_focused()
    await expect(confirmation).to_be_in_viewport()

    # Both seniors see it arrive, unread, newest first among the urgent ones; its assessment
    # is pending: no worker runs yet.
    for senior in (sam, dana):
        await expect(senior.locator("#queue .card-title")).to_have_text([VPN, PRINTER, OUTLOOK])
        await expect(card(senior, VPN).locator(".dot")).to_be_visible()
        await card(senior, VPN).click()
        await expect(senior.locator(".detail h2")).to_have_text(VPN)
        await expect(senior.locator(".detail .notes")).to_contain_text("Reinstalled the client")
        await expect(senior.locator(".assessment")).to_contain_text("Assessment pending")
        await expect(senior.locator(".detail .conversation")).to_contain_text("home Wi-Fi")

    # The assessment lands (a worker runs it) and fills in by itself.
    start_worker()
    for senior in (sam, dana):
        await expect(senior.locator(".assessment")).to_contain_text("Rule-based triage")
        await expect(senior.locator(".assessment .steps li").first).to_be_visible()
        await expect(card(senior, VPN).locator(".assessing")).to_have_count(0)
        await expect(card(senior, VPN).locator(".dot")).to_have_count(0)  # opened: seen
    await expect(card(sam, PRINTER).locator(".assessing")).to_have_count(0)
    await screenshot(sam, "queue.png")

    # Both pick it up at the same moment: real mouse clicks where each one's button is.
    boxes = [await page.locator("#pick-up").bounding_box() for page in (sam, dana)]
    await asyncio.gather(
        *(
            page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
            for page, box in zip((sam, dana), boxes, strict=True)
        )
    )
    for page in (sam, dana):
        await expect(page.locator("#holder")).to_have_text(re.compile(r"^Claimed by "))
    holders = {
        email: await page.locator("#holder").inner_text()
        for email, page in ((SAM, sam), (DANA, dana))
    }
    winners = [email for email, text in holders.items() if text == "Claimed by you"]
    assert len(winners) == 1, holders
    [winner] = winners
    winner_page, loser_page = (sam, dana) if winner == SAM else (dana, sam)
    winner_name = NAMES[winner]
    assert holders[SAM if winner == DANA else DANA] == f"Claimed by {winner_name}"

    # The other one is told who won, and the card leaves their queue.
    await expect(loser_page.locator("#toast")).to_have_text(
        re.compile(rf"^Already claimed by {winner_name}, (just now|\d+ minutes? ago)$")
    )
    await expect(card(loser_page, VPN)).to_have_count(0)
    await expect(loser_page.locator("#queue .card-title")).to_have_text([PRINTER, OUTLOOK])
    # The server agrees: one claim, by the winner.
    state = await handoff_state(server, demo.tokens[SAM], VPN)
    assert state["claimedBy"]["name"] == winner_name
    assert [e["actor"]["name"] for e in state["history"] if e["kind"] == "CLAIMED"] == [winner_name]

    # The winner works it: the suggested steps are chips above the message box.
    await expect(card(winner_page, VPN, "#mine")).to_be_visible()
    await expect(card(winner_page, VPN)).to_have_count(0)
    chips = winner_page.get_by_role("group", name="Suggested steps")
    await expect(chips.locator(".chip").first).to_be_visible()
    await screenshot(winner_page, "claimed.png", full_page=True)
    step = await chips.locator(".chip").first.inner_text()
    await chips.locator(".chip").first.click()
    box = winner_page.get_by_label("Message")
    await expect(box).to_have_value(step)
    await expect(box).to_be_focused()
    await winner_page.get_by_role("button", name="Send").click()
    await expect(winner_page.locator(".conversation .message").last).to_contain_text(step)
    await expect(box).to_have_value("")
    await expect(chips).to_have_count(0)
    # Hidden for that session, not only until the page reloads.
    await winner_page.reload()
    await is_live(winner_page)
    await expect(winner_page.locator(".detail h2")).to_have_text(VPN)
    await expect(winner_page.get_by_label("Message")).to_be_visible()
    await expect(winner_page.get_by_role("group", name="Suggested steps")).to_have_count(0)

    for page in (sam, dana, alex):
        assert page.errors == [], page.errors


async def test_unread_dot_until_opened_and_follows_the_user(open_desk):
    from playwright.async_api import expect

    sam = await open_desk(SAM)
    dot = card(sam, OUTLOOK).locator(".dot")
    await expect(dot).to_be_visible()
    size = await dot.bounding_box()
    assert (size["width"], size["height"]) == (6, 6)
    await expect(sam.locator("#unread-count")).to_have_text("2")

    # Hovering is not opening: after a reload (the dot comes from the server) it is still there.
    await card(sam, OUTLOOK).hover()
    await sam.reload()
    await is_live(sam)
    await expect(card(sam, OUTLOOK).locator(".dot")).to_be_visible()
    await expect(card(sam, PRINTER).locator(".dot")).to_be_visible()

    await card(sam, OUTLOOK).click()
    await expect(sam.locator(".detail h2")).to_have_text(OUTLOOK)
    await expect(card(sam, OUTLOOK).locator(".dot")).to_have_count(0)
    await expect(sam.locator("#unread-count")).to_have_text("1")

    # Sam in another browser: the mark followed; Dana's marks are her own.
    elsewhere, dana = await open_desks(open_desk, SAM, DANA)
    await expect(card(elsewhere, PRINTER).locator(".dot")).to_be_visible()
    await expect(card(elsewhere, OUTLOOK).locator(".dot")).to_have_count(0)
    await expect(card(dana, OUTLOOK).locator(".dot")).to_be_visible()


async def test_a_dot_opened_in_one_window_clears_in_the_users_other_window(open_desk):
    """Issue 15: Sam has the desk open in two windows (two browser contexts); opening an
    escalation in one clears its dot and moves the badge in the other, without a reload. Dana's
    dot stays: a read mark is its reader's alone."""
    from playwright.async_api import expect

    laptop, phone, dana = await open_desks(open_desk, SAM, SAM, DANA)
    for page in (laptop, phone, dana):
        await expect(card(page, PRINTER).locator(".dot")).to_be_visible()
        await expect(page.locator("#unread-count")).to_have_text("2")

    await card(laptop, PRINTER).click()
    await expect(laptop.locator(".detail h2")).to_have_text(PRINTER)
    await expect(card(laptop, PRINTER).locator(".dot")).to_have_count(0)
    # The other window, untouched: the dot goes and the badge follows.
    await expect(card(phone, PRINTER).locator(".dot")).to_have_count(0)
    await expect(phone.locator("#unread-count")).to_have_text("1")
    await expect(phone).to_have_title("(1) Handoff Desk")
    await expect(card(phone, OUTLOOK).locator(".dot")).to_be_visible()

    # And back the other way: the phone opens Outlook, the laptop's badge empties.
    await card(phone, OUTLOOK).click()
    await expect(phone.locator(".detail h2")).to_have_text(OUTLOOK)
    await expect(card(laptop, OUTLOOK).locator(".dot")).to_have_count(0)
    await expect(laptop.locator("#unread-count")).to_be_hidden()
    await expect(laptop).to_have_title("Handoff Desk")
    # Dana's dots are hers: both still there, her badge unmoved.
    await expect(card(dana, PRINTER).locator(".dot")).to_be_visible()
    await expect(card(dana, OUTLOOK).locator(".dot")).to_be_visible()
    await expect(dana.locator("#unread-count")).to_have_text("2")
    for page in (laptop, phone, dana):
        assert page.errors == [], page.errors


async def test_a_message_and_a_note_typed_in_one_browser_appear_in_the_other(open_desk):
    """Issue 15: Sam picks up the printer and Dana has it open too. What Sam writes to the
    conversation appears in Dana's detail as he sends it, and the note Dana adds appears in
    Sam's, without a reload; each once in the sender's own."""
    from playwright.async_api import expect

    sam, dana = await open_desks(open_desk, SAM, DANA)
    await card(dana, PRINTER).click()
    await expect(dana.locator(".detail h2")).to_have_text(PRINTER)
    await card(sam, PRINTER).click()
    await sam.get_by_role("button", name="Pick up").click()
    await expect(sam.locator("#holder")).to_have_text("Claimed by you")
    await expect(dana.locator("#holder")).to_have_text(f"Claimed by {NAMES[SAM]}")
    await expect(dana.locator(".team-notes")).to_contain_text("No internal notes yet.")

    await sam.get_by_label("Message").fill("Restarted the spooler on PRN-2; printing a test page.")
    await sam.get_by_role("button", name="Send").click()
    said = "Restarted the spooler on PRN-2"
    for page in (sam, dana):
        await expect(page.locator(".conversation .message", has_text=said)).to_have_count(1)
    await expect(dana.locator(".conversation .message").last).to_contain_text(said)

    await dana.get_by_label("New note").fill("Finance prints payroll at 4 pm: keep it up.")
    await dana.get_by_role("button", name="Add note").click()
    noted = "Finance prints payroll at 4 pm"
    for page in (dana, sam):
        await expect(page.locator(".team-note", has_text=noted)).to_have_count(1)
        await expect(page.locator(".team-note", has_text=noted)).to_contain_text(NAMES[DANA])
    await expect(dana.get_by_label("New note")).to_have_value("")
    await screenshot(sam, "conversation-live.png")
    assert sam.errors == [] and dana.errors == []


async def test_who_else_is_viewing_appears_and_disappears(open_desk):
    """Issue 15: Sam opens an escalation; Dana's queue says so on its card. Dana opens it too:
    each detail says the other is viewing. Dana goes back to the queue: Sam's detail no longer
    says so. Sam's browser closes: the card no longer says so either."""
    from playwright.async_api import expect

    sam, dana = await open_desks(open_desk, SAM, DANA)
    outlook = await card(dana, OUTLOOK).element_handle()  # a card the news is not about
    await card(sam, PRINTER).click()
    await expect(sam.locator(".detail h2")).to_have_text(PRINTER)
    await expect(card(dana, PRINTER).locator(".viewers")).to_have_text("Sam is viewing")
    await expect(card(dana, OUTLOOK).locator(".viewers")).to_have_count(0)
    # The redraw kept the other cards' elements: a click landing on one as the news came in
    # is not dropped (the browser drops a click whose element was swapped under it).
    assert await outlook.evaluate("element => element.isConnected")
    await expect(sam.locator("#viewers")).to_be_hidden()  # nobody else; never oneself

    await card(dana, PRINTER).click()
    await expect(dana.locator(".detail h2")).to_have_text(PRINTER)
    await expect(dana.locator("#viewers")).to_have_text("Sam Okafor is viewing")
    await expect(sam.locator("#viewers")).to_have_text("Dana Whitfield is viewing")
    await expect(card(sam, PRINTER).locator(".viewers")).to_have_text("Dana is viewing")
    await screenshot(sam, "presence.png")

    await dana.evaluate("location.hash = '#/'")  # back to the queue: the detail is closed
    await expect(dana.locator(".detail")).to_have_count(0)
    await expect(sam.locator("#viewers")).to_be_hidden()
    await expect(card(sam, PRINTER).locator(".viewers")).to_have_count(0)
    await expect(card(dana, PRINTER).locator(".viewers")).to_have_text("Sam is viewing")

    await sam.context.close()  # Sam's browser goes away: so does he
    await expect(card(dana, PRINTER).locator(".viewers")).to_have_count(0)
    assert dana.errors == [], dana.errors


async def test_one_detail_shows_who_is_viewing_the_rating_the_conversation_and_notes(
    open_desk, start_worker
):
    """Issue 15's features in one detail: Sam and Dana have the printer open (each says the
    other is viewing); its assessment lands, Sam picks it up and writes, Dana adds a note, Sam
    rates the assessment and Dana asks for a fresh one. Each live event that draws the detail
    again (the landing, the rating, the reassessment) keeps the others: who is viewing, the
    message and the note, each once."""
    from playwright.async_api import expect

    sam, dana = await open_desks(open_desk, SAM, DANA)
    for page in (sam, dana):
        await card(page, PRINTER).click()
        await expect(page.locator(".detail h2")).to_have_text(PRINTER)
    await expect(sam.locator("#viewers")).to_have_text(f"{NAMES[DANA]} is viewing")
    await expect(dana.locator("#viewers")).to_have_text(f"{NAMES[SAM]} is viewing")
    start_worker()
    for page in (sam, dana):
        await expect(page.get_by_role("button", name="Not helpful")).to_be_visible()
        await expect(page.get_by_role("button", name="Reassess")).to_be_visible()

    await sam.get_by_role("button", name="Pick up").click()
    await expect(dana.locator("#holder")).to_have_text(f"Claimed by {NAMES[SAM]}")
    said = "Power-cycled PRN-2's network card."
    await sam.get_by_label("Message").fill(said)
    await sam.get_by_role("button", name="Send").click()
    noted = "Finance needs it by 4 pm."
    await dana.get_by_label("New note").fill(noted)
    await dana.get_by_role("button", name="Add note").click()
    for page in (sam, dana):
        await expect(page.locator(".conversation .message", has_text=said)).to_have_count(1)
        await expect(page.locator(".team-note", has_text=noted)).to_have_count(1)

    await sam.get_by_role("button", name="Not helpful").click()
    await expect(sam.locator("#my-rating")).to_have_text("You found it not helpful.")
    await dana.get_by_role("button", name="Reassess").click()
    for page in (sam, dana):
        earlier = page.locator("#earlier-assessments summary")
        await expect(earlier).to_have_text("Earlier assessments (1)")
        await expect(page.get_by_role("button", name="Not helpful")).to_be_visible()
        await expect(page.locator(".conversation .message", has_text=said)).to_have_count(1)
        await expect(page.locator(".team-note", has_text=noted)).to_have_count(1)
    await expect(sam.locator("#viewers")).to_have_text(f"{NAMES[DANA]} is viewing")
    await expect(dana.locator("#viewers")).to_have_text(f"{NAMES[SAM]} is viewing")
    await screenshot(sam, "issue-15-detail.png", full_page=True)
    assert sam.errors == [] and dana.errors == []


async def test_the_queue_catches_up_after_a_reconnect(open_desk, server, demo):
    """Escalated while the page had no connection: the page learns of it when the socket is
    back, by resubscribing after the last event it saw, without a reload."""
    from playwright.async_api import expect

    sam = await open_desk(SAM)
    await expect(sam.locator("#queue .card")).to_have_count(2)
    await server.stop()
    await expect(sam.locator("#live")).to_have_text("Reconnecting…")

    # Meanwhile, through another server on the same database, Alex escalates.
    async with serving(create_app(server.settings)) as other:
        alex = demo.tokens[ALEX]
        async with GraphQLClient(other.url) as client:
            sessions = await client.data("{ mySessions(status: ACTIVE) { id } }", token=alex)
            [session] = sessions["mySessions"]
            await client.escalate(alex, session["id"], priority="LOW")

    await server.start()  # the page's server is back, same address
    await is_live(sam)
    await expect(sam.locator("#queue .card-title")).to_have_text([PRINTER, OUTLOOK, VPN])
    await expect(card(sam, VPN).locator(".badge")).to_have_text("low")
    assert sam.errors == []


async def test_a_pick_up_that_fails_on_the_network_can_be_retried(open_desk):
    from playwright.async_api import expect

    dana = await open_desk(DANA)
    await card(dana, PRINTER).click()
    await expect(dana.locator("#detail-title")).to_have_text(PRINTER)
    await expect(dana.locator("#detail-title")).to_be_focused()  # the keyboard follows the card

    async def drop_claims(route):
        if "claimHandoff" in (route.request.post_data or ""):
            await route.abort("internetdisconnected")
        else:
            await route.continue_()

    await dana.route("**/graphql", drop_claims)
    await dana.get_by_role("button", name="Pick up").click()
    await expect(dana.get_by_role("alert").filter(has_text="Could not pick it up")).to_be_visible()
    pick_up = dana.get_by_role("button", name="Pick up")
    await expect(pick_up).to_be_enabled()
    await expect(pick_up).to_have_text("Pick up")
    await screenshot(dana, "pick-up-failed.png")

    await dana.unroute("**/graphql", drop_claims)
    await pick_up.click()
    await expect(dana.locator("#holder")).to_have_text("Claimed by you")
    await expect(dana.get_by_role("alert").filter(has_text="Could not pick it up")).to_have_count(0)
    assert dana.errors == []


async def test_a_link_to_an_escalation_one_cannot_see(open_desk, server):
    from playwright.async_api import expect

    sam = await open_desk(SAM)
    for handoff_id in ("not-an-id", "00000000-0000-4000-8000-000000000000"):
        await sam.goto(f"{server.url}/#/handoff/{handoff_id}")
        missing = sam.locator("#detail-missing")
        await expect(missing).to_contain_text("This escalation is not visible to you")
        await expect(missing).to_be_focused()
        await expect(sam.locator(".detail-pane")).not_to_contain_text("Loading")
        await expect(sam.locator("#toast")).to_be_hidden()  # no raw error
    await screenshot(sam, "not-visible.png")
    await sam.get_by_role("link", name="Back to the queue").click()
    await card(sam, OUTLOOK).click()
    await expect(sam.locator("#detail-title")).to_have_text(OUTLOOK)
    assert sam.errors == []


async def test_the_escalator_withdraws_and_reprioritises_and_the_team_sees_it(open_desk):
    from playwright.async_api import expect

    alex, sam = await open_desks(open_desk, ALEX, SAM)
    # Unclaimed escalations show their clock: the demo's are due within the hour.
    await expect(card(sam, OUTLOOK).locator(".sla")).to_have_text(
        re.compile(r"^due in (<1 min|\d+ min)$", re.IGNORECASE)
    )

    # Alex's own escalation: nothing to pick up; he may take it back, or change its priority.
    await card(alex, OUTLOOK).click()
    await expect(alex.locator("#holder")).to_have_text("Your escalation, waiting for a senior")
    await expect(alex.get_by_role("button", name="Pick up")).to_have_count(0)
    await alex.get_by_label("Change priority").select_option("LOW")
    await expect(alex.locator(".detail-badges .badge")).to_have_text("low")
    await expect(card(sam, OUTLOOK).locator(".badge")).to_have_text("low")  # live
    await screenshot(alex, "own-escalation.png")

    await alex.get_by_role("button", name="Withdraw").click()
    await expect(alex.locator("#holder")).to_have_text(re.compile(r"^Withdrawn by Alex Rivera"))
    await expect(alex.get_by_role("button", name="Withdraw")).to_have_count(0)
    await expect(card(alex, OUTLOOK)).to_have_count(0)
    await expect(sam.locator("#queue .card-title")).to_have_text([PRINTER])  # live
    assert alex.errors == [] and sam.errors == []


async def test_a_claim_is_transferred_and_resolved(open_desk):
    from playwright.async_api import expect

    sam, dana = await open_desks(open_desk, SAM, DANA)
    await card(sam, PRINTER).click()
    await sam.get_by_role("button", name="Pick up").click()
    await expect(sam.locator("#holder")).to_have_text("Claimed by you")

    # Sam hands it to Dana: she is told, and it is hers.
    await sam.get_by_label("Transfer to").select_option(label=NAMES[DANA])
    await sam.get_by_role("button", name="Transfer").click()
    await expect(sam.locator("#holder")).to_have_text(f"Claimed by {NAMES[DANA]}")
    await expect(card(sam, PRINTER, "#mine")).to_have_count(0)
    await expect(dana.locator("#toast")).to_contain_text(f"{NAMES[SAM]} handed you")
    await expect(tab(dana, "Mine")).to_have_text("Mine1")
    await tab(dana, "Mine").click()
    await expect(card(dana, PRINTER, "#mine")).to_be_visible()
    await screenshot(sam, "transferred.png")

    # Dana works it and resolves it: it leaves her handoffs.
    await card(dana, PRINTER, "#mine").click()
    await expect(dana.locator("#holder")).to_have_text("Claimed by you")
    await dana.get_by_role("button", name="Resolve").click()
    await expect(dana.locator("#holder")).to_have_text("Resolved by you")
    await expect(dana.get_by_role("button", name="Release")).to_have_count(0)
    await expect(card(dana, PRINTER, "#mine")).to_have_count(0)
    await screenshot(dana, "resolved.png")
    assert sam.errors == [] and dana.errors == []


async def test_a_live_update_keeps_the_transferee_and_the_message_being_typed(
    open_desk, server, demo
):
    """Sam has chosen whom to hand the printer to, and typed half a message, when Dana changes
    its priority from her own client: the detail redraws (the new priority shows) and keeps
    both, and the message box the keyboard was in; the transfer goes through."""
    from playwright.async_api import expect

    sam = await open_desk(SAM)
    await card(sam, PRINTER).click()
    await sam.get_by_role("button", name="Pick up").click()
    await expect(sam.locator("#holder")).to_have_text("Claimed by you")
    handoff_id = sam.url.rsplit("/", 1)[1]

    await sam.get_by_label("Transfer to").select_option(label=NAMES[DANA])
    box = sam.get_by_label("Message")
    await box.fill("Dana, the spooler on PRN-2")
    async with GraphQLClient(server.url) as client:
        result = await client.data(
            """mutation ($id: ID!) { setHandoffPriority(input: { handoffId: $id, priority: LOW }) {
                   __typename } }""",
            {"id": handoff_id},
            token=demo.tokens[DANA],
        )
    assert result["setHandoffPriority"]["__typename"] == "SetHandoffPrioritySuccess"
    await expect(sam.locator(".detail-badges .badge")).to_have_text("low")  # redrawn, live
    await expect(sam.get_by_label("Change priority")).to_have_value("LOW")

    await expect(sam.get_by_label("Transfer to").locator("option:checked")).to_have_text(
        NAMES[DANA]
    )
    await expect(box).to_have_value("Dana, the spooler on PRN-2")
    await expect(box).to_be_focused()
    await expect(sam.get_by_role("button", name="Transfer")).to_be_enabled()
    await sam.get_by_role("button", name="Transfer").click()
    await expect(sam.locator("#holder")).to_have_text(f"Claimed by {NAMES[DANA]}")
    assert sam.errors == []


async def test_the_views_as_tabs_with_counts_search_and_more(open_desk, server, demo):
    from playwright.async_api import expect

    # Alex escalates 19 more (low): 21 open escalations, more than a page of the All view.
    summaries = [f"Mailbox quota warning #{n}" for n in range(19)]
    await escalate_in_bulk(server.settings, ALEX, summaries, Priority.LOW)
    async with GraphQLClient(server.url) as client:
        printer = await first_id(client, demo.tokens[ALEX])
        assert await client.claim(demo.tokens[DANA], printer) == "ClaimHandoffSuccess"

    sam, alex = await open_desks(open_desk, SAM, ALEX)
    await expect(tab(sam, "Unclaimed")).to_have_text("Unclaimed20")
    await expect(tab(sam, "Mine")).to_have_text("Mine0")
    await expect(tab(sam, "All")).to_have_text("All21")
    await expect(tab(sam, "Unclaimed")).to_have_attribute("aria-selected", "true")

    # All: a page, then the rest.
    await tab(sam, "All").click()
    await expect(tab(sam, "All")).to_have_attribute("aria-selected", "true")
    await expect(sam.locator("#view-list .card")).to_have_count(20)
    await sam.get_by_role("button", name="Load more").click()
    await expect(sam.locator("#view-list .card")).to_have_count(21)
    # Claimed ones come after the unclaimed: Dana's is the last.
    await expect(card(sam, PRINTER, "#view-list")).to_contain_text(f"{NAMES[DANA]} has it")
    await expect(sam.get_by_role("button", name="Load more")).to_be_hidden()

    # Search and filters narrow the view shown.
    await sam.get_by_label("Search").fill("printer finance")
    await expect(sam.locator("#view-list .card-title")).to_have_text([PRINTER])
    await sam.get_by_label("Search").fill("")
    await sam.get_by_label("Filter by priority").select_option("HIGH")
    await expect(sam.locator("#view-list .card-title")).to_have_text([OUTLOOK])
    await tab(sam, "Unclaimed").click()  # the filter stays: the unclaimed high ones
    await expect(sam.locator("#view-list .card-title")).to_have_text([OUTLOOK])
    await screenshot(sam, "views.png")
    await sam.get_by_label("Filter by priority").select_option("")
    await expect(sam.locator("#queue .card")).to_have_count(20)  # back to the live queue

    # Alex: his escalations, and his parked session (his only one), resumed from its tab.
    async with GraphQLClient(server.url) as client:
        parks = await client.data("{ myParkedSessions { nodes { id } } }", token=demo.tokens[ALEX])
    [park] = parks["myParkedSessions"]["nodes"]
    await expect(tab(alex, "My escalations")).to_have_text("My escalations21")
    await expect(tab(alex, "Parked")).to_have_text("Parked1")
    await tab(alex, "Parked").click()
    await alex.locator("#view-list .card").click()
    await expect(alex).to_have_url(f"{server.url}/#/handoff/{park['id']}")
    await expect(alex.locator("#holder")).to_have_text("Parked")
    await alex.get_by_role("button", name="Resume").click()
    await expect(alex.locator("#holder")).to_have_text("Park closed: its session moved on")
    await expect(alex.get_by_role("button", name="Resume")).to_have_count(0)
    await expect(tab(alex, "Parked")).to_have_text("Parked0")
    await expect(alex.locator("#view-list .card")).to_have_count(0)
    await screenshot(alex, "parked.png")
    assert sam.errors == [] and alex.errors == []


async def first_id(client, token: str) -> str:
    """The first escalation of the queue (the urgent printer)."""
    data = await client.data("{ handoffQueue(first: 1) { nodes { id } } }", token=token)
    return data["handoffQueue"]["nodes"][0]["id"]


async def test_an_overdue_escalation_says_by_how_long(open_desk):
    """The badge counts down to the due time, then says how long it is overdue (the browser's
    clock is moved on: the demo's high escalation is due 15 minutes after it was raised)."""
    from datetime import UTC, datetime, timedelta

    from playwright.async_api import expect

    sam = await open_desk(SAM)
    badge = card(sam, OUTLOOK).locator(".sla")
    await expect(badge).to_have_text(re.compile(r"^due in \d+ min$", re.IGNORECASE))
    await sam.clock.set_system_time(datetime.now(UTC) + timedelta(minutes=25))
    await card(sam, OUTLOOK).click()
    overdue = re.compile(r"^overdue (9|10|11) min$", re.IGNORECASE)
    await expect(badge).to_have_text(overdue)
    await expect(sam.locator(".detail-badges .sla")).to_have_text(overdue)
    await screenshot(sam, "overdue.png")

    # The tabs answer the arrow keys.
    await tab(sam, "Unclaimed").focus()
    await sam.keyboard.press("ArrowRight")
    await expect(tab(sam, "Mine")).to_be_focused()
    await expect(tab(sam, "Mine")).to_have_attribute("aria-selected", "true")
    await sam.keyboard.press("End")
    await expect(tab(sam, "Parked")).to_have_attribute("aria-selected", "true")
    assert sam.errors == []


async def test_an_escalation_that_fails_to_load_says_so_with_a_retry_and_a_double_click_claims_once(
    open_desk, server, demo
):
    from playwright.async_api import expect

    dana = await open_desk(DANA)

    async def drop_details(route):
        if "query Handoff(" in (route.request.post_data or ""):
            await route.abort("internetdisconnected")
        else:
            await route.continue_()

    await dana.route("**/graphql", drop_details)
    await card(dana, OUTLOOK).click()
    await expect(dana.get_by_role("alert")).to_contain_text("Could not load the escalation")
    retry = dana.get_by_role("button", name="Retry")
    await expect(retry).to_be_focused()
    await dana.unroute("**/graphql", drop_details)
    await retry.click()
    await expect(dana.locator("#detail-title")).to_have_text(OUTLOOK)
    await expect(dana.locator("#detail-title")).to_be_focused()

    # Dana is an admin: she may take back someone else's escalation, and hand on any claim.
    await expect(dana.get_by_role("button", name="Pick up")).to_be_visible()
    await expect(dana.get_by_role("button", name="Withdraw")).to_be_visible()
    await dana.get_by_role("button", name="Pick up").click()
    await expect(dana.locator("#holder")).to_have_text("Claimed by you")
    await expect(dana.get_by_label("Transfer to")).to_contain_text(NAMES[SAM])

    # A double click on another one's button claims it once (back in the unclaimed ones: the
    # claim showed her own).
    claims: list[str] = []
    dana.on(
        "request",
        lambda r: claims.append(r.url) if "claimHandoff" in (r.post_data or "") else None,
    )
    await tab(dana, "Unclaimed").click()
    await card(dana, PRINTER).click()
    await dana.get_by_role("button", name="Pick up").dblclick()
    await expect(dana.locator("#holder")).to_have_text("Claimed by you")
    await expect(card(dana, PRINTER, "#mine")).to_be_visible()
    assert len(claims) == 1, claims
    state = await handoff_state(server, demo.tokens[DANA], PRINTER)
    assert [e["kind"] for e in state["history"]].count("CLAIMED") == 1
    assert dana.errors == []


async def test_a_withdrawal_that_loses_to_a_claim_says_who_won(open_desk, server, demo):
    """Dana claims the escalation just as Alex takes it back: Alex is told, in the detail
    (role=alert), and sees who holds it now."""
    from playwright.async_api import expect

    alex = await open_desk(ALEX)
    dana_token = demo.tokens[DANA]
    await card(alex, OUTLOOK).click()
    await expect(alex.locator("#detail-title")).to_have_text(OUTLOOK)
    handoff_id = alex.url.rsplit("/", 1)[1]

    async def claim_first(route):
        if "withdrawHandoff" in (route.request.post_data or ""):
            async with GraphQLClient(server.url) as client:
                assert await client.claim(dana_token, handoff_id) == "ClaimHandoffSuccess"
        await route.continue_()

    await alex.route("**/graphql", claim_first)
    await alex.get_by_role("button", name="Withdraw").click()
    await expect(alex.get_by_role("alert")).to_contain_text(NAMES[DANA])
    await expect(alex.locator("#holder")).to_have_text(f"Claimed by {NAMES[DANA]}")
    await expect(alex.get_by_role("button", name="Withdraw")).to_have_count(0)
    await screenshot(alex, "withdraw-lost.png")
    assert alex.errors == []


async def test_the_live_queue_loads_more_past_its_first_hundred(open_desk, server):
    from playwright.async_api import expect

    # 101 unclaimed with the demo's two.
    await escalate_in_bulk(server.settings, ALEX, [f"Disk #{n}" for n in range(99)], Priority.LOW)
    sam = await open_desk(SAM)
    await expect(tab(sam, "Unclaimed")).to_have_text("Unclaimed101")
    await expect(sam.locator("#queue .card")).to_have_count(100)
    await sam.get_by_role("button", name="Load more").click()
    await expect(sam.locator("#queue .card")).to_have_count(101)
    await expect(sam.get_by_role("button", name="Load more")).to_be_hidden()
    assert sam.errors == []


async def test_a_senior_rates_the_assessment_and_asks_for_a_fresh_one(open_desk, start_worker):
    """Issue 15: thumbs down with a reason, then "Reassess": the fresh assessment (the rules set
    aside the cause rated down) appears in both seniors' windows without a reload, and the first
    one, with Sam's rating, is kept under "Earlier assessments"."""
    from playwright.async_api import expect

    sam, dana, vic = await open_desks(open_desk, SAM, DANA, VIC)
    for page in (sam, dana, vic):
        await card(page, PRINTER).click()
        await expect(page.locator(".assessment")).to_contain_text("Assessment pending")
    start_worker()
    printing = "The print spooler or a printer driver on the print server is failing."
    for page in (sam, dana, vic):
        await expect(page.locator(".assessment")).to_contain_text(printing)
    # A viewer reads the assessment; rating it and asking for another are the seniors'.
    await expect(vic.get_by_role("button", name="Not helpful")).to_have_count(0)
    await expect(vic.get_by_role("button", name="Reassess")).to_have_count(0)

    why = "The spooler is fine: the printer's network card died."
    await sam.get_by_label("Why? (optional)").fill(why)
    await sam.get_by_role("button", name="Not helpful").click()
    await expect(sam.locator("#my-rating")).to_have_text("You found it not helpful.")
    await expect(sam.get_by_role("button", name="Not helpful")).to_have_attribute(
        "aria-pressed", "true"
    )
    await expect(sam.get_by_role("button", name="Helpful", exact=True)).to_have_attribute(
        "aria-pressed", "false"
    )
    await expect(sam.get_by_label("Why? (optional)")).to_have_value(why)

    await sam.get_by_role("button", name="Reassess").click()
    network = "A local network configuration fault (DNS, DHCP or wireless)."
    for page in (sam, dana):
        await expect(page.locator(".assessment dd").first).to_have_text(network)
        asked = re.compile(rf"Asked for by\s*{NAMES[SAM]}")
        await expect(page.locator(".assessment dl")).to_contain_text(asked)
        earlier = page.locator("#earlier-assessments")
        await expect(earlier.locator("summary")).to_have_text("Earlier assessments (1)")
        await earlier.locator("summary").click()
        await expect(earlier).to_contain_text(printing)
        await expect(earlier).to_contain_text(f"{NAMES[SAM]}: not helpful — {why}")
    # The fresh one is not rated yet, by Sam either.
    await expect(sam.locator("#my-rating")).to_have_text("")
    await screenshot(sam, "reassessed.png", full_page=True)
    for page in (sam, dana, vic):
        assert page.errors == [], page.errors


async def test_the_bell_rings_when_a_teammate_escalates(open_desk, server, demo):
    """Issue 15: Sam's bell counts his notifications live: Alex escalates, the count rises
    without a reload; the dropdown lists it, and "Mark all read" empties the count. Sound is off
    until turned on, and the browser is asked about desktop alerts only on a click."""
    from playwright.async_api import expect

    sam = await open_desk(SAM)
    async with GraphQLClient(server.url) as client:
        before = (await client.data("{ notifications { unreadCount } }", token=demo.tokens[SAM]))[
            "notifications"
        ]["unreadCount"]
        sessions = await client.data(
            "{ mySessions { id problemSummary status } }", token=demo.tokens[ALEX]
        )
        [vpn] = [s for s in sessions["mySessions"] if s["problemSummary"] == VPN]
        if before:
            await expect(sam.locator("#bell-count")).to_have_text(str(before))
        await client.escalate(demo.tokens[ALEX], vpn["id"], "URGENT")

    await expect(sam.locator("#bell-count")).to_have_text(str(before + 1))
    assert await sam.evaluate("Notification.permission") == "default"  # nobody asked yet
    await sam.locator("#bell").click()
    panel = sam.locator("#bell-panel")
    await expect(panel).to_be_visible()
    first = panel.locator(".bell-list li").first
    await expect(first).to_contain_text("Alex Rivera escalated")
    await expect(first).to_contain_text(VPN)
    await expect(sam.locator("#bell-sound")).not_to_be_checked()
    await expect(sam.locator("#bell-desktop")).to_be_visible()
    await screenshot(sam, "bell.png")

    await sam.locator("#bell-read-all").click()
    await expect(sam.locator("#bell-count")).to_be_hidden()
    await expect(panel.locator(".bell-list li.unread")).to_have_count(0)
    assert sam.errors == [], sam.errors
