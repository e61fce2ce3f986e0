"""A fresh migration yields exactly the models' schema, on each database; and the steps that
move data move it right."""

import uuid

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import delete, insert, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import IntegrityError
from sqlmodel import SQLModel

from db.engine import create_engine
from db.migrate import alembic_config
from db.models import Account, AssessmentVersion, Handoff, TroubleshootingSession, User
from db.types import utcnow

pytestmark = pytest.mark.anyio


def _differences(sync_connection):
    context = MigrationContext.configure(sync_connection, opts={"compare_type": True})
    return compare_metadata(context, SQLModel.metadata)


@pytest.mark.filterwarnings("ignore:.*expression-based index")
async def test_fresh_migration_matches_the_models(database_url):
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            differences = await conn.run_sync(_differences)
    finally:
        await engine.dispose()
    assert differences == []


async def test_the_queue_index_is_in_the_queue_order(database_url):
    # Expression indexes can't be compared by alembic on SQLite: check this one directly.
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                sql = "SELECT sql FROM sqlite_master WHERE name = 'ix_handoff_queue'"
            else:
                sql = "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_handoff_queue'"
            definition = (await conn.exec_driver_sql(sql)).scalar_one()
    finally:
        await engine.dispose()
    normalized = " ".join(definition.replace('"', "").split())
    assert "claimed_by_id IS NULL" in normalized
    order = ["account_id", "intent", "claimed_by_id IS NULL", "priority_rank", "created_at", "id)"]
    positions = [normalized.index(part) for part in order]
    assert positions == sorted(positions), normalized


# --- migration 0007: emails unique per account --------------------------------------------------


def _migrate(sync_connection, revision: str, down: bool = False) -> None:
    config = alembic_config()
    config.attributes["connection"] = sync_connection
    (command.downgrade if down else command.upgrade)(config, revision)


async def _step(engine, revision: str, down: bool = False) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(_migrate, revision, down)


def _user(account, email: str, **values) -> dict:
    return {
        "id": uuid.uuid4(),
        "account_id": account,
        "name": "Sam",
        "email": email,
        "password_hash": "x",
        "role": "engineer",
        "active": True,
        "created_at": utcnow(),
        **values,
    }


async def _insert(engine, table, values: dict) -> None:
    async with engine.begin() as conn:
        await conn.execute(insert(table).values(values))


async def _rows(engine) -> list[tuple]:
    users = User.__table__
    async with engine.connect() as conn:
        result = await conn.execute(
            select(users.c.id, users.c.account_id, users.c.email, users.c.read_marks).order_by(
                users.c.id
            )
        )
        return [tuple(row) for row in result]


async def _revision(engine) -> str:
    async with engine.connect() as conn:
        return (await conn.exec_driver_sql("SELECT version_num FROM alembic_version")).scalar()


async def test_migration_0007_makes_emails_unique_per_account_and_back(empty_database):
    engine = create_engine(empty_database)
    accounts, users = Account.__table__, User.__table__
    acme, globex = uuid.uuid4(), uuid.uuid4()
    try:
        await _step(engine, "0006")
        for account in (acme, globex):
            await _insert(engine, accounts, {"id": account, "name": "A", "created_at": utcnow()})
        sam = _user(acme, "sam@acme.test", read_marks=3)
        await _insert(engine, users, sam)
        # A row that points at the user: the table is remade under it on SQLite.
        session = TroubleshootingSession.__table__
        await _insert(
            engine,
            session,
            {
                "id": uuid.uuid4(),
                "account_id": acme,
                "owner_id": sam["id"],
                "assignee_id": sam["id"],
                "intake_type": "chat",
                "intake_content": "",
                "problem_summary": "VPN",
                "status": "active",
                "handoff_count": 0,
                "message_count": 0,
                "created_at": utcnow(),
                "updated_at": utcnow(),
            },
        )
        with pytest.raises(IntegrityError):  # 0006: one address, one user in the whole desk
            await _insert(engine, users, _user(globex, "sam@acme.test"))
        before = await _rows(engine)

        await _step(engine, "0007")
        assert await _rows(engine) == before
        elsewhere = _user(globex, "sam@acme.test")
        await _insert(engine, users, elsewhere)  # another account: taken
        with pytest.raises(IntegrityError):  # the same account: refused
            await _insert(engine, users, _user(acme, "sam@acme.test"))
        with pytest.raises(IntegrityError):  # references are still checked
            await _insert(engine, users, _user(uuid.uuid4(), "nobody@acme.test"))

        # Back to one address per desk: refused while an address is in two accounts...
        with pytest.raises(IntegrityError):
            await _step(engine, "0006", down=True)
        assert await _revision(engine) == "0007"
        assert len(await _rows(engine)) == len(before) + 1
        # ...and done once it is not.
        async with engine.begin() as conn:
            await conn.execute(delete(users).where(users.c.id == elsewhere["id"]))
        await _step(engine, "0006", down=True)
        assert await _rows(engine) == before
        with pytest.raises(IntegrityError):
            await _insert(engine, users, _user(globex, "sam@acme.test"))
        await _step(engine, "head")
        assert await _rows(engine) == before
    finally:
        await engine.dispose()


# --- migration 0011: an escalation's assessments, and the ratings of them -----------------------


def _session_row(account, user) -> dict:
    return {
        "id": uuid.uuid4(),
        "account_id": account,
        "owner_id": user,
        "assignee_id": user,
        "intake_type": "chat",
        "intake_content": "",
        "problem_summary": "Printer offline",
        "status": "escalated",
        "handoff_count": 1,
        "message_count": 0,
        "created_at": utcnow(),
        "updated_at": utcnow(),
    }


def _handoff_row(session: dict, intent: str, status: str, **assessment) -> dict:
    return {
        "id": uuid.uuid4(),
        "account_id": session["account_id"],
        "session_id": session["id"],
        "intent": intent,
        "engineer_notes": "tried",
        "priority": "normal",
        "priority_rank": 1,
        "snapshot": {
            "taken_at": utcnow().isoformat(),
            "problem_summary": "Printer offline",
            "intake_type": "chat",
            "intake_content": "",
            "status": "active",
            "confidence_tier": None,
            "handoff_count": 0,
        },
        "created_by_id": session["owner_id"],
        "created_at": utcnow(),
        "assessment_status": status,
        **assessment,
    }


async def _assessments(engine) -> list[tuple]:
    versions = AssessmentVersion.__table__
    async with engine.connect() as conn:
        result = await conn.execute(
            select(
                versions.c.handoff_id,
                versions.c.number,
                versions.c.status,
                versions.c.summary,
                versions.c.suggested_steps,
                versions.c.requested_by_id,
            ).order_by(versions.c.status)
        )
        return [tuple(row) for row in result]


async def test_migration_0011_gives_each_escalation_its_first_assessment_and_back(
    empty_database,
):
    engine = create_engine(empty_database)
    acme, sam = uuid.uuid4(), uuid.uuid4()
    try:
        await _step(engine, "0010")
        await _insert(engine, Account.__table__, {"id": acme, "name": "A", "created_at": utcnow()})
        await _insert(engine, User.__table__, _user(acme, "sam@acme.test", id=sam))
        rows = [_session_row(acme, sam) for _ in range(3)]
        for row in rows:
            await _insert(engine, TroubleshootingSession.__table__, row)
        ready = _handoff_row(
            rows[0],
            "escalate",
            "ready",
            assessment_summary="Spooler",
            assessment_suggested_steps=["Restart it"],
            assessment_updated_at=utcnow(),
        )
        pending = _handoff_row(rows[1], "escalate", "pending")
        parked = _handoff_row(rows[2], "park", "pending")
        for row in (ready, pending, parked):
            await _insert(engine, Handoff.__table__, row)

        await _step(engine, "0011")
        assert await _assessments(engine) == [
            (pending["id"], 1, "pending", None, None, None),
            (ready["id"], 1, "ready", "Spooler", ["Restart it"], None),
        ]
        handoffs = Handoff.__table__
        async with engine.connect() as conn:
            numbers = dict(
                (await conn.execute(select(handoffs.c.id, handoffs.c.assessment_number))).all()
            )
        assert numbers == {ready["id"]: 1, pending["id"]: 1, parked["id"]: 0}

        # Back: the handoffs are as they were; up again, the same first assessments.
        await _step(engine, "0010", down=True)
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda c: sa_inspect(c).get_table_names())
        assert "assessment_version" not in tables and "assessment_rating" not in tables
        await _step(engine, "head")
        assert len(await _assessments(engine)) == 2
    finally:
        await engine.dispose()
