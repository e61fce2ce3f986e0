"""The escalation email, word for word: found missing by mutation testing (scripts/mutants),
each test here is behaviour a mutant of resolvers/notifications.py changed while every test
passed. The recorded email is what the email worker sends (tests/test_emails.py delivers it)."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from db.enums import EmailStatus, HandoffIntent, Priority, Role
from db.models import HandoffTimer
from resolvers import claims, handoffs, lifecycle, sla
from resolvers.desk import Desk, transaction
from resolvers.timers import check_timer
from tests.api.test_emails import emails_of
from tests.api.test_notification_prefs import set_mine
from tests.factories import make_session

pytestmark = pytest.mark.anyio

PUBLIC_URL = "https://desk.example.test"
SUBJECT_MAX = 200  # one header line a mail client shows whole
PREFIX = "Escalated: "


async def escalate(desk, member, summary: str, notes: str, priority=Priority.HIGH):
    public = Desk(settings=desk.settings.model_copy(update=dict(public_url=PUBLIC_URL)), db=desk.db)
    session = await make_session(public, member, summary)
    return await handoffs.create_handoff(
        public,
        member.viewer,
        session.id,
        intent=HandoffIntent.ESCALATE,
        engineer_notes=notes,
        priority=priority,
    )


async def test_each_senior_is_sent_the_whole_escalation(desk, team):
    handoff = await escalate(desk, team.acme["alex"], "Label printer jams", "Reseated the tray")

    emails = sorted(await emails_of(desk, handoff.id), key=lambda e: e.to_address)

    expected_body = (
        "Alex Junior escalated a troubleshooting session (high priority).\n\n"
        "Problem: Label printer jams\n\n"
        "Engineer notes:\nReseated the tray\n\n"
        f"Open it: {PUBLIC_URL}/handoffs/{handoff.id}\n"
    )
    seniors = {
        m.user.email: m.id
        for name, m in team.acme.members.items()
        if m.user.role in (Role.ENGINEER, Role.ADMIN) and m.user.active and name != "alex"
    }
    assert len(seniors) == 3  # Dana, Kim and Sam: no viewer, not the escalator
    assert [e.to_address for e in emails] == sorted(seniors)
    for email in emails:
        assert str(email.recipient_id) == seniors[email.to_address]
        assert email.account_id == handoff.account_id
        assert email.subject == "Escalated: Label printer jams"
        assert email.body == expected_body
        assert email.status == EmailStatus.PENDING  # the worker has yet to send it


async def test_an_escalation_without_notes_says_so(desk, team):
    handoff = await escalate(desk, team.acme["alex"], "VPN down", "")
    for email in await emails_of(desk, handoff.id):
        assert "Engineer notes:\n(no notes)\n\n" in email.body


@pytest.mark.parametrize(
    ("length", "subject_length", "shortened"),
    [
        (SUBJECT_MAX - len(PREFIX), SUBJECT_MAX, False),
        (SUBJECT_MAX - len(PREFIX) + 1, SUBJECT_MAX, True),
        (400, SUBJECT_MAX, True),
    ],
    ids=["fits exactly", "one over", "long"],
)
async def test_a_long_summary_is_shortened_to_one_header_line(
    desk, team, length, subject_length, shortened
):
    summary = ("Printer offline " * 30)[: length - 1] + "X"
    handoff = await escalate(desk, team.acme["alex"], summary, "tried")
    for email in await emails_of(desk, handoff.id):
        assert len(email.subject) == subject_length
        if shortened:
            assert email.subject == (PREFIX + summary)[: SUBJECT_MAX - 1] + "…"
        else:
            assert email.subject == PREFIX + summary
        assert f"Problem: {summary}\n" in email.body  # the body keeps it whole


# --- the timers' emails and the escalator's news, word for word ---


class Ahead:
    """The system's time, `minutes` on: a timer's check as it would run then."""

    def __init__(self, minutes: float) -> None:
        self.by = timedelta(minutes=minutes)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.by


def public_desk(desk, minutes_ahead: float = 0.0) -> Desk:
    settings = desk.settings.model_copy(update={"public_url": PUBLIC_URL})
    return Desk(settings=settings, db=desk.db, clock=Ahead(minutes_ahead))


async def check_timer_later(desk, handoff, minutes: float) -> None:
    """The escalation's timer, checked `minutes` from now (the half minutes keep the durations
    the emails name whole however long the test itself takes)."""
    async with transaction(public_desk(desk, minutes)) as tx:
        stmt = select(HandoffTimer.id).where(HandoffTimer.handoff_id == handoff.id)
        await check_timer(tx, PUBLIC_URL, (await tx.session.exec(stmt)).one())


async def sent(desk, handoff, subject: str) -> dict[str, str]:
    """The emails of the escalation with this subject: each recipient's body."""
    return {e.to_address: e.body for e in await emails_of(desk, handoff.id) if e.subject == subject}


LIST = "{ notifications(first: 10) { nodes { kind summary actor { name } } } }"
DEACTIVATE = "mutation($u: ID!) { deactivateUser(userId: $u) { __typename } }"
TO_VIEWER = "mutation($u: ID!) { setUserRole(userId: $u, role: VIEWER) { __typename } }"


async def listed(api, member) -> list[dict]:
    """The member's notification list, newest first."""
    return (await api.data(LIST, token=member.token))["notifications"]["nodes"]


def about(handoff, summary: str) -> str:
    return f"Problem: {summary}\n\nOpen it: {PUBLIC_URL}/handoffs/{handoff.id}\n"


async def set_timers(desk, team, **change) -> None:
    policy = await sla.set_timer_settings(desk, team.acme["dana"].viewer, sla.TimerChange(**change))
    assert isinstance(policy, sla.TimerPolicy), policy


async def test_an_idle_claimer_is_nudged_then_told_the_claim_went_back(desk, team):
    await set_timers(desk, team, nudge_after=1, release_after=60)
    handoff = await escalate(desk, team.acme["alex"], "Label printer jams", "Reseated the tray")
    kim = team.acme["kim"]
    assert (await claims.claim_handoff(public_desk(desk), kim.viewer, handoff.id)).id == handoff.id

    await check_timer_later(desk, handoff, 1.5)
    assert await sent(desk, handoff, "Still on it?: Label printer jams") == {
        kim.user.email: "You claimed this escalation, and nothing has happened on it for 1 minute."
        " If nothing happens on it in the next 1 hour, it goes back to the queue for someone else"
        " to pick up.\n\n" + about(handoff, "Label printer jams")
    }

    await check_timer_later(desk, handoff, 120.5)
    assert await sent(desk, handoff, "Released: Label printer jams") == {
        kim.user.email: "You claimed this escalation, and nothing has happened on it for 2 hours,"
        " although you were reminded: it went back to the queue for someone else to pick up."
        "\n\n" + about(handoff, "Label printer jams")
    }


async def test_a_nudge_promises_no_release_where_the_account_keeps_idle_claims(desk, team):
    await set_timers(desk, team, nudge_after=60, release_idle=False)
    handoff = await escalate(desk, team.acme["alex"], "VPN flaps", "Restarted the tunnel")
    kim = team.acme["kim"]
    assert (await claims.claim_handoff(public_desk(desk), kim.viewer, handoff.id)).id == handoff.id

    await check_timer_later(desk, handoff, 60.5)
    assert await sent(desk, handoff, "Still on it?: VPN flaps") == {
        kim.user.email: "You claimed this escalation, and nothing has happened on it for 1 hour."
        "\n\n" + about(handoff, "VPN flaps")
    }


async def test_an_unclaimed_escalation_is_overdue_to_the_team_the_escalator_and_the_admins(
    api, desk, team
):
    # The team's reminder follows each one's preferences; the admins' alert is sent whatever.
    await set_mine(api, team.acme["sam"], newEscalations="NONE")
    await set_mine(api, team.acme["dana"], inAppOnly=True)
    # Normal priority: overdue after 60 minutes, the admins told 60 minutes later.
    handoff = await escalate(
        desk, team.acme["alex"], "Mail slow", "Cleared the cache", Priority.NORMAL
    )
    seniors = {team.acme["kim"].user.email}

    await check_timer_later(desk, handoff, 65.5)
    overdue = await sent(desk, handoff, "Overdue: Mail slow")
    assert set(overdue) == seniors
    for body in overdue.values():
        assert body == (
            "Nobody has claimed this escalation (normal priority) in 65 minutes: it is overdue."
            "\n\n" + about(handoff, "Mail slow")
        )
    assert await sent(desk, handoff, "Still waiting: Mail slow") == {
        team.acme["alex"].user.email: "Nobody has claimed the escalation you raised (normal"
        " priority) in 65 minutes: it is overdue, and the team was told again.\n\n"
        + about(handoff, "Mail slow")
    }
    assert await sent(desk, handoff, "Still unclaimed: Mail slow") == {}
    assert await listed(api, team.acme["alex"]) == [
        {"kind": "OVERDUE", "summary": "Mail slow", "actor": None}  # the desk's own doing
    ]

    await check_timer_later(desk, handoff, 125.5)
    assert await sent(desk, handoff, "Still unclaimed: Mail slow") == {
        team.acme["dana"].user.email: "Nobody has claimed this escalation (normal priority) in"
        " 125 minutes, although the team was told it was overdue. You are told as an admin of"
        " the account.\n\n" + about(handoff, "Mail slow")
    }


async def test_the_colleague_and_the_escalator_read_who_did_what(api, desk, team):
    alex, kim, sam = team.acme["alex"], team.acme["kim"], team.acme["sam"]
    handoff = await escalate(desk, alex, "Badge reader dead", "Swapped the cable")
    assert (await claims.claim_handoff(public_desk(desk), kim.viewer, handoff.id)).id == handoff.id
    moved = await lifecycle.transfer_handoff(public_desk(desk), kim.viewer, handoff.id, sam.user.id)
    assert moved.id == handoff.id

    assert await sent(desk, handoff, "Handed to you: Badge reader dead") == {
        sam.user.email: "Kim Senior handed you an escalation (high priority): it is yours to work"
        " now.\n\nProblem: Badge reader dead\n\nEngineer notes:\nSwapped the cable\n\n"
        f"Open it: {PUBLIC_URL}/handoffs/{handoff.id}\n"
    }
    assert await sent(desk, handoff, "Claimed: Badge reader dead") == {
        alex.user.email: "Kim Senior claimed the escalation you raised.\n\n"
        + about(handoff, "Badge reader dead")
    }
    assert await sent(desk, handoff, "Handed on: Badge reader dead") == {
        alex.user.email: "Kim Senior handed the escalation you raised to Sam Senior.\n\n"
        + about(handoff, "Badge reader dead")
    }
    assert await listed(api, alex) == [
        {"kind": "TRANSFERRED", "summary": "Badge reader dead", "actor": {"name": "Kim Senior"}},
        {"kind": "CLAIMED", "summary": "Badge reader dead", "actor": {"name": "Kim Senior"}},
    ]


async def test_an_escalator_no_longer_on_the_team_hears_nothing_of_it(api, desk, team):
    """Deactivated, or now a viewer: what became of their escalation is no news of theirs."""
    alex, sam, kim, dana = (team.acme[n] for n in ("alex", "sam", "kim", "dana"))
    gone = await escalate(desk, alex, "Scanner offline", "Rebooted it")
    viewing = await escalate(desk, sam, "Fax dead", "Checked the line")
    for change, variables in ((DEACTIVATE, {"u": alex.id}), (TO_VIEWER, {"u": sam.id})):
        (answer,) = (await api.data(change, variables, dana.token)).values()
        assert answer["__typename"].endswith("Success"), answer

    for handoff in (gone, viewing):
        claimed = await claims.claim_handoff(public_desk(desk), kim.viewer, handoff.id)
        assert claimed.id == handoff.id
    assert await sent(desk, gone, "Claimed: Scanner offline") == {}
    assert await sent(desk, viewing, "Claimed: Fax dead") == {}
