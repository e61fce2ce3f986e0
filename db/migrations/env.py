"""Alembic environment. The app passes its own connection (db.migrate); run by hand, it connects
to HANDOFF_DATABASE_URL, e.g. to autogenerate a revision:
    HANDOFF_DATABASE_URL=sqlite:///./scratch.db \
        alembic -c db/alembic.ini revision --autogenerate -m "..."
"""

import asyncio
import os

from alembic import context
from sqlalchemy import Connection
from sqlmodel import SQLModel

import db.models  # noqa: F401  (registers the tables on the metadata)
from db.engine import normalize_database_url

target_metadata = SQLModel.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_standalone() -> None:
    from db.engine import create_engine

    url = normalize_database_url(
        os.environ.get("HANDOFF_DATABASE_URL", "sqlite:///./handoff-desk.db")
    )
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(_run)
    await engine.dispose()


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    asyncio.run(_run_standalone())
