"""A fresh migration yields exactly the models' schema, on each database."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

from db.engine import create_engine

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
