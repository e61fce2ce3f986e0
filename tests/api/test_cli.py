"""The operator's command line, run as an operator would: its `main()` with arguments and
HANDOFF_ settings, in the test's process (tests/system/test_secrets.py runs the program itself)."""

import asyncio
import json
import re
import uuid

import pytest
from sqlmodel import select

from db.enums import Role
from db.models import Account, User
from resolvers.auth import login
from tests.server import Ran, run_main

pytestmark = pytest.mark.anyio


async def run_cli(settings, *args: str, stdin: str = "", **env: str) -> Ran:
    env.setdefault("HANDOFF_DATABASE_URL", settings.database_url)
    return await asyncio.to_thread(run_main, *args, stdin=stdin, **env)


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


ACCOUNT = ["create-account", "--name", "Initech", "--admin-name", "Peter Gibbons"]


async def test_create_account_takes_the_password_from_the_environment_or_stdin(settings, desk):
    by_env = await run_cli(
        settings, *ACCOUNT, "--admin-email", "env@initech.test",
        HANDOFF_ADMIN_PASSWORD="from-the-env-42",
    )  # fmt: skip
    assert by_env.returncode == 0, by_env.stderr
    by_stdin = await run_cli(
        settings, *ACCOUNT, "--admin-email", "pipe@initech.test", "--admin-password-stdin",
        stdin="from-a-pipe-42\nnot this line\n",
    )  # fmt: skip
    assert by_stdin.returncode == 0, by_stdin.stderr
    assert await login(desk, "env@initech.test", "from-the-env-42") is not None
    assert await login(desk, "pipe@initech.test", "from-a-pipe-42") is not None


async def test_create_account_without_a_password_names_the_ways_to_give_one(settings, desk):
    done = await run_cli(settings, *ACCOUNT, "--admin-email", "none@initech.test")
    assert done.returncode == 2
    assert "HANDOFF_ADMIN_PASSWORD" in done.stderr and "--admin-password-stdin" in done.stderr
    async with desk.db.read() as db:
        assert (await db.exec(select(Account))).all() == []  # nothing made


async def test_version_and_every_command_has_a_description_and_examples(settings):
    version = await run_cli(settings, "--version")
    assert version.returncode == 0 and re.fullmatch(r"handoff-desk \d+\.\d+\.\d+\n", version.stdout)
    for command in ("serve", "worker", "migrate", "create-account", "export-schema"):
        helped = await run_cli(settings, command, "--help")
        assert helped.returncode == 0, command
        description, examples = helped.stdout.split("\noptions:")[0], helped.stdout
        assert len(description.splitlines()) >= 3, (command, description)  # usage and more
        assert (
            "examples:\n  handoff-desk" in examples
            or "examples:\n  HANDOFF_" in examples
            or ("examples:\n  pass" in examples)
        ), (command, examples)


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://127.0.0.1:1/nothing_listens_here",
        "postgresql://nobody@127.0.0.1:5432/no_such_database",
        "sqlite:////no/such/folder/desk.db",
    ],
)
# aiosqlite, on a failed connect, leaves its thread a future to resolve on a loop that
# asyncio.run may have closed by then: that thread's error is aiosqlite's, not a line we print.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
async def test_an_unreachable_database_is_one_clear_line(settings, url):
    for command in ("migrate", "worker"):
        done = await run_cli(
            settings, command, HANDOFF_DATABASE_URL=url, HANDOFF_TOKEN_SECRET=settings.token_secret
        )
        assert done.returncode == 1, (command, done.stderr)
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: cannot reach the database"), lines
        assert "Traceback" not in done.stderr


async def test_commands_that_sign_no_tokens_say_nothing_of_the_token_secret(settings):
    for args in (["migrate"], ["export-schema", "--output", "-"]):
        done = await run_cli(settings, *args)
        assert done.returncode == 0, done.stderr
        assert "TOKEN_SECRET" not in done.stdout + done.stderr, args


async def test_a_demo_reset_refuses_a_database_with_accounts_the_demo_did_not_make(settings, desk):
    made = await run_cli(
        settings, *ACCOUNT, "--admin-email", "p@initech.test", "--admin-password", "long-enough"
    )
    assert made.returncode == 0, made.stderr
    refused = await run_cli(settings, "serve", "--demo", "--reset")
    assert refused.returncode == 2 and "Initech" in refused.stderr, refused.stderr
    async with desk.db.read() as db:
        assert [a.name for a in (await db.exec(select(Account))).all()] == ["Initech"]
