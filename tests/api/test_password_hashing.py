"""Passwords are stored with production's argon2id parameters (the rest of the suite hashes with a
cheap profile, see tests/server.py): this test hashes and checks with the real ones."""

import argon2
import pytest
from sqlmodel import select

from db.models import User
from resolvers import auth
from tests.server import CHEAP_HASHING

pytestmark = pytest.mark.anyio

ADD = """mutation($input: AddUserInput!) { addUser(input: $input) { __typename } }"""
LOGIN = """mutation($e: String!, $p: String!) { login(input: { email: $e, password: $p }) {
  __typename } }"""


@pytest.fixture
def production_hashing():
    previous = auth.use_hashing(auth.PRODUCTION_HASHING)
    yield
    auth.use_hashing(previous)


async def test_a_new_users_password_is_stored_with_argon2id_at_production_cost(
    api, desk, team, production_hashing
):
    email, password = "new.person@acme.test", "long-enough-1"
    user = {"name": "New Person", "email": email, "role": "ENGINEER", "password": password}
    added = await api.data(ADD, {"input": user}, token=team.acme["dana"].token)
    assert added["addUser"]["__typename"] == "AddUserSuccess"
    async with desk.db.read() as db:
        stored = (await db.exec(select(User.password_hash).where(User.email == email))).one()
    assert argon2.extract_parameters(stored) == auth.PRODUCTION_HASHING
    assert auth.PRODUCTION_HASHING == argon2.profiles.RFC_9106_LOW_MEMORY  # not weakened
    assert auth.PRODUCTION_HASHING != CHEAP_HASHING
    # The production hash checks: the right password opens a session, a wrong one does not.
    assert (await api.data(LOGIN, {"e": email, "p": password}))["login"]["__typename"] == (
        "LoginSuccess"
    )
    wrong = await api.data(LOGIN, {"e": email, "p": "long-enough-2"})
    assert wrong["login"]["__typename"] == "InvalidCredentials"
