"""Internal notes (issue 15): what the account's engineers and admins write on an escalation for
each other. A note is appended, never edited; its NOTE_ADDED event puts it in the escalation's
history and tells live subscribers (handoffUpdated). Who reads notes is `visibility.notes_visible`:
engineers and admins always, viewers unless the account says not (its admins set it:
`accounts.set_notes_visible_to_viewers`)."""

from __future__ import annotations

import uuid

from sqlmodel import col, select

from db.enums import EventKind, HandoffIntent
from db.models import Handoff, HandoffNote
from resolvers import limits
from resolvers.auth import Viewer
from resolvers.desk import Desk, transaction
from resolvers.outcomes import NotAnEscalation, NotFound, NotPermitted
from resolvers.permissions import Capability, requires
from resolvers.visibility import visible_to


@requires(Capability.NOTE)
async def add_note(
    desk: Desk, viewer: Viewer, handoff_id: uuid.UUID, body: str
) -> HandoffNote | NotFound | NotPermitted | NotAnEscalation:
    """A note on an escalation the caller sees (any of the account's, withdrawn or resolved
    ones too: a note may come after). A park is refused: it is its creator's alone, and a note
    is the team's news."""
    body = limits.check_text(body, "body", maximum=limits.NOTE_MAX)
    async with transaction(desk) as tx:
        handoff = (
            await tx.session.exec(
                select(Handoff).where(col(Handoff.id) == handoff_id, visible_to(viewer))
            )
        ).first()
        if handoff is None:
            return NotFound("handoff")
        if handoff.intent != HandoffIntent.ESCALATE:
            return NotAnEscalation()
        now = tx.now()
        note = HandoffNote(
            account_id=handoff.account_id,
            handoff_id=handoff.id,
            author_id=viewer.user_id,
            body=body,
            created_at=now,
        )
        tx.session.add(note)
        await tx.session.flush()  # the note exists before the event that names it
        await tx.record(
            handoff.account_id,
            EventKind.NOTE_ADDED,
            handoff_id=handoff.id,
            actor_id=viewer.user_id,
            note_id=note.id,
            at=now,
        )
    return note
