"""Emails are unique per account: adding an address tells an admin nothing about other tenants,
and a person who is a user of several accounts logs in to the one they choose."""

import uuid

import pytest

from db.enums import Role
from db.models import Account, User
from resolvers.auth import LOGIN_ACCOUNTS_MAX
from resolvers.desk import transaction
from tests.factories import PASSWORD, make_tenant

pytestmark = pytest.mark.anyio

ADD = """mutation($input: AddUserInput!) { addUser(input: $input) { __typename
  ... on AddUserSuccess { user { name email role active } }
  ... on EmailAlreadyUsed { email message } ... on NotPermitted { message } } }"""
LOGIN = """mutation($e: String!, $p: String!, $a: ID) {
  login(input: { email: $e, password: $p, accountId: $a }) { __typename
    ... on LoginSuccess { token user { id email } }
    ... on AccountChoiceRequired { message accounts { id name } }
    ... on InvalidCredentials { message } ... on LoginThrottled { message } } }"""
WHO = "{ me { id name } account { id name } }"
SAM = "sam.senior@acme.test"  # Sam Senior, a user of Acme
OTHER_PASSWORD = "globex-password-1"


def _person(email: str, password: str = OTHER_PASSWORD, name: str = "Sam Elsewhere") -> dict:
    return {"input": {"name": name, "email": email, "role": "ENGINEER", "password": password}}


async def _add(api, admin, email: str, password: str = OTHER_PASSWORD) -> dict:
    return (await api.data(ADD, _person(email, password), token=admin.token))["addUser"]


async def _login(api, email: str, password: str, account_id: str | None = None) -> dict:
    return (await api.data(LOGIN, {"e": email, "p": password, "a": account_id}))["login"]


async def _who(api, token: str) -> dict:
    return await api.data(WHO, token=token)


def _ids(team) -> tuple[str, str]:
    return str(team.acme.account.id), str(team.globex.account.id)


async def test_an_address_of_another_account_is_added_like_a_fresh_one(api, team):
    gail = team.globex["gail"]
    fresh = await _add(api, gail, "fresh.person@elsewhere.test")
    elsewhere = await _add(api, gail, SAM)  # a user of Acme
    expected = {
        "__typename": "AddUserSuccess",
        "user": {"name": "Sam Elsewhere", "role": "ENGINEER", "active": True},
    }
    for answer, email in ((fresh, "fresh.person@elsewhere.test"), (elsewhere, SAM)):
        assert answer == {**expected, "user": {**expected["user"], "email": email}}
    # A new user of Globex; Acme's Sam is untouched.
    globex = (await api.data("{ users { email } }", token=gail.token))["users"]
    assert SAM in {u["email"] for u in globex}
    acme = (await api.data("{ users { email name } }", token=team.acme["dana"].token))["users"]
    assert [u["name"] for u in acme if u["email"] == SAM] == ["Sam Senior"]


async def test_an_address_already_in_the_callers_account_is_refused(api, team):
    gail = team.globex["gail"]
    assert (await _add(api, gail, SAM))["__typename"] == "AddUserSuccess"
    again = await _add(api, gail, f"  {SAM.upper()} ")
    assert again["__typename"] == "EmailAlreadyUsed"
    assert again["email"] == SAM
    users = (await api.data("{ users { email } }", token=gail.token))["users"]
    assert [u["email"] for u in users].count(SAM) == 1


async def test_different_passwords_log_in_to_their_own_accounts(api, team):
    acme_id, globex_id = _ids(team)
    await _add(api, team.globex["gail"], SAM, OTHER_PASSWORD)

    in_acme = await _login(api, SAM, PASSWORD)
    in_globex = await _login(api, SAM.upper(), OTHER_PASSWORD)

    assert in_acme["__typename"] == in_globex["__typename"] == "LoginSuccess"
    assert (await _who(api, in_acme["token"]))["account"] == {"id": acme_id, "name": "Acme"}
    assert (await _who(api, in_acme["token"]))["me"]["name"] == "Sam Senior"
    assert (await _who(api, in_globex["token"]))["account"] == {"id": globex_id, "name": "Globex"}
    assert (await _who(api, in_globex["token"]))["me"]["name"] == "Sam Elsewhere"


async def test_the_same_password_in_two_accounts_asks_which_and_account_id_picks(api, team):
    acme_id, globex_id = _ids(team)
    await _add(api, team.globex["gail"], SAM, PASSWORD)

    choice = await _login(api, SAM, PASSWORD)

    assert choice["__typename"] == "AccountChoiceRequired"
    assert choice["message"]
    assert choice["accounts"] == [
        {"id": acme_id, "name": "Acme"},
        {"id": globex_id, "name": "Globex"},
    ]
    for account_id, name, user in (
        (acme_id, "Acme", "Sam Senior"),
        (globex_id, "Globex", "Sam Elsewhere"),
    ):
        picked = await _login(api, SAM, PASSWORD, account_id)
        assert picked["__typename"] == "LoginSuccess"
        who = await _who(api, picked["token"])
        assert who["account"] == {"id": account_id, "name": name}
        assert who["me"] == {"id": picked["user"]["id"], "name": user}


async def test_the_choice_lists_only_accounts_whose_password_matched(api, desk, team):
    # A third account where the address has another password: neither listed nor revealed.
    initech = await make_tenant(desk, "Initech", [("Ian Admin", Role.ADMIN)])
    await _add(api, team.globex["gail"], SAM, PASSWORD)
    await _add(api, initech["ian"], SAM, OTHER_PASSWORD)

    choice = await _login(api, SAM, PASSWORD)
    assert [a["name"] for a in choice["accounts"]] == ["Acme", "Globex"]
    only = await _login(api, SAM, OTHER_PASSWORD)
    assert only["__typename"] == "LoginSuccess"
    assert (await _who(api, only["token"]))["account"]["name"] == "Initech"


async def test_a_deactivated_user_leaves_the_other_account_to_log_in_directly(api, team):
    globex_id = _ids(team)[1]
    dana = team.acme["dana"]
    await _add(api, team.globex["gail"], SAM, PASSWORD)
    await api.data(
        "mutation($u: ID!) { deactivateUser(input: { userId: $u }) { __typename } }",
        {"u": team.acme["sam"].id},
        token=dana.token,
    )
    answer = await _login(api, SAM, PASSWORD)
    assert answer["__typename"] == "LoginSuccess"
    assert (await _who(api, answer["token"]))["account"]["id"] == globex_id
    refused = await _login(api, SAM, PASSWORD, str(team.acme.account.id))
    assert refused["__typename"] == "InvalidCredentials"


async def test_a_wrong_password_or_account_answers_as_a_wrong_password_does(api, team):
    acme_id, globex_id = _ids(team)
    await _add(api, team.globex["gail"], SAM, OTHER_PASSWORD)
    unknown = await _login(api, "nobody@nowhere.test", PASSWORD)
    answers = {
        "wrong password": await _login(api, SAM, "not-the-password"),
        # Globex's user has another password; Acme's password does not open Globex.
        "another account's password": await _login(api, SAM, PASSWORD, globex_id),
        "an account it is not a user of": await _login(
            api, team.globex["gus"].user.email, PASSWORD, acme_id
        ),
        "no such account": await _login(api, SAM, PASSWORD, str(uuid.uuid4())),
    }
    for case, answer in answers.items():
        assert answer == unknown, case
    assert unknown == {"__typename": "InvalidCredentials", "message": unknown["message"]}
    # And the right one still opens each.
    assert (await _login(api, SAM, OTHER_PASSWORD, globex_id))["__typename"] == "LoginSuccess"


async def test_a_malformed_account_id_is_bad_input(api, team):
    body = await api.post(LOGIN, {"e": SAM, "p": PASSWORD, "a": "not-an-id"})
    assert body.get("data") is None, body
    error = body["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "accountId" in error["message"]


async def test_failures_count_for_the_email_whatever_account_they_name(api, settings, team):
    acme_id, globex_id = _ids(team)
    await _add(api, team.globex["gail"], SAM, OTHER_PASSWORD)
    for _ in range(settings.login_max_failures):
        wrong = await _login(api, SAM, "not-the-password", globex_id)
        assert wrong["__typename"] == "InvalidCredentials"
    # Throttled for the email, in Acme too, even with Acme's right password.
    assert (await _login(api, SAM, PASSWORD, acme_id))["__typename"] == "LoginThrottled"
    assert (await _login(api, SAM, PASSWORD))["__typename"] == "LoginThrottled"


async def test_an_address_in_many_accounts_is_tried_in_a_bounded_number(api, desk, team):
    """Each account costs an argon2 check: at most LOGIN_ACCOUNTS_MAX are tried (by account
    name); an account past them is reached by naming it."""
    users = []
    async with transaction(desk) as tx:
        for n in range(LOGIN_ACCOUNTS_MAX):
            account = Account(name=f"Tenant {n:02}")
            tx.session.add(account)
            users.append(
                User(
                    account_id=account.id,
                    name="Sam",
                    email=SAM,
                    role=Role.ENGINEER,
                    password_hash=team.acme["sam"].user.password_hash,
                )
            )
        await tx.session.flush()
        tx.session.add_all(users)

    choice = await _login(api, SAM, PASSWORD)

    names = ["Acme"] + [f"Tenant {n:02}" for n in range(LOGIN_ACCOUNTS_MAX)]
    assert [a["name"] for a in choice["accounts"]] == names[:LOGIN_ACCOUNTS_MAX]
    last = users[-1]  # "Tenant 07": past the bound by name
    picked = await _login(api, SAM, PASSWORD, str(last.account_id))
    assert picked["__typename"] == "LoginSuccess"
    assert picked["user"]["id"] == str(last.id)
