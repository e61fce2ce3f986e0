"""The escalation email, word for word: found missing by mutation testing (scripts/mutants),
each test here is behaviour a mutant of resolvers/notifications.py changed while every test
passed. The recorded email is what the email worker sends (tests/test_emails.py delivers it)."""

import pytest

from db.enums import EmailStatus, HandoffIntent, Priority, Role
from resolvers import handoffs
from resolvers.desk import Desk
from tests.api.test_emails import emails_of
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
