"""The operator's command line, run as an operator would: its `main()` with arguments and
HANDOFF_ settings, in the test's process (tests/system/test_secrets.py runs the program itself)."""

import asyncio
import json
import uuid

import pytest
from sqlmodel import select

from db.enums import Role
from db.models import Account, User
from resolvers.auth import login
from tests.server import Ran, run_main

pytestmark = pytest.mark.anyio


async def run_cli(settings, *args: str) -> Ran:
    return await asyncio.to_thread(run_main, *args, HANDOFF_DATABASE_URL=settings.database_url)


async def test_create_account_prints_ids_and_the_admin_can_log_in(settings, desk):
    done = await run_cli(
        settings,
        "create-account",
        "--name", "Initech",
        "--admin-name", "Peter Gibbons",
        "--admin-email", "Peter@Initech.test",
        "--admin-password", "tps-reports-42",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    ids = json.loads(done.stdout)
    async with desk.db.read() as db:
        account = await db.get(Account, uuid.UUID(ids["account_id"]))
        admin = (await db.exec(select(User).where(User.email == "peter@initech.test"))).one()
    assert account.name == "Initech"
    assert str(admin.id) == ids["admin_id"] and admin.role == Role.ADMIN
    assert await login(desk, "peter@initech.test", "tps-reports-42") is not None


async def test_create_account_takes_an_email_of_another_account_and_refuses_bad_input(
    settings, desk
):
    args = ["create-account", "--name", "A", "--admin-name", "B", "--admin-password", "long-enough"]
    assert (await run_cli(settings, *args, "--admin-email", "b@a.test")).returncode == 0
    again = await run_cli(settings, *args, "--admin-email", "b@a.test")  # unique per account
    assert again.returncode == 0, again.stderr
    bad = await run_cli(settings, *args, "--admin-email", "not-an-email")
    assert bad.returncode == 2 and "not an email address" in bad.stderr
    async with desk.db.read() as db:
        assert len((await db.exec(select(Account))).all()) == 2


async def test_migrate_is_idempotent(settings):
    for _ in range(2):
        done = await run_cli(settings, "migrate")
        assert done.returncode == 0, done.stderr
