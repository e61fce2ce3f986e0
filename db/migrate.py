"""Apply alembic migrations from code (the serve and migrate commands, and the tests)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS = Path(__file__).parent / "migrations"
_LOCK_KEY = 0x4A4E_D0FF  # any constant: serializes concurrent `migrate` runs on PostgreSQL


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    async with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
        await conn.run_sync(_upgrade, revision)


def _upgrade(sync_connection: Connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = sync_connection
    command.upgrade(config, revision)
