"""Account administration by the account's admins: users, roles, deactivation."""

import pytest
from sqlmodel import func, select

from db.models import User
from tests.factories import PASSWORD, make_escalation

pytestmark = pytest.mark.anyio

ADD = """mutation($input: AddUserInput!) { addUser(input: $input) { __typename
  ... on AddUserSuccess { user { id email role } } ... on NotPermitted { message }
  ... on EmailAlreadyUsed { email } } }"""
SET_ROLE = """mutation($u: ID!, $r: Role!) { setUserRole(userId: $u, role: $r) { __typename
  ... on SetUserRoleSuccess { user { role } } ... on LastAdminRequired { message } } }"""
DEACTIVATE = """mutation($u: ID!) { deactivateUser(userId: $u) { __typename
  ... on DeactivateUserSuccess { user { active } } ... on LastAdminRequired { message } } }"""
LOGIN = """mutation($e: String!, $p: String!) { login(email: $e, password: $p) { __typename } }"""
CLAIM = "mutation($h: ID!) { claimHandoff(handoffId: $h) { __typename } }"


def _new(email="new.person@acme.test", role="ENGINEER", password="long-enough-1"):
    return {"input": {"name": "New Person", "email": email, "role": role, "password": password}}


async def _users(desk) -> int:
    async with desk.db.read() as db:
        return (await db.exec(select(func.count()).select_from(User))).one()


async def test_an_admin_adds_a_user_who_can_log_in(api, team):
    answer = (await api.data(ADD, _new(), token=team.acme["dana"].token))["addUser"]
    assert answer["__typename"] == "AddUserSuccess"
    assert answer["user"]["role"] == "ENGINEER"
    login = await api.data(LOGIN, {"e": "new.person@acme.test", "p": "long-enough-1"})
    assert login["login"]["__typename"] == "LoginSuccess"


@pytest.mark.parametrize("who", ["sam", "vic"])
async def test_only_admins_add_users(api, desk, team, who):
    before = await _users(desk)
    answer = (await api.data(ADD, _new(), token=team.acme[who].token))["addUser"]
    assert answer["__typename"] == "NotPermitted"
    assert await _users(desk) == before


async def test_an_email_in_use_is_refused(api, desk, team):
    before = await _users(desk)
    taken = team.globex["gus"].user.email  # in use in another account: emails are global
    answer = (await api.data(ADD, _new(email=taken), token=team.acme["dana"].token))["addUser"]
    assert answer == {"__typename": "EmailAlreadyUsed", "email": taken}
    assert await _users(desk) == before


@pytest.mark.parametrize(
    "variables", [_new(email="not-an-email"), _new(password="short"), _new(email="")]
)
async def test_bad_user_input_is_refused(api, desk, team, variables):
    before = await _users(desk)
    error = await api.error(ADD, variables, token=team.acme["dana"].token)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert await _users(desk) == before


async def test_a_role_change_takes_effect_on_the_next_request(api, desk, team):
    kim = team.acme["kim"]
    handoff = await make_escalation(desk, team.acme["alex"])
    answer = await api.data(SET_ROLE, {"u": kim.id, "r": "VIEWER"}, token=team.acme["dana"].token)
    assert answer["setUserRole"]["user"]["role"] == "VIEWER"
    claim = await api.data(CLAIM, {"h": str(handoff.id)}, token=kim.token)  # the same token
    assert claim["claimHandoff"]["__typename"] == "NotPermitted"


async def test_a_deactivated_user_is_locked_out_at_once(api, team):
    sam = team.acme["sam"]
    assert (await api.data("{ me { name } }", token=sam.token))["me"]["name"] == "Sam Senior"
    answer = await api.data(DEACTIVATE, {"u": sam.id}, token=team.acme["dana"].token)
    assert answer["deactivateUser"]["user"]["active"] is False
    error = await api.error("{ me { name } }", token=sam.token)
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    login = await api.data(LOGIN, {"e": sam.user.email, "p": PASSWORD})
    assert login["login"]["__typename"] == "InvalidCredentials"


async def test_the_last_active_admin_stays(api, desk, team):
    dana = team.acme["dana"]
    for mutation, variables in (
        (SET_ROLE, {"u": dana.id, "r": "ENGINEER"}),
        (DEACTIVATE, {"u": dana.id}),
    ):
        answer = await api.data(mutation, variables, token=dana.token)
        assert next(iter(answer.values()))["__typename"] == "LastAdminRequired"
    async with desk.db.read() as db:
        row = await db.get(User, dana.user.id)
    assert row.role == "admin" and row.active


async def test_users_lists_only_the_callers_account(api, team):
    users = (await api.data("{ users { email } }", token=team.globex["gus"].token))["users"]
    assert {u["email"] for u in users} == {m.user.email for m in team.globex.members.values()}
