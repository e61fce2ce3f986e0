"""This session's migrations go down and up again on each database, over rows that point at each
other (SQLite keeps its foreign keys on): an operator can roll a release back."""

import pytest
from alembic import command

from db.engine import Database, create_engine
from db.enums import Rating
from db.migrate import alembic_config
from db.models import HandoffNote
from handoff_desk.settings import Settings
from resolvers import assessments, notes
from resolvers.desk import Desk
from tests.conftest import TOKEN_SECRET
from tests.factories import land_assessment, make_escalation, make_team

pytestmark = pytest.mark.anyio


def _step(sync_connection, revision: str, down: bool) -> None:
    config = alembic_config()
    config.attributes["connection"] = sync_connection
    (command.downgrade if down else command.upgrade)(config, revision)


async def test_down_to_0004_and_up_again_with_a_desk_in_use(empty_database):
    engine = create_engine(empty_database)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_step, "head", False)
        # Rows that point at each other, as a desk in use has them.
        desk = Desk(
            settings=Settings(database_url=empty_database, token_secret=TOKEN_SECRET),
            db=Database.from_url(empty_database),
        )
        try:
            team = await make_team(desk)
            # (Its messages are events naming their session; a note, an event naming the note.)
            handoff = await make_escalation(desk, team.acme["alex"])
            sam = team.acme["sam"].viewer
            note = await notes.add_note(desk, sam, handoff.id, "Noted")
            assert isinstance(note, HandoffNote), note
            # Its assessment rated, and a fresh one asked for (issue 15).
            first = await land_assessment(desk, handoff.id)
            await assessments.rate_assessment(desk, sam, first.id, Rating.NOT_HELPFUL, "No")
            await assessments.reassess_handoff(desk, sam, handoff.id)
        finally:
            await desk.db.dispose()
        for revision, down in (("0004", True), ("head", False)):
            async with engine.begin() as conn:
                await conn.run_sync(_step, revision, down)
    finally:
        await engine.dispose()
