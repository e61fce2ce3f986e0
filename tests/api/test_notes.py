"""Internal notes (issue 15, point 2): engineers and admins add notes to an escalation; the
account's engineers and admins read them, its viewers too unless an admin says not; each note is
in the escalation's history and heard live on handoffUpdated; never across accounts. On SQLite
and PostgreSQL."""

import pytest
from sqlalchemy import func
from sqlmodel import select

from db.enums import HandoffIntent
from db.models import AccountEvent, HandoffNote
from resolvers import limits
from tests.factories import make_escalation
from tests.http import GraphQLClient
from tests.inprocess import in_process_fixture  # noqa: F401  (the in_process fixture)
from tests.ws import GraphQLSocket

pytestmark = pytest.mark.anyio

ADD = """mutation($h: ID!, $body: String!) { addHandoffNote(input: {handoffId: $h, body: $body}) {
  __typename
  ... on AddHandoffNoteSuccess { note { id body handoffId author { name } } handoff { id } }
  ... on HandoffNotFound { handoffId message }
  ... on NotPermitted { message }
  ... on NotAnEscalation { handoffId message }
} }"""

READ = """query($h: ID!) { handoff(id: $h) {
  notes { body author { name } }
  history { kind actor { name } note { body } }
} }"""

SETTING = """mutation($v: Boolean!) { setNotesVisibleToViewers(input: { visible: $v }) {
  __typename
  ... on SetNotesVisibleToViewersSuccess { account { notesVisibleToViewers } }
  ... on NotPermitted { message }
} }"""

UPDATED = """subscription($h: ID) { handoffUpdated(handoffId: $h) {
  kind actor { name } note { body author { name } } handoff { id } } }"""


async def add(api, member, handoff_id, body="Checked the switch: port 12 flaps.") -> dict:
    answer = await api.data(ADD, {"h": str(handoff_id), "body": body}, token=member.token)
    return answer["addHandoffNote"]


async def read(api, member, handoff_id) -> dict:
    return (await api.data(READ, {"h": str(handoff_id)}, token=member.token))["handoff"]


async def stored_notes(desk) -> int:
    async with desk.db.read() as db:
        return (await db.exec(select(func.count()).select_from(HandoffNote))).one()


async def note_events(desk) -> int:
    async with desk.db.read() as db:
        stmt = select(func.count()).where(AccountEvent.kind == "note_added")
        return (await db.exec(stmt)).one()


async def test_engineers_and_admins_add_notes_everyone_reads_them_in_the_history(api, desk, team):
    acme = team.acme
    escalation = await make_escalation(desk, acme["alex"])
    sam_wrote = await add(api, acme["sam"], escalation.id)
    assert sam_wrote["__typename"] == "AddHandoffNoteSuccess", sam_wrote
    assert sam_wrote["note"]["body"] == "Checked the switch: port 12 flaps."
    assert sam_wrote["note"]["author"] == {"name": "Sam Senior"}
    assert sam_wrote["note"]["handoffId"] == sam_wrote["handoff"]["id"] == str(escalation.id)
    dana_wrote = await add(api, acme["dana"], escalation.id, "  Vendor ticket 4411 opened.  ")
    assert dana_wrote["note"]["body"] == "Vendor ticket 4411 opened."  # trimmed

    notes = [
        {"body": "Checked the switch: port 12 flaps.", "author": {"name": "Sam Senior"}},
        {"body": "Vendor ticket 4411 opened.", "author": {"name": "Dana Admin"}},
    ]
    history = [
        {"kind": "ESCALATED", "actor": {"name": "Alex Junior"}, "note": None},
        {
            "kind": "NOTE_ADDED",
            "actor": {"name": "Sam Senior"},
            "note": {"body": "Checked the switch: port 12 flaps."},
        },
        {
            "kind": "NOTE_ADDED",
            "actor": {"name": "Dana Admin"},
            "note": {"body": "Vendor ticket 4411 opened."},
        },
    ]
    # The escalator, a teammate, the admin, and a viewer (the account's default lets them).
    for who in ("alex", "kim", "dana", "vic"):
        assert await read(api, acme[who], escalation.id) == {"notes": notes, "history": history}


async def test_a_viewer_may_not_add_a_note(api, desk, team):
    escalation = await make_escalation(desk, team.acme["alex"])
    refused = await add(api, team.acme["vic"], escalation.id)
    assert refused == {"__typename": "NotPermitted", "message": "Viewers may not add notes."}
    assert await stored_notes(desk) == 0 and await note_events(desk) == 0


async def test_the_account_decides_whether_viewers_read_notes(api, desk, team):
    acme = team.acme
    escalation = await make_escalation(desk, acme["alex"])
    await add(api, acme["sam"], escalation.id)
    assert len((await read(api, acme["vic"], escalation.id))["notes"]) == 1

    # Only an admin sets it; an engineer or a viewer is refused, and nothing changes.
    for who in ("sam", "vic"):
        refused = await api.data(SETTING, {"v": False}, token=acme[who].token)
        assert refused["setNotesVisibleToViewers"]["__typename"] == "NotPermitted"
    account = await api.data("{ account { notesVisibleToViewers } }", token=acme["vic"].token)
    assert account == {"account": {"notesVisibleToViewers": True}}

    off = await api.data(SETTING, {"v": False}, token=acme["dana"].token)
    assert off["setNotesVisibleToViewers"] == {
        "__typename": "SetNotesVisibleToViewersSuccess",
        "account": {"notesVisibleToViewers": False},
    }
    # The viewer sees neither the notes nor that there are any; the others still do.
    hidden = await read(api, acme["vic"], escalation.id)
    assert hidden == {
        "notes": [],
        "history": [{"kind": "ESCALATED", "actor": {"name": "Alex Junior"}, "note": None}],
    }
    for who in ("kim", "dana", "alex"):
        assert len((await read(api, acme[who], escalation.id))["notes"]) == 1
    # Another account's setting is its own: Globex's viewers are not Acme's.
    globex = await api.data("{ account { notesVisibleToViewers } }", token=team.globex["gus"].token)
    assert globex == {"account": {"notesVisibleToViewers": True}}

    await api.data(SETTING, {"v": True}, token=acme["dana"].token)
    assert len((await read(api, acme["vic"], escalation.id))["history"]) == 2


async def test_a_note_is_bounded_and_must_say_something(api, desk, team):
    escalation = await make_escalation(desk, team.acme["alex"])
    sam = team.acme["sam"]
    for body in ("", "   ", "x" * (limits.NOTE_MAX + 1), "nul \x00 inside"):
        error = await api.error(ADD, {"h": str(escalation.id), "body": body}, token=sam.token)
        assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    assert await stored_notes(desk) == 0 and await note_events(desk) == 0
    longest = await add(api, sam, escalation.id, "x" * limits.NOTE_MAX)
    assert longest["__typename"] == "AddHandoffNoteSuccess"


async def test_another_accounts_escalation_is_not_found_and_a_park_takes_no_note(api, desk, team):
    acme, globex = team.acme, team.globex
    escalation = await make_escalation(desk, acme["alex"])
    for who in ("gail", "gus"):
        answer = await add(api, globex[who], escalation.id)
        assert answer == {
            "__typename": "HandoffNotFound",
            "handoffId": str(escalation.id),
            "message": "No such handoff.",
        }
    assert (await api.data(READ, {"h": str(escalation.id)}, token=globex["gail"].token)) == {
        "handoff": None
    }
    # A park is its creator's: another engineer does not find it; its creator is told why not.
    park = await make_escalation(desk, acme["alex"], intent=HandoffIntent.PARK)
    assert (await add(api, acme["kim"], park.id))["__typename"] == "HandoffNotFound"
    refused = await add(api, acme["alex"], park.id)
    assert refused["__typename"] == "NotAnEscalation" and refused["handoffId"] == str(park.id)
    assert await stored_notes(desk) == 0 and await note_events(desk) == 0


async def test_notes_are_heard_live_by_who_reads_them(in_process, desk, team):
    server = await in_process()
    acme, globex = team.acme, team.globex
    escalation = await make_escalation(desk, acme["alex"])
    theirs = await make_escalation(desk, globex["gus"], "Globex trouble")
    async with (
        GraphQLClient(server.url) as http,
        GraphQLSocket(server.url) as kims,
        GraphQLSocket(server.url) as vics,
        GraphQLSocket(server.url) as gails,
    ):
        for ws, member in ((kims, acme["kim"]), (vics, acme["vic"]), (gails, globex["gail"])):
            await ws.connect(member.token)
            await ws.subscribe(UPDATED, {"h": str(escalation.id)})
        await gails.subscribe(UPDATED)
        await server.until_streams(4)

        async def note(body: str) -> None:
            answer = await http.data(
                ADD, {"h": str(escalation.id), "body": body}, acme["sam"].token
            )
            assert answer["addHandoffNote"]["__typename"] == "AddHandoffNoteSuccess"

        await note("Port 12 flaps.")
        heard = {
            "kind": "NOTE_ADDED",
            "actor": {"name": "Sam Senior"},
            "note": {"body": "Port 12 flaps.", "author": {"name": "Sam Senior"}},
            "handoff": {"id": str(escalation.id)},
        }
        assert (await kims.next_data())["handoffUpdated"] == heard
        assert (await vics.next_data())["handoffUpdated"] == heard

        # Kept from viewers: Kim hears the next note, Vic does not.
        setting = await http.data(SETTING, {"v": False}, acme["dana"].token)
        assert setting["setNotesVisibleToViewers"]["__typename"].endswith("Success")
        await note("Swapped the cable.")
        assert (await kims.next_data())["handoffUpdated"]["note"]["body"] == "Swapped the cable."
        # Globex's own news still reaches Gail: her socket was not stuck, it heard nothing of Acme.
        answer = await http.data(
            ADD, {"h": str(theirs.id), "body": "Globex note"}, globex["gus"].token
        )
        assert answer["addHandoffNote"]["__typename"] == "AddHandoffNoteSuccess"
        assert (await gails.next_data())["handoffUpdated"]["note"]["body"] == "Globex note"
        assert await vics.barrier() == []
        assert await gails.barrier() == []
        assert await kims.barrier() == []
