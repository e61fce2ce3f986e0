"""Notifications people control (issue 15, point 4): each user's preferences, the account's
defaults, honoured when the emails are recorded and sent (a real local SMTP server); the signed
link in each email, which changes those preferences and nothing else; and the in-app list.
On SQLite and PostgreSQL."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote

import pytest
from sqlmodel import col, select

from db.enums import EmailStatus, NotificationKind, Priority
from db.models import EmailMessage, HandoffTimer
from resolvers import claims, lifecycle
from resolvers.desk import Desk, transaction
from resolvers.notification_prefs import LINK_TTL, link_token
from resolvers.timers import check_timer
from tests.api.test_emails import email_worker, running, smtp  # noqa: F401  (the smtp fixture)
from tests.factories import make_escalation, make_session
from tests.http import GraphQLClient
from tests.inprocess import in_process_fixture  # noqa: F401  (the in_process fixture)
from tests.waiting import wait_for
from tests.ws import GraphQLSocket

pytestmark = pytest.mark.anyio


@pytest.fixture
def mailbox(smtp):  # noqa: F811  (the imported fixture, by name)
    """A local SMTP server's mailbox (tests/api/test_emails.py)."""
    return smtp


MINE = """{ myNotificationPreferences { newEscalations myEscalations inAppOnly
  effective { newEscalations myEscalations inAppOnly }
  accountDefaults { newEscalations myEscalations inAppOnly } } }"""
SET_MINE = """mutation($input: MyNotificationPreferencesInput!) {
  setMyNotificationPreferences(input: $input) { preferences { newEscalations myEscalations
    inAppOnly effective { newEscalations myEscalations inAppOnly } } } }"""
SET_DEFAULTS = """mutation($input: NotificationDefaultsInput!) {
  setNotificationDefaults(input: $input) { __typename
    ... on SetNotificationDefaultsSuccess { defaults { newEscalations myEscalations inAppOnly } }
    ... on NotPermitted { message } } }"""
LIST = """query($first: Int = 20, $after: String) { notifications(first: $first, after: $after) {
  unreadCount pageInfo { hasNextPage endCursor }
  nodes { id kind handoffId priority summary read actor { name } } } }"""
MARK = """mutation($ids: [ID!], $all: Boolean = false) {
  markNotificationsRead(input: { ids: $ids, all: $all }) { unreadCount } }"""


async def set_mine(api, member, **values) -> dict:
    answer = await api.data(SET_MINE, {"input": values}, member.token)
    return answer["setMyNotificationPreferences"]["preferences"]


async def delivered(desk, mailbox, handoff_ids, count: int, *, clock=None) -> dict[str, list]:
    """Runs the email worker (on `clock`'s time, if given) until `count` emails of these
    escalations went out: each recipient's messages."""
    wanted = [uuid.UUID(str(h)) for h in handoff_ids]

    async def sent():
        async with desk.db.read() as db:
            rows = (
                await db.exec(select(EmailMessage).where(col(EmailMessage.handoff_id).in_(wanted)))
            ).all()
        done = [r for r in rows if r.status == EmailStatus.SENT]
        return rows if len(rows) == count and len(done) == count else None

    working = desk if clock is None else Desk(settings=desk.settings, db=desk.db, clock=clock)
    await running(email_worker(working, mailbox.url), lambda: wait_for(sent, f"{count} emails"))
    by_recipient: dict[str, list] = {}
    for rcpts, message in mailbox.messages():
        for rcpt in rcpts:
            by_recipient.setdefault(rcpt, []).append(message)
    return by_recipient


# --- preferences, and the worker honouring them ---


async def test_each_engineers_preference_decides_their_escalation_emails(api, desk, team, mailbox):
    kim, sam, alex = team.acme["kim"], team.acme["sam"], team.acme["alex"]
    assert (await set_mine(api, kim, newEscalations="NONE"))["effective"]["newEscalations"] == (
        "NONE"
    )
    await set_mine(api, sam, newEscalations="HIGH_AND_URGENT")

    urgent = await make_escalation(desk, alex, "Core switch down", priority=Priority.URGENT)
    normal = await make_escalation(desk, alex, "Printer toner low", priority=Priority.NORMAL)
    inbox = await delivered(desk, mailbox, [urgent.id, normal.id], 3)

    # Dana follows the default (all); Sam hears of the urgent one only; Kim of neither.
    assert sorted(inbox) == ["dana.admin@acme.test", "sam.senior@acme.test"]
    assert sorted(m["Subject"] for m in inbox["dana.admin@acme.test"]) == [
        "Escalated: Core switch down",
        "Escalated: Printer toner low",
    ]
    assert [m["Subject"] for m in inbox["sam.senior@acme.test"]] == ["Escalated: Core switch down"]
    assert "vic.viewer@acme.test" not in inbox  # viewers never, whatever they chose


async def test_the_account_default_applies_to_whoever_chose_nothing(api, desk, team, mailbox):
    dana, sam, kim = team.acme["dana"], team.acme["sam"], team.acme["kim"]
    await set_mine(api, sam, newEscalations="ALL")  # his own choice outlives the default
    answer = await api.data(SET_DEFAULTS, {"input": {"newEscalations": "NONE"}}, dana.token)
    assert answer["setNotificationDefaults"]["defaults"] == {
        "newEscalations": "NONE",
        "myEscalations": True,
        "inAppOnly": False,
    }
    mine = (await api.data(MINE, token=kim.token))["myNotificationPreferences"]
    assert mine["newEscalations"] is None  # Kim chose nothing ...
    assert mine["effective"]["newEscalations"] == "NONE"  # ... so the account's default rules
    assert mine["accountDefaults"]["newEscalations"] == "NONE"

    handoff = await make_escalation(desk, team.acme["alex"], "Wi-Fi drops", Priority.URGENT)
    inbox = await delivered(desk, mailbox, [handoff.id], 1)
    assert sorted(inbox) == ["sam.senior@acme.test"]

    # Back to the default: null follows the account again.
    back = await set_mine(api, sam, newEscalations=None)
    assert back["newEscalations"] is None
    assert back["effective"]["newEscalations"] == "NONE"


async def test_only_an_admin_sets_the_account_defaults(api, desk, team):
    answer = await api.data(SET_DEFAULTS, {"input": {"inAppOnly": True}}, team.acme["kim"].token)
    assert answer["setNotificationDefaults"]["__typename"] == "NotPermitted"
    defaults = await api.data(
        "{ notificationDefaults { inAppOnly } }", token=team.acme["kim"].token
    )
    assert defaults["notificationDefaults"] == {"inAppOnly": False}


async def test_in_app_only_sends_no_email_but_lists_the_escalation(api, desk, team, mailbox):
    kim = team.acme["kim"]
    await set_mine(api, kim, inAppOnly=True)
    handoff = await make_escalation(desk, team.acme["alex"], "Disk full", Priority.HIGH)

    inbox = await delivered(desk, mailbox, [handoff.id], 2)
    assert sorted(inbox) == ["dana.admin@acme.test", "sam.senior@acme.test"]
    listed = (await api.data(LIST, token=kim.token))["notifications"]
    assert listed["unreadCount"] == 1
    (node,) = listed["nodes"]
    assert node["kind"] == "NEW_ESCALATION"
    assert (node["handoffId"], node["priority"], node["summary"]) == (
        str(handoff.id),
        "HIGH",
        "Disk full",
    )
    assert (node["read"], node["actor"]) == (False, {"name": "Alex Junior"})


async def test_a_choice_left_out_stays_as_it_is(api, team):
    kim = team.acme["kim"]
    await set_mine(api, kim, newEscalations="HIGH_AND_URGENT", myEscalations=False)
    after = await set_mine(api, kim, inAppOnly=True)
    assert (after["newEscalations"], after["myEscalations"], after["inAppOnly"]) == (
        "HIGH_AND_URGENT",
        False,
        True,
    )


# --- the escalator: claimed, transferred, overdue ---


class _Ahead:
    def __init__(self, minutes: float) -> None:
        self.by = timedelta(minutes=minutes)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.by


async def test_the_escalator_hears_of_the_claim_the_transfer_and_the_wait(api, desk, team, mailbox):
    alex, kim, sam = team.acme["alex"], team.acme["kim"], team.acme["sam"]
    claimed = await make_escalation(desk, alex, "Label printer jams", Priority.HIGH)
    waiting = await make_escalation(desk, alex, "VPN flaps", Priority.URGENT)
    assert (await claims.claim_handoff(desk, kim.viewer, claimed.id)).id == claimed.id
    moved = await lifecycle.transfer_handoff(desk, kim.viewer, claimed.id, sam.user.id)
    assert moved.id == claimed.id
    # Urgent is overdue after 5 minutes (the admins are told 5 later).
    later = Desk(settings=desk.settings, db=desk.db, clock=_Ahead(7))
    async with transaction(later) as tx:
        stmt = select(HandoffTimer.id).where(HandoffTimer.handoff_id == waiting.id)
        await check_timer(tx, "", (await tx.session.exec(stmt)).one())

    # 3 + 3 escalation emails, Sam's "handed to you", the team's overdue (3), and Alex's 3.
    inbox = await delivered(
        desk, mailbox, [claimed.id, waiting.id], 3 + 3 + 1 + 3 + 3, clock=later.clock
    )
    assert sorted(m["Subject"] for m in inbox["alex.junior@acme.test"]) == [
        "Claimed: Label printer jams",
        "Handed on: Label printer jams",
        "Still waiting: VPN flaps",
    ]
    bodies = {m["Subject"]: m.get_content() for m in inbox["alex.junior@acme.test"]}
    assert "Kim Senior claimed the escalation you raised." in bodies["Claimed: Label printer jams"]
    assert "to Sam Senior" in bodies["Handed on: Label printer jams"]
    kinds = [n["kind"] for n in (await api.data(LIST, token=alex.token))["notifications"]["nodes"]]
    assert kinds == ["OVERDUE", "TRANSFERRED", "CLAIMED"]  # newest first


async def test_an_escalator_who_opted_out_hears_nothing_of_their_escalations(
    api, desk, team, mailbox
):
    alex, kim = team.acme["alex"], team.acme["kim"]
    await set_mine(api, alex, myEscalations=False)
    handoff = await make_escalation(desk, alex, "Scanner offline")
    assert (await claims.claim_handoff(desk, kim.viewer, handoff.id)).id == handoff.id

    inbox = await delivered(desk, mailbox, [handoff.id], 3)  # the escalation's, to the seniors
    assert "alex.junior@acme.test" not in inbox
    assert (await api.data(LIST, token=alex.token))["notifications"]["nodes"] == []


# --- the link in each email ---


def _link(message) -> str:
    found = re.search(r"(https?://\S+/email-preferences\?token=\S+)", message.get_content())
    assert found, message.get_content()
    return found.group(1)


def _token(link: str) -> str:
    return unquote(link.split("token=", 1)[1])


async def test_each_email_links_to_its_recipients_preferences_without_a_login(
    api, desk, team, mailbox
):
    handoff = await make_escalation(desk, team.acme["alex"], "Badge reader dead")
    inbox = await delivered(desk, mailbox, [handoff.id], 3)
    kim_link = _link(inbox["kim.senior@acme.test"][0])
    assert kim_link != _link(inbox["sam.senior@acme.test"][0])  # each recipient's own
    token = _token(kim_link)

    page = await api.client.get("/email-preferences", params={"token": token})
    assert page.status_code == 200
    assert "Kim Senior" in page.text and "kim.senior@acme.test" in page.text
    assert "Sam Senior" not in page.text
    assert page.headers["referrer-policy"] == "no-referrer"

    saved = await api.client.post(
        "/email-preferences",
        data={
            "token": token,
            "new_escalations": "high_and_urgent",
            "my_escalations": "default",
            "in_app_only": "yes",
        },
    )
    assert saved.status_code == 200 and "Saved." in saved.text
    mine = (await api.data(MINE, token=team.acme["kim"].token))["myNotificationPreferences"]
    assert (mine["newEscalations"], mine["myEscalations"], mine["inAppOnly"]) == (
        "HIGH_AND_URGENT",
        None,
        True,
    )
    # Sam's preferences did not move.
    sams = (await api.data(MINE, token=team.acme["sam"].token))["myNotificationPreferences"]
    assert (sams["newEscalations"], sams["inAppOnly"]) == (None, None)

    # The link is no login: refused by the API, and it sets no cookie.
    assert "set-cookie" not in saved.headers
    error = await api.error("{ me { id } }", token=token)
    assert error["extensions"]["code"] == "UNAUTHENTICATED"


async def test_a_link_is_refused_after_it_expires_or_when_forged(api, desk, team):
    kim = team.acme["kim"]
    old = link_token(
        desk.settings, kim.user.id, kim.user.account_id, datetime.now(UTC) - LINK_TTL - timedelta(1)
    )
    expired = await api.client.get("/email-preferences", params={"token": old})
    assert expired.status_code == 403 and "expired" in expired.text

    # A login token is not a link: it names no audience.
    login = await api.client.get("/email-preferences", params={"token": kim.token})
    assert login.status_code == 403

    # Another user's id in a token signed with another secret: refused.
    forged = link_token(
        desk.settings.model_copy(update=dict(token_secret="x" * 64)),
        team.acme["sam"].user.id,
        kim.user.account_id,
        datetime.now(UTC),
    )
    tries = await api.client.post(
        "/email-preferences",
        data={"token": forged, "new_escalations": "none", "my_escalations": "no"},
    )
    assert tries.status_code == 403
    sams = (await api.data(MINE, token=team.acme["sam"].token))["myNotificationPreferences"]
    assert sams["newEscalations"] is None

    # A user of one account named with another account's id: refused.
    crossed = link_token(desk.settings, kim.user.id, team.globex.account.id, datetime.now(UTC))
    assert (await api.client.get("/email-preferences", params={"token": crossed})).status_code == (
        403
    )


# --- the in-app list ---


async def test_the_list_pages_marks_read_and_stays_in_its_account(api, desk, team):
    kim, gail = team.acme["kim"], team.globex["gail"]
    made = [await make_escalation(desk, team.acme["alex"], f"Problem {n}") for n in range(3)]
    await make_escalation(desk, team.globex["gus"], "Globex problem")

    first = (await api.data(LIST, {"first": 2}, kim.token))["notifications"]
    assert [n["summary"] for n in first["nodes"]] == ["Problem 2", "Problem 1"]
    assert first["pageInfo"]["hasNextPage"] is True and first["unreadCount"] == 3
    rest = await api.data(LIST, {"first": 2, "after": first["pageInfo"]["endCursor"]}, kim.token)
    assert [n["handoffId"] for n in rest["notifications"]["nodes"]] == [str(made[0].id)]

    # Gail sees Globex's only, and cannot mark Kim's read.
    gails = (await api.data(LIST, token=gail.token))["notifications"]
    assert [n["summary"] for n in gails["nodes"]] == ["Globex problem"]
    kims_ids = [n["id"] for n in first["nodes"]]
    assert (await api.data(MARK, {"ids": kims_ids}, gail.token))["markNotificationsRead"] == {
        "unreadCount": 1
    }
    assert (await api.data(LIST, token=kim.token))["notifications"]["unreadCount"] == 3

    marked = await api.data(MARK, {"ids": kims_ids[:1]}, kim.token)
    assert marked["markNotificationsRead"] == {"unreadCount": 2}
    listed = (await api.data(LIST, token=kim.token))["notifications"]["nodes"]
    assert [n["read"] for n in listed] == [True, False, False]
    assert (await api.data(MARK, {"all": True}, kim.token))["markNotificationsRead"] == {
        "unreadCount": 0
    }
    # Sam's are his: Kim's marking left them unread.
    sams = (await api.data(LIST, token=team.acme["sam"].token))["notifications"]
    assert sams["unreadCount"] == 3


async def test_a_user_keeps_only_the_newest_notifications(api, desk, team):
    bounded = Desk(settings=desk.settings.model_copy(update=dict(notifications_kept=2)), db=desk.db)
    for n in range(4):
        await make_escalation(bounded, team.acme["alex"], f"Problem {n}")
    listed = (await api.data(LIST, token=team.acme["kim"].token))["notifications"]
    assert [n["summary"] for n in listed["nodes"]] == ["Problem 3", "Problem 2"]
    assert listed["unreadCount"] == 2


async def test_bad_list_arguments_are_clear_errors(api, team):
    token = team.acme["kim"].token
    error = await api.error(LIST, {"first": 0}, token)
    assert "first must be between 1 and" in error["message"]
    error = await api.error(LIST, {"after": "not-a-cursor"}, token)
    assert "cursor" in error["message"]
    error = await api.error(MARK, {"ids": ["abc"]}, token)
    assert "not a notification id" in error["message"]


def test_kinds_are_what_the_schema_says():
    assert {k.name for k in NotificationKind} == {
        "NEW_ESCALATION",
        "CLAIMED",
        "TRANSFERRED",
        "OVERDUE",
    }


# --- the bell, live ---

COUNT = "subscription { myNotificationCount { unreadCount } }"


def bell(data: dict) -> int:
    return data["myNotificationCount"]["unreadCount"]


async def test_the_bell_counts_live_on_each_of_the_users_clients_and_nobody_elses(
    in_process, desk, team
):
    server = await in_process()
    kim, alex, gus = team.acme["kim"], team.acme["alex"], team.globex["gus"]
    session = await make_session(desk, alex, "Mail server slow")
    async with (
        GraphQLSocket(server.url) as laptop,
        GraphQLSocket(server.url) as phone,
        GraphQLSocket(server.url) as gus_ws,
        GraphQLClient(server.url) as http,
    ):
        for ws, member in ((laptop, kim), (phone, kim), (gus_ws, gus)):
            await ws.connect(member.token)
            await ws.subscribe(COUNT)
        await server.until_streams(3)
        assert [bell(await ws.next_data()) for ws in (laptop, phone, gus_ws)] == [0, 0, 0]

        # A teammate escalates: Kim's bell rings on both her clients.
        await http.escalate(alex.token, session.id, "URGENT")
        assert bell(await laptop.next_data()) == 1
        assert bell(await phone.next_data()) == 1

        # She reads it on her laptop: both clients go back to 0.
        marked = await http.data(MARK, {"all": True}, kim.token)
        assert marked["markNotificationsRead"] == {"unreadCount": 0}
        assert bell(await laptop.next_data()) == 0
        assert bell(await phone.next_data()) == 0

        # Gus (another account) heard nothing of any of it.
        assert (await gus_ws.barrier()) == []
