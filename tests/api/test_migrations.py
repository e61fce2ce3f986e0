"""A fresh migration yields exactly the models' schema, on each database."""

import uuid

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import SQLModel

from db.engine import create_engine
from db.migrate import alembic_config
from db.models import Account, TroubleshootingSession, User
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
