"""Timers that keep nothing waiting (issue 14, point 4): an escalation unclaimed past its time is
marked overdue and the team told again, the admins a period later; a claimer who does nothing on
a claim is nudged, then the claim goes back to the queue (unless the account turned that off).

Time is a clock the test moves (`FakeClock`), which the app, the test's desk and the timer
workers all read: nothing here waits for minutes to pass. The workers run in this process, on the
real database (SQLite and PostgreSQL), as tests/api/test_workers.py runs the assessment workers.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from sqlalchemy import update
from sqlmodel import col, select

from db.engine import Database, create_engine
from db.enums import EmailStatus, EventKind, HandoffIntent, JobKind, JobState, Priority
from db.migrate import alembic_config
from db.models import AccountEvent, EmailMessage, Handoff, Job
from handoff_desk.app import create_app
from handoff_desk.settings import Settings
from resolvers import claims, sessions
from resolvers.desk import Desk
from tests.api.test_emails import smtp  # noqa: F401  (the smtp fixture)
from tests.api.test_query_count import counting_statements
from tests.conftest import TOKEN_SECRET, Api, Shadow, _client
from tests.factories import make_escalation, make_team
from tests.http import GraphQLClient
from tests.inprocess import in_process_fixture  # noqa: F401  (the in_process fixture)
from tests.waiting import wait_for
from tests.ws import GraphQLSocket
from workers.emails import email_job
from workers.runner import Worker
from workers.timers import TIMER_ATTEMPTS, timer_job

pytestmark = pytest.mark.anyio

SENIORS = ["dana.admin@acme.test", "kim.senior@acme.test", "sam.senior@acme.test"]

HANDOFF = """query($id: ID!) { handoff(id: $id) {
  createdAt dueAt overdue slaState claimedBy { name } session { status }
  history { kind reason occurredAt actor { name } } } }"""
CLAIM = "mutation($h: ID!) { claimHandoff(input: { handoffId: $h }) { __typename } }"
RELEASE = "mutation($h: ID!) { releaseHandoff(input: { handoffId: $h }) { __typename } }"
MESSAGE = """mutation($s: ID!) { addSessionMessage(input: {sessionId: $s, role: ENGINEER,
  content: "Still on it: checking the spooler"}) { __typename } }"""
SETTINGS = """{ timerSettings { nudgeAfterMinutes releaseAfterMinutes releaseIdleClaims
  priorities { priority overdueAfterMinutes adminsAfterMinutes } } }"""
SET_SETTINGS = """mutation($input: TimerSettingsInput!) { setTimerSettings(input: $input) {
  __typename
  ... on SetTimerSettingsSuccess { timerSettings { nudgeAfterMinutes releaseAfterMinutes
    releaseIdleClaims priorities { priority overdueAfterMinutes adminsAfterMinutes } } }
  ... on NotPermitted { message } } }"""
QUEUE = """query($sla: [SlaState!], $order: QueueOrder! = QUEUE, $first: Int = 20,
               $after: String) {
  handoffQueue(sla: $sla, order: $order, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage hasPreviousPage endCursor }
    edges { node { session { problemSummary } dueAt slaState overdue } } } }"""


class FakeClock:
    """The system's time plus however far the test has moved it on: it still runs (stamps keep
    their order), and jumps when told."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, minutes: float) -> None:
        self.offset += timedelta(minutes=minutes)


@pytest.fixture
def clock(desk) -> FakeClock:
    clock = FakeClock()
    desk.clock = clock  # the test's own writes (factories) read it too
    return clock


@pytest.fixture
async def api(settings, clock, desk):
    """The conftest's `api`, its app's desk on the test's clock (so claims, messages and
    releases are stamped with the time the timers measure)."""
    app = create_app(settings, desk.db)
    app.state.desk.clock = clock
    async with contextlib.AsyncExitStack() as stack:
        await stack.enter_async_context(app.router.lifespan_context(app))
        client = await stack.enter_async_context(_client(app))
        yield Api(client, Shadow(settings, stack, desk.db))


def timer_worker(desk: Desk, **handlers) -> Worker:
    # Its slots look for due jobs when woken (`wake_running`) and otherwise once a second: a
    # test moves the clock, then wakes them, as the minutes it skipped would have.
    return Worker(
        desk,
        {JobKind.TIMER: (timer_job(), TIMER_ATTEMPTS), **handlers},
        lease_seconds=30.0,
        poll_seconds=1.0,
    )


# The workers `running` runs now (tests of one process run one at a time).
_running: list[Worker] = []


def wake_running() -> None:
    """Wakes the running workers' slots: they lease what is due by the clock now."""
    for worker in _running:
        worker.wake()


@contextlib.asynccontextmanager
async def running(*workers: Worker):
    for worker in workers:
        worker.start()
        _running.append(worker)
    try:
        yield
    finally:
        for worker in workers:
            _running.remove(worker)
            await worker.stop(5.0)


async def until(check, what: str):
    """`wait_for(check)`, waking the running workers before each look: what they have to do by
    the clock now is done without their waiting out a poll."""

    async def woken_check():
        wake_running()
        return await check()

    return await wait_for(woken_check, what, interval=0.02)


@pytest.fixture
async def timers(desk, clock):
    """A timer worker running on the test's desk and clock for the whole test."""
    async with running(timer_worker(desk)):
        yield


async def timer_jobs(desk: Desk) -> list[Job]:
    async with desk.db.read() as db:
        return list((await db.exec(select(Job).where(Job.kind == JobKind.TIMER))).all())


async def settle(desk: Desk, clock: FakeClock) -> None:
    """Until every timer that is due by the clock has been checked (and is due again later, or
    over): what was going to happen by now has happened."""

    async def settled():
        jobs = await timer_jobs(desk)
        now = clock.now()
        return all(
            j.state == JobState.DONE or (j.state == JobState.PENDING and j.run_after > now)
            for j in jobs
        )

    await until(settled, "the timers due by now to be checked")


async def advance(desk: Desk, clock: FakeClock, minutes: float) -> None:
    clock.advance(minutes)
    await settle(desk, clock)


async def shown(api: Api, member, handoff_id) -> dict:
    return (await api.data(HANDOFF, {"id": str(handoff_id)}, member.token))["handoff"]


def kinds(handoff: dict) -> list[str]:
    return [event["kind"] for event in handoff["history"]]


def moment(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def emails(desk: Desk, handoff_id, prefix: str) -> list[EmailMessage]:
    async with desk.db.read() as db:
        stmt = select(EmailMessage).where(EmailMessage.handoff_id == handoff_id)
        rows = (await db.exec(stmt)).all()
    return sorted((e for e in rows if e.subject.startswith(prefix)), key=lambda e: e.to_address)


async def email_jobs_of(desk: Desk, rows: list[EmailMessage]) -> list[Job]:
    async with desk.db.read() as db:
        stmt = select(Job).where(
            Job.kind == JobKind.EMAIL, col(Job.subject_id).in_([e.id for e in rows])
        )
        return list((await db.exec(stmt)).all())


async def claim(api: Api, member, handoff) -> None:
    answer = await api.data(CLAIM, {"h": str(handoff.id)}, member.token)
    assert answer["claimHandoff"]["__typename"] == "ClaimHandoffSuccess", answer


# --- defaults, by priority ----------------------------------------------------------------------


async def test_an_escalation_is_due_by_its_priority_and_a_park_never(api, desk, team, clock):
    minutes = {Priority.URGENT: 5, Priority.HIGH: 15, Priority.NORMAL: 60, Priority.LOW: 240}
    for priority, due_in in minutes.items():
        handoff = await make_escalation(desk, team.acme["alex"], f"{priority} case", priority)
        view = await shown(api, team.acme["sam"], handoff.id)
        assert moment(view["dueAt"]) - moment(view["createdAt"]) == timedelta(minutes=due_in)
        assert (view["overdue"], view["slaState"]) == (False, "WAITING")
    park = await make_escalation(desk, team.acme["alex"], "Parked", intent=HandoffIntent.PARK)
    view = await shown(api, team.acme["alex"], park.id)
    assert (view["dueAt"], view["overdue"], view["slaState"]) == (None, False, None)


# --- unclaimed: overdue, then the admins ---------------------------------------------------------


async def test_an_unclaimed_escalation_past_its_time_is_overdue_and_the_team_told_once(
    api, desk, team, clock, timers
):
    handoff = await make_escalation(desk, team.acme["alex"], "Printer offline")  # normal: 60
    sam = team.acme["sam"]

    await advance(desk, clock, 59)
    view = await shown(api, sam, handoff.id)
    assert kinds(view) == ["ESCALATED"]
    assert (view["overdue"], view["slaState"]) == (False, "WAITING")
    assert await emails(desk, handoff.id, "Overdue") == []

    await advance(desk, clock, 2)
    view = await shown(api, sam, handoff.id)
    assert kinds(view) == ["ESCALATED", "OVERDUE"]
    overdue = view["history"][1]
    assert overdue["actor"] is None and overdue["reason"] is None  # the desk's own doing
    assert moment(overdue["occurredAt"]) >= moment(view["dueAt"])
    assert (view["overdue"], view["slaState"]) == (True, "OVERDUE")
    assert view["claimedBy"] is None and view["session"]["status"] == "ESCALATED"
    # The team again: the escalation's own recipients (its engineers and admins, not the
    # escalator, not the viewer), each by a durable email job.
    sent = await emails(desk, handoff.id, "Overdue")
    assert [e.to_address for e in sent] == SENIORS
    assert {e.subject for e in sent} == {"Overdue: Printer offline"}
    assert all(e.status == EmailStatus.PENDING for e in sent)
    assert "Nobody has claimed this escalation (normal priority) in 61 minutes" in sent[0].body
    assert f"/handoffs/{handoff.id}" in sent[0].body
    assert len(await email_jobs_of(desk, sent)) == 3

    # Once per step: later checks before the next step tell nobody again.
    for _ in range(3):
        await advance(desk, clock, 15)
    view = await shown(api, sam, handoff.id)
    assert kinds(view) == ["ESCALATED", "OVERDUE"]
    assert len(await emails(desk, handoff.id, "Overdue")) == 3


async def test_still_unclaimed_a_second_period_later_the_admins_are_told_once(
    api, desk, team, clock, timers
):
    handoff = await make_escalation(desk, team.acme["alex"], "VPN down", Priority.URGENT)
    await advance(desk, clock, 6)  # due after 5 minutes
    assert kinds(await shown(api, team.acme["kim"], handoff.id)) == ["ESCALATED", "OVERDUE"]

    await advance(desk, clock, 3)  # 9: the admins' period (5 more) is not over
    assert await emails(desk, handoff.id, "Still unclaimed") == []
    await advance(desk, clock, 2)  # 11
    view = await shown(api, team.acme["kim"], handoff.id)
    assert kinds(view) == ["ESCALATED", "OVERDUE", "ADMINS_ALERTED"]
    assert (view["overdue"], view["slaState"]) == (True, "ADMINS_ALERTED")
    alerted = await emails(desk, handoff.id, "Still unclaimed")
    assert [e.to_address for e in alerted] == ["dana.admin@acme.test"]  # the admins only
    assert "You are told as an admin of the account" in alerted[0].body
    assert len(await email_jobs_of(desk, alerted)) == 1

    for _ in range(4):
        await advance(desk, clock, 30)
    view = await shown(api, team.acme["kim"], handoff.id)
    assert kinds(view) == ["ESCALATED", "OVERDUE", "ADMINS_ALERTED"]
    assert len(await emails(desk, handoff.id, "Overdue")) == 3
    assert len(await emails(desk, handoff.id, "Still unclaimed")) == 1


async def test_the_overdue_emails_are_delivered_by_the_email_worker(desk, team, clock, smtp):  # noqa: F811
    handoff = await make_escalation(desk, team.acme["alex"], "Label printer jams", Priority.HIGH)
    worker = timer_worker(desk, **{JobKind.EMAIL: (email_job(smtp.url, "desk@acme.test"), 3)})
    async with running(worker):
        await advance(desk, clock, 16)

        async def delivered():
            subjects = [(m["To"], m["Subject"]) for _, m in smtp.messages()]
            overdue = sorted(to for to, subject in subjects if subject.startswith("Overdue"))
            return overdue if len(overdue) == 3 else None

        assert await until(delivered, "the overdue emails") == SENIORS
    for email in await emails(desk, handoff.id, "Overdue"):
        assert email.status == EmailStatus.SENT


# --- claimed: the nudge, then the release ----------------------------------------------------


async def test_an_idle_claimer_is_nudged_then_the_escalation_goes_back_to_the_queue(
    api, desk, team, clock, timers
):
    sam = team.acme["sam"]
    handoff = await make_escalation(desk, team.acme["alex"], "Mailbox full")
    await claim(api, sam, handoff)

    await advance(desk, clock, 29)
    assert kinds(await shown(api, sam, handoff.id)) == ["ESCALATED", "CLAIMED"]
    await advance(desk, clock, 2)  # 31 minutes without a doing of Sam's
    view = await shown(api, sam, handoff.id)
    assert kinds(view) == ["ESCALATED", "CLAIMED", "NUDGED"]
    assert view["history"][2]["actor"] is None
    assert view["claimedBy"] == {"name": "Sam Senior"}
    assert view["slaState"] == "MET"
    [nudge] = await emails(desk, handoff.id, "Still on it?")
    assert nudge.to_address == "sam.senior@acme.test"
    assert "nothing has happened on it for 31 minutes" in nudge.body
    assert "in the next 30 minutes, it goes back to the queue" in nudge.body

    await advance(desk, clock, 29)
    assert kinds(await shown(api, sam, handoff.id)) == ["ESCALATED", "CLAIMED", "NUDGED"]
    await advance(desk, clock, 2)
    view = await shown(api, sam, handoff.id)
    assert kinds(view) == ["ESCALATED", "CLAIMED", "NUDGED", "RELEASED"]
    released = view["history"][3]
    assert (released["reason"], released["actor"]) == ("IDLE", None)
    assert view["claimedBy"] is None and view["session"]["status"] == "ESCALATED"
    # Back in the queue, it waits afresh: due a normal escalation's hour after its release.
    assert (view["overdue"], view["slaState"]) == (False, "WAITING")
    waited = moment(view["dueAt"]) - moment(released["occurredAt"])
    assert abs(waited - timedelta(minutes=60)) < timedelta(seconds=1)
    [told] = await emails(desk, handoff.id, "Released")
    assert told.to_address == "sam.senior@acme.test"
    assert len(await emails(desk, handoff.id, "Still on it?")) == 1  # nudged once

    # And its new wait is watched like the first: overdue an hour later, the team told.
    await advance(desk, clock, 61)
    view = await shown(api, sam, handoff.id)
    assert kinds(view)[-1] == "OVERDUE" and view["slaState"] == "OVERDUE"
    assert [e.to_address for e in await emails(desk, handoff.id, "Overdue")] == SENIORS


async def test_the_claimers_doings_put_the_nudge_off(api, desk, team, clock, timers):
    sam = team.acme["sam"]
    handoff = await make_escalation(desk, team.acme["alex"], "Laptop will not enrol")
    await claim(api, sam, handoff)
    await advance(desk, clock, 20)
    answer = await api.data(MESSAGE, {"s": str(handoff.session_id)}, sam.token)
    assert answer["addSessionMessage"]["__typename"] == "AddSessionMessageSuccess"

    await advance(desk, clock, 15)  # 35 minutes since the claim, 15 since the message
    assert "NUDGED" not in kinds(await shown(api, sam, handoff.id))
    await advance(desk, clock, 16)  # 31 since the message
    assert kinds(await shown(api, sam, handoff.id))[-1] == "NUDGED"

    # A doing after the nudge puts the release off as well: the idle time starts again.
    await advance(desk, clock, 20)
    await api.data(MESSAGE, {"s": str(handoff.session_id)}, sam.token)
    await advance(desk, clock, 25)
    view = await shown(api, sam, handoff.id)
    assert "RELEASED" not in kinds(view) and view["claimedBy"] == {"name": "Sam Senior"}
    await advance(desk, clock, 6)  # 31 since the second message: nudged again
    assert Counter(kinds(await shown(api, sam, handoff.id)))["NUDGED"] == 2


async def test_an_account_that_turned_idle_release_off_keeps_its_claims(
    api, desk, team, clock, timers
):
    dana, sam = team.acme["dana"], team.acme["sam"]
    off = await api.data(SET_SETTINGS, {"input": {"releaseIdleClaims": False}}, dana.token)
    assert off["setTimerSettings"]["timerSettings"]["releaseIdleClaims"] is False
    handoff = await make_escalation(desk, team.acme["alex"], "Printer offline")
    await claim(api, sam, handoff)

    await advance(desk, clock, 31)
    assert kinds(await shown(api, sam, handoff.id))[-1] == "NUDGED"
    [nudge] = await emails(desk, handoff.id, "Still on it?")
    assert "goes back to the queue" not in nudge.body  # no release to warn of
    for _ in range(4):
        await advance(desk, clock, 30)
    view = await shown(api, sam, handoff.id)
    assert kinds(view) == ["ESCALATED", "CLAIMED", "NUDGED"]  # nudged once, never released
    assert view["claimedBy"] == {"name": "Sam Senior"}

    # Globex's claims still go back: the setting is Acme's alone.
    globex = await make_escalation(desk, team.globex["gus"], "Globex VPN")
    await claim(api, team.globex["gail"], globex)
    await advance(desk, clock, 31)
    await advance(desk, clock, 31)
    assert kinds(await shown(api, team.globex["gail"], globex.id))[-1] == "RELEASED"


# --- what makes a timer moot -------------------------------------------------------------------


async def test_a_claim_in_time_leaves_the_overdue_timer_nothing_to_do(
    api, desk, team, clock, timers
):
    handoff = await make_escalation(desk, team.acme["alex"], "Outlook prompts", Priority.URGENT)
    await claim(api, team.acme["kim"], handoff)
    await advance(desk, clock, 6)  # past its due time
    await advance(desk, clock, 6)  # and past the admins' period
    view = await shown(api, team.acme["kim"], handoff.id)
    assert kinds(view) == ["ESCALATED", "CLAIMED"]
    assert (view["overdue"], view["slaState"]) == (False, "MET")
    assert await emails(desk, handoff.id, "Overdue") == []
    assert await emails(desk, handoff.id, "Still unclaimed") == []


async def test_a_late_claim_is_missed_and_stops_the_admins_alert(api, desk, team, clock, timers):
    handoff = await make_escalation(desk, team.acme["alex"], "VPN down", Priority.URGENT)
    await advance(desk, clock, 6)
    await claim(api, team.acme["kim"], handoff)
    view = await shown(api, team.acme["kim"], handoff.id)
    assert (view["overdue"], view["slaState"]) == (False, "MISSED")
    await advance(desk, clock, 6)
    assert kinds(await shown(api, team.acme["kim"], handoff.id)) == [
        "ESCALATED",
        "OVERDUE",
        "CLAIMED",
    ]
    assert await emails(desk, handoff.id, "Still unclaimed") == []


async def test_a_resolved_escalation_has_no_more_timers(api, desk, team, clock, timers):
    sam = team.acme["sam"]
    handoff = await make_escalation(desk, team.acme["alex"], "Printer offline")
    await claim(api, sam, handoff)
    resolved = await sessions.resolve_session(desk, sam.viewer, handoff.session_id)
    assert resolved.status == "resolved"
    for _ in range(4):
        await advance(desk, clock, 60)
    view = await shown(api, sam, handoff.id)
    assert kinds(view) == ["ESCALATED", "CLAIMED"]
    assert await emails(desk, handoff.id, "Still on it?") == []
    [job] = await timer_jobs(desk)
    assert job.state == JobState.DONE  # the check that found it resolved ended the timer


async def test_a_release_by_hand_starts_the_wait_afresh(api, desk, team, clock, timers):
    sam = team.acme["sam"]
    handoff = await make_escalation(desk, team.acme["alex"], "Printer offline")  # due in 60
    await claim(api, sam, handoff)
    await advance(desk, clock, 50)  # nudged at 30
    answer = await api.data(RELEASE, {"h": str(handoff.id)}, sam.token)
    assert answer["releaseHandoff"]["__typename"] == "ReleaseHandoffSuccess"
    view = await shown(api, sam, handoff.id)
    released = view["history"][-1]
    assert (released["kind"], released["actor"], released["reason"]) == (
        "RELEASED",
        {"name": "Sam Senior"},
        None,
    )
    waited = moment(view["dueAt"]) - moment(released["occurredAt"])
    assert abs(waited - timedelta(minutes=60)) < timedelta(seconds=1)
    assert view["slaState"] == "WAITING"

    await advance(desk, clock, 59)  # 109 minutes after the escalation, 59 after the release
    assert kinds(await shown(api, sam, handoff.id))[-1] == "RELEASED"
    await advance(desk, clock, 2)
    assert kinds(await shown(api, sam, handoff.id))[-1] == "OVERDUE"


# --- durable: restarts, and several workers ------------------------------------------------------


async def test_a_timer_due_while_no_worker_ran_fires_once_when_one_starts(api, desk, team, clock):
    handoff = await make_escalation(desk, team.acme["alex"], "Printer offline")
    clock.advance(61)  # no worker runs: nothing happens
    assert kinds(await shown(api, team.acme["sam"], handoff.id)) == ["ESCALATED"]

    async with running(timer_worker(desk)):
        await settle(desk, clock)
    async with running(timer_worker(desk)):  # a restart: nothing fires twice
        await settle(desk, clock)
    view = await shown(api, team.acme["sam"], handoff.id)
    assert kinds(view) == ["ESCALATED", "OVERDUE"]
    assert len(await emails(desk, handoff.id, "Overdue")) == 3


@contextlib.asynccontextmanager
async def own_desk(desk: Desk):
    """A desk with its own connection pool, as another worker process would have."""
    other = Desk(settings=desk.settings, db=Database.from_url(desk.settings.database_url))
    other.clock = desk.clock
    try:
        yield other
    finally:
        await other.db.dispose()


async def test_two_workers_fire_each_timer_once(desk, team, clock):
    members = [team.acme[name] for name in ("alex", "sam", "kim")]
    handoffs = [
        await make_escalation(desk, members[n % 3], f"Case {n:02d}", Priority.URGENT)
        for n in range(12)
    ]
    async with (
        own_desk(desk) as desk_a,
        own_desk(desk) as desk_b,
        running(timer_worker(desk_a), timer_worker(desk_b)),
    ):
        await settle(desk, clock)
        await advance(desk, clock, 11)  # overdue (5) and the admins' period (5 more)
        await advance(desk, clock, 1)

    ids = {h.id for h in handoffs}
    async with desk.db.read() as db:
        events = (await db.exec(select(AccountEvent))).all()
        emails_sent = (await db.exec(select(EmailMessage))).all()
    for kind in (EventKind.OVERDUE, EventKind.ADMINS_ALERTED):
        fired = Counter(e.handoff_id for e in events if e.kind == kind)
        assert fired == Counter({i: 1 for i in ids}), kind
    by_subject = Counter(e.subject.split(":")[0] for e in emails_sent)
    # Each escalation emails its seniors but its escalator (2 or 3 of Dana, Sam and Kim).
    assert by_subject["Overdue"] == by_subject["Escalated"]
    assert by_subject["Still unclaimed"] == 12  # Dana, for each


# --- the settings -------------------------------------------------------------------------------


DEFAULTS = {
    "nudgeAfterMinutes": 30,
    "releaseAfterMinutes": 30,
    "releaseIdleClaims": True,
    "priorities": [
        {"priority": "URGENT", "overdueAfterMinutes": 5, "adminsAfterMinutes": 5},
        {"priority": "HIGH", "overdueAfterMinutes": 15, "adminsAfterMinutes": 15},
        {"priority": "NORMAL", "overdueAfterMinutes": 60, "adminsAfterMinutes": 60},
        {"priority": "LOW", "overdueAfterMinutes": 240, "adminsAfterMinutes": 240},
    ],
}


@pytest.mark.parametrize("who", ["sam", "vic"])
async def test_only_an_admin_changes_the_timers(api, desk, team, who):
    change = {"input": {"nudgeAfterMinutes": 5, "releaseIdleClaims": False}}
    answer = await api.data(SET_SETTINGS, change, team.acme[who].token)
    assert answer["setTimerSettings"] == {
        "__typename": "NotPermitted",
        "message": "Only an admin of this account may manage its users.",
    }
    assert (await api.data(SETTINGS, token=team.acme[who].token))["timerSettings"] == DEFAULTS


async def test_an_admin_changes_the_timers_and_what_waits_follows(api, desk, team, clock, timers):
    dana = team.acme["dana"]
    waiting = await make_escalation(desk, team.acme["alex"], "Waiting since before")
    change = {
        "input": {
            "priorities": [
                {"priority": "NORMAL", "overdueAfterMinutes": 10},
                {"priority": "LOW", "adminsAfterMinutes": 600},
            ],
            "nudgeAfterMinutes": 20,
        }
    }
    answer = (await api.data(SET_SETTINGS, change, dana.token))["setTimerSettings"]
    expected = {
        **DEFAULTS,
        "nudgeAfterMinutes": 20,
        "priorities": [
            DEFAULTS["priorities"][0],
            DEFAULTS["priorities"][1],
            {"priority": "NORMAL", "overdueAfterMinutes": 10, "adminsAfterMinutes": 60},
            {"priority": "LOW", "overdueAfterMinutes": 240, "adminsAfterMinutes": 600},
        ],
    }
    assert answer == {"__typename": "SetTimerSettingsSuccess", "timerSettings": expected}
    for member in ("dana", "alex", "vic"):  # everyone of the account reads them
        shown_settings = await api.data(SETTINGS, token=team.acme[member].token)
        assert shown_settings["timerSettings"] == expected
    # Another account keeps its own (the defaults).
    globex = await api.data(SETTINGS, token=team.globex["gail"].token)
    assert globex["timerSettings"] == DEFAULTS

    # What waits now follows them at once (its timer looks again), and so does what comes next.
    await settle(desk, clock)
    view = await shown(api, dana, waiting.id)
    assert moment(view["dueAt"]) - moment(view["createdAt"]) == timedelta(minutes=10)
    later = await make_escalation(desk, team.acme["alex"], "Escalated after")
    view = await shown(api, dana, later.id)
    assert moment(view["dueAt"]) - moment(view["createdAt"]) == timedelta(minutes=10)
    await advance(desk, clock, 11)
    assert kinds(await shown(api, dana, waiting.id))[-1] == "OVERDUE"


@pytest.mark.parametrize(
    "change",
    [
        {"nudgeAfterMinutes": 0},
        {"releaseAfterMinutes": -5},
        {"priorities": [{"priority": "URGENT", "overdueAfterMinutes": 43201}]},
        {
            "priorities": [
                {"priority": "HIGH", "overdueAfterMinutes": 10},
                {"priority": "HIGH", "adminsAfterMinutes": 10},
            ]
        },
    ],
)
async def test_timers_out_of_range_are_refused_and_nothing_changes(api, desk, team, change):
    error = await api.error(SET_SETTINGS, {"input": change}, team.acme["dana"].token)
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    settings = await api.data(SETTINGS, token=team.acme["dana"].token)
    assert settings["timerSettings"] == DEFAULTS


# --- the queue by SLA state and by due time -----------------------------------------------------


async def test_the_queue_sorts_by_due_time_and_filters_by_sla_state(api, desk, team, clock, timers):
    alex, sam = team.acme["alex"], team.acme["sam"]
    for summary, priority in [
        ("A low", Priority.LOW),
        ("B urgent", Priority.URGENT),
        ("C normal", Priority.NORMAL),
        ("D high", Priority.HIGH),
    ]:
        handoff = await make_escalation(desk, alex, summary, priority)
        if summary == "C normal":
            await claim(api, sam, handoff)

    async def queue(token=sam.token, **variables) -> dict:
        return (await api.data(QUEUE, variables, token))["handoffQueue"]

    def names(page) -> list[str]:
        return [e["node"]["session"]["problemSummary"] for e in page["edges"]]

    assert names(await queue()) == ["B urgent", "D high", "A low", "C normal"]  # as before
    by_due = await queue(order="DUE")
    assert names(by_due) == ["B urgent", "D high", "A low", "C normal"]  # unclaimed first
    dues = [moment(e["node"]["dueAt"]) for e in by_due["edges"][:3]]
    assert dues == sorted(dues)

    await advance(desk, clock, 6)  # B is overdue
    overdue = await queue(sla=["OVERDUE", "ADMINS_ALERTED"])
    assert names(overdue) == ["B urgent"] and overdue["totalCount"] == 1
    assert overdue["edges"][0]["node"]["overdue"] is True
    assert names(await queue(sla=["WAITING"])) == ["D high", "A low"]
    assert names(await queue(sla=["MET"])) == ["C normal"]
    assert names(await queue(sla=["MISSED"])) == []
    assert (await queue(sla=[]))["totalCount"] == 0

    # Pages in due order, cursor to cursor.
    first = await queue(order="DUE", first=2)
    assert names(first) == ["B urgent", "D high"] and first["pageInfo"]["hasNextPage"]
    assert not first["pageInfo"]["hasPreviousPage"]
    rest = await queue(order="DUE", first=2, after=first["pageInfo"]["endCursor"])
    assert names(rest) == ["A low", "C normal"] and not rest["pageInfo"]["hasNextPage"]
    assert rest["pageInfo"]["hasPreviousPage"]  # B and D come before it
    # A cursor of the other order is refused, not misread.
    queue_cursor = (await queue(first=1))["pageInfo"]["endCursor"]
    error = await api.error(QUEUE, {"order": "DUE", "after": queue_cursor}, sam.token)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    error = await api.error(QUEUE, {"after": first["pageInfo"]["endCursor"]}, sam.token)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    # Another account's queue, filtered, has none of these.
    assert (await queue(team.globex["gail"].token, sla=["OVERDUE"]))["totalCount"] == 0


@pytest.mark.no_query_cache
async def test_a_page_with_its_timers_costs_as_many_statements_for_3_as_for_25(api, desk, team):
    members = [team.acme[name] for name in ("alex", "sam", "kim")]
    priorities = list(Priority)
    for n in range(25):
        await make_escalation(desk, members[n % 3], f"Problem {n}", priorities[n % 4])
    dana = team.acme["dana"]

    async def page(first: int, order: str) -> tuple[dict, list[str]]:
        variables = {"first": first, "order": order, "sla": ["WAITING"]}
        with counting_statements() as statements:
            data = await api.data(QUEUE, variables, dana.token)
        return data["handoffQueue"], list(statements)

    for order in ("QUEUE", "DUE"):  # the same 25 escalations, in each order
        await page(25, order)  # warm up: connections, dialect initialisation
        small, small_statements = await page(3, order)
        large, large_statements = await page(25, order)
        assert (len(small["edges"]), len(large["edges"])) == (3, 25), order
        assert all(e["node"]["dueAt"] and e["node"]["slaState"] for e in large["edges"]), order
        # A handful, not one a row.
        assert len(small_statements) == len(large_statements) < 25, order


# --- live ---------------------------------------------------------------------------------------

TIMER_FIRED = """subscription { handoffTimerFired {
  seq kind occurredAt handoff { id overdue slaState claimedBy { name } } } }"""
CLAIMS = """subscription { handoffClaimChanged {
  seq kind reason actor { name } handoff { id claimedBy { name } slaState } } }"""


async def test_subscribers_hear_each_timer_as_it_fires(in_process, desk, team, clock):
    server = await in_process()
    server.app.state.desk.clock = clock
    waiting = await make_escalation(desk, team.acme["alex"], "Nobody takes it", Priority.URGENT)
    taken = await make_escalation(desk, team.acme["alex"], "Taken, then forgotten")
    # The server's own desk: what the timers commit rings its doorbell at once.
    async with (
        running(timer_worker(server.app.state.desk)),
        GraphQLSocket(server.url) as fired_ws,
        GraphQLSocket(server.url) as claims_ws,
        GraphQLClient(server.url) as http,
    ):
        await fired_ws.connect(team.acme["kim"].token)
        await fired_ws.subscribe(TIMER_FIRED)
        await claims_ws.connect(team.acme["kim"].token)
        await claims_ws.subscribe(CLAIMS)
        await server.until_streams(2)
        assert await http.claim(team.acme["sam"].token, str(taken.id)) == "ClaimHandoffSuccess"
        assert (await claims_ws.next_data())["handoffClaimChanged"]["kind"] == "CLAIMED"

        await advance(desk, clock, 6)
        event = (await fired_ws.next_data())["handoffTimerFired"]
        assert (event["kind"], event["handoff"]["id"]) == ("OVERDUE", str(waiting.id))
        assert (event["handoff"]["overdue"], event["handoff"]["slaState"]) == (True, "OVERDUE")
        await advance(desk, clock, 25)  # 11 since the escalation, 31 since the claim
        heard = {}
        for _ in range(2):  # in the order their checks ran
            event = (await fired_ws.next_data())["handoffTimerFired"]
            heard[event["kind"]] = event["handoff"]
        assert heard.keys() == {"ADMINS_ALERTED", "NUDGED"}
        assert heard["ADMINS_ALERTED"]["id"] == str(waiting.id)
        assert heard["NUDGED"]["id"] == str(taken.id)
        assert heard["NUDGED"]["claimedBy"] == {"name": "Sam Senior"}
        await advance(desk, clock, 31)
        released = (await claims_ws.next_data())["handoffClaimChanged"]
        assert (released["kind"], released["reason"], released["actor"]) == (
            "RELEASED",
            "IDLE",
            None,
        )
        assert released["handoff"] == {
            "id": str(taken.id),
            "claimedBy": None,
            "slaState": "WAITING",
        }


# --- the answer cache ----------------------------------------------------------------------------


async def test_a_timer_firing_is_not_hidden_by_the_answer_cache(api, desk, team, clock, timers):
    handoff = await make_escalation(desk, team.acme["alex"], "Printer offline", Priority.URGENT)
    query = f'{{ handoff(id: "{handoff.id}") {{ overdue slaState }} }}'
    sam = team.acme["sam"]
    before = await api.data(query, token=sam.token)
    assert await api.data(query, token=sam.token) == before  # cached now
    assert before["handoff"] == {"overdue": False, "slaState": "WAITING"}
    await advance(desk, clock, 6)
    assert (await api.data(query, token=sam.token))["handoff"] == {
        "overdue": True,
        "slaState": "OVERDUE",
    }


# --- migration 0010: escalations from before timers ----------------------------------------------


def _migrate(sync_connection, revision: str, down: bool = False) -> None:
    config = alembic_config()
    config.attributes["connection"] = sync_connection
    (command.downgrade if down else command.upgrade)(config, revision)


async def test_escalations_from_before_timers_get_theirs(empty_database):
    engine = create_engine(empty_database)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_migrate, "head")
        settings = Settings(database_url=empty_database, token_secret=TOKEN_SECRET)
        desk = Desk(settings=settings, db=Database.from_url(empty_database))
        try:
            team = await make_team(desk)
            old = await make_escalation(desk, team.acme["alex"], "Waiting since before")
            taken = await make_escalation(desk, team.acme["alex"], "Claimed before")
            await claims.claim_handoff(desk, team.acme["sam"].viewer, taken.id)
            done = await make_escalation(desk, team.acme["alex"], "Resolved before")
            await claims.claim_handoff(desk, team.acme["sam"].viewer, done.id)
            await sessions.resolve_session(desk, team.acme["sam"].viewer, done.session_id)
            async with engine.begin() as conn:
                await conn.run_sync(_migrate, "0007", True)
                # The oldest has waited an hour and a half already.
                handoffs = Handoff.__table__
                await conn.execute(
                    update(handoffs)
                    .where(handoffs.c.id == old.id)
                    .values(created_at=datetime.now(UTC) - timedelta(minutes=90))
                )
                await conn.run_sync(_migrate, "head")
            jobs = await timer_jobs(desk)
            assert len(jobs) == 2  # the waiting and the claimed one; the resolved one has none
            assert all(j.state == JobState.PENDING for j in jobs)
            async with running(timer_worker(desk)):
                await settle(desk, desk.clock)
            async with desk.db.read() as db:
                stmt = select(AccountEvent).where(AccountEvent.kind == EventKind.OVERDUE)
                overdue = (await db.exec(stmt)).all()
            assert [e.handoff_id for e in overdue] == [old.id]
        finally:
            await desk.db.dispose()
    finally:
        await engine.dispose()


async def test_a_new_priority_moves_the_due_time_and_may_make_it_overdue_at_once(
    api, desk, team, clock, timers
):
    handoff = await make_escalation(desk, team.acme["alex"], "Printer offline")  # normal: 60
    sam = team.acme["sam"]
    await advance(desk, clock, 7)
    assert (await shown(api, sam, handoff.id))["slaState"] == "WAITING"

    raised = (
        "mutation($h: ID!) { setHandoffPriority(input: { handoffId: $h, priority: URGENT "
        "}) { __typename } }"
    )
    answer = await api.data(raised, {"h": str(handoff.id)}, token=team.acme["alex"].token)
    assert answer["setHandoffPriority"]["__typename"] == "SetHandoffPrioritySuccess"
    # Its timer looks at once (without waiting for its next check, 5 minutes on): 7 minutes
    # waited, and urgent is 5. (Read after it settled: the timer worker runs meanwhile.)
    await settle(desk, clock)
    view = await shown(api, sam, handoff.id)
    assert moment(view["dueAt"]) - moment(view["createdAt"]) == timedelta(minutes=5)
    assert kinds(view) == ["ESCALATED", "PRIORITY_CHANGED", "OVERDUE"]
    assert (view["overdue"], view["slaState"]) == (True, "OVERDUE")
