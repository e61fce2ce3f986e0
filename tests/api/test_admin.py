"""Account administration by the account's admins: users, roles, deactivation."""

import asyncio

import pytest
from sqlalchemy import text
from sqlmodel import col, func, select

from db.models import AccountEvent, Handoff, User
from tests.factories import PASSWORD, make_escalation

pytestmark = pytest.mark.anyio

ADD = """mutation($input: AddUserInput!) { addUser(input: $input) { __typename
  ... on AddUserSuccess { user { id email role } } ... on NotPermitted { message }
  ... on EmailAlreadyUsed { email } } }"""
SET_ROLE = """mutation($u: ID!, $r: Role!) { setUserRole(input: { userId: $u, role: $r }) {
  __typename
  ... on SetUserRoleSuccess { user { role } } ... on LastAdminRequired { message } } }"""
DEACTIVATE = """mutation($u: ID!) { deactivateUser(input: { userId: $u }) { __typename
  ... on DeactivateUserSuccess { user { active } } ... on LastAdminRequired { message } } }"""
LOGIN = """mutation($e: String!, $p: String!) { login(input: { email: $e, password: $p }) {
  __typename } }"""
CLAIM = "mutation($h: ID!) { claimHandoff(input: { handoffId: $h }) { __typename } }"


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


async def test_an_email_in_use_in_the_account_is_refused(api, desk, team):
    before = await _users(desk)
    taken = team.acme["sam"].user.email  # emails are unique per account
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


# --- More of what administration answers, and what it leaves unchanged -------------------------

NOT_PERMITTED = "... on NotPermitted { message }"
LOGIN_FULL = """mutation($e: String!, $p: String!) { login(input: { email: $e, password: $p }) {
  __typename
  ... on LoginSuccess { token user { email role } } ... on InvalidCredentials { message } } }"""


async def _user_rows(desk) -> list[str]:
    """Every user row, as text: compared before and after."""
    async with desk.db.read_rows() as conn:
        rows = (await conn.execute(text("SELECT * FROM app_user ORDER BY email"))).all()
    return [repr(tuple(r)) for r in rows]


async def test_an_added_user_logs_in_with_their_role_and_is_listed(api, team):
    dana = team.acme["dana"]
    variables = _new(email="  Vera.New@Acme.TEST ", role="VIEWER", password="eight-ch")
    answer = (await api.data(ADD, variables, token=dana.token))["addUser"]
    assert answer["user"]["email"] == "vera.new@acme.test"  # stored as it logs in
    login = (await api.data(LOGIN_FULL, {"e": "VERA.NEW@acme.test", "p": "eight-ch"}))["login"]
    assert login["user"] == {"email": "vera.new@acme.test", "role": "VIEWER"}
    me = await api.data("{ me { email role active } }", token=login["token"])
    assert me["me"] == {"email": "vera.new@acme.test", "role": "VIEWER", "active": True}
    listed = (await api.data("{ users { email } }", token=dana.token))["users"]
    assert "vera.new@acme.test" in {u["email"] for u in listed}
    # ...and not with another password
    wrong = (await api.data(LOGIN_FULL, {"e": "vera.new@acme.test", "p": PASSWORD}))["login"]
    assert wrong["__typename"] == "InvalidCredentials"


@pytest.mark.parametrize(
    "email",
    ["sam.senior@acme.test", "SAM.SENIOR@ACME.TEST", "  Sam.Senior@acme.test  "],
)
async def test_an_email_in_use_in_the_same_account_is_refused_in_any_spelling(
    api, desk, team, email
):
    before = await _user_rows(desk)
    answer = (await api.data(ADD, _new(email=email), token=team.acme["dana"].token))["addUser"]
    assert answer == {"__typename": "EmailAlreadyUsed", "email": "sam.senior@acme.test"}
    assert await _user_rows(desk) == before
    # The existing user still logs in with their own password.
    login = (await api.data(LOGIN_FULL, {"e": "sam.senior@acme.test", "p": PASSWORD}))["login"]
    assert login["__typename"] == "LoginSuccess"


@pytest.mark.parametrize(
    ("case", "variables"),
    [
        ("password of 7", _new(password="1234567")),
        ("password of 257", _new(password="p" * 257)),
        ("empty password", _new(password="")),
        ("no at sign", _new(email="new.person.acme.test")),
        ("no domain dot", _new(email="new.person@acme")),
        ("space inside", _new(email="new person@acme.test")),
        ("two at signs", _new(email="new@person@acme.test")),
        ("email too long", _new(email="a" * 64 + "@" + "b" * 260 + ".test")),
        ("empty name", {"input": {**_new()["input"], "name": "   "}}),
        ("name too long", {"input": {**_new()["input"], "name": "n" * 201}}),
    ],
)
async def test_each_bad_field_is_refused_as_bad_user_input(api, desk, team, case, variables):
    before = await _user_rows(desk)
    body = await api.post(ADD, variables, token=team.acme["dana"].token)
    assert body.get("data") is None, body
    error = body["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    assert error["message"] and "Internal error" not in error["message"]
    assert await _user_rows(desk) == before
    login = (await api.data(LOGIN_FULL, {"e": variables["input"]["email"], "p": "1234567"}))[
        "login"
    ]
    assert login["__typename"] == "InvalidCredentials"


@pytest.mark.parametrize("password", ["8charsok", "p" * 256])
async def test_passwords_at_the_limits_are_accepted(api, team, password):
    answer = await api.data(ADD, _new(password=password), token=team.acme["dana"].token)
    assert answer["addUser"]["__typename"] == "AddUserSuccess"
    login = (await api.data(LOGIN_FULL, {"e": "new.person@acme.test", "p": password}))["login"]
    assert login["__typename"] == "LoginSuccess"


@pytest.mark.parametrize("who", ["sam", "vic"])
@pytest.mark.parametrize(
    ("mutation", "variables"),
    [
        (SET_ROLE, lambda team, who: {"u": team.acme[who].id, "r": "ADMIN"}),  # promote oneself
        (SET_ROLE, lambda team, who: {"u": team.acme["dana"].id, "r": "VIEWER"}),
        (DEACTIVATE, lambda team, who: {"u": team.acme["dana"].id}),
        (DEACTIVATE, lambda team, who: {"u": team.acme["kim"].id}),
    ],
)
async def test_only_admins_change_roles_or_deactivate(api, desk, team, who, mutation, variables):
    before = await _user_rows(desk)
    query = mutation.replace("__typename", f"__typename {NOT_PERMITTED}", 1)
    answer = await api.data(query, variables(team, who), token=team.acme[who].token)
    result = next(iter(answer.values()))
    assert result["__typename"] == "NotPermitted"
    assert "admin" in result["message"].lower()
    assert await _user_rows(desk) == before
    assert (await api.data("{ me { role } }", token=team.acme[who].token))["me"]["role"] != "ADMIN"


async def test_a_promoted_engineer_administers_on_their_next_request(api, team):
    sam = team.acme["sam"]
    assert (await api.data(ADD, _new(), token=sam.token))["addUser"]["__typename"] == (
        "NotPermitted"
    )
    await api.data(SET_ROLE, {"u": sam.id, "r": "ADMIN"}, token=team.acme["dana"].token)
    answer = (await api.data(ADD, _new(), token=sam.token))["addUser"]  # the same token
    assert answer["__typename"] == "AddUserSuccess"


async def test_a_demoted_admin_loses_admin_rights_on_their_next_request(api, desk, team):
    dana, sam = team.acme["dana"], team.acme["sam"]
    await api.data(SET_ROLE, {"u": sam.id, "r": "ADMIN"}, token=dana.token)
    answer = await api.data(SET_ROLE, {"u": dana.id, "r": "ENGINEER"}, token=dana.token)
    assert answer["setUserRole"] == {
        "__typename": "SetUserRoleSuccess",
        "user": {"role": "ENGINEER"},
    }
    before = await _user_rows(desk)
    refused = (await api.data(ADD, _new(), token=dana.token))["addUser"]
    assert refused["__typename"] == "NotPermitted"
    refused = await api.data(DEACTIVATE, {"u": sam.id}, token=dana.token)
    assert refused["deactivateUser"]["__typename"] == "NotPermitted"
    assert await _user_rows(desk) == before
    assert (await api.data("{ me { role } }", token=dana.token))["me"]["role"] == "ENGINEER"


async def test_a_viewer_promoted_to_engineer_may_claim_with_the_same_token(api, desk, team):
    vic = team.acme["vic"]
    handoff = await make_escalation(desk, team.acme["alex"])
    refused = await api.data(CLAIM, {"h": str(handoff.id)}, token=vic.token)
    assert refused["claimHandoff"]["__typename"] == "NotPermitted"
    await api.data(SET_ROLE, {"u": vic.id, "r": "ENGINEER"}, token=team.acme["dana"].token)
    claimed = await api.data(CLAIM, {"h": str(handoff.id)}, token=vic.token)
    assert claimed["claimHandoff"]["__typename"] == "ClaimHandoffSuccess"


async def test_a_demoted_engineer_changes_nothing_when_refused(api, desk, team):
    kim = team.acme["kim"]
    handoff = await make_escalation(desk, team.acme["alex"])
    await api.data(SET_ROLE, {"u": kim.id, "r": "VIEWER"}, token=team.acme["dana"].token)
    refused = await api.data(CLAIM, {"h": str(handoff.id)}, token=kim.token)
    assert refused["claimHandoff"]["__typename"] == "NotPermitted"
    async with desk.db.read() as db:
        row = await db.get(Handoff, handoff.id)
    assert row.claimed_by_id is None and row.claimed_at is None


async def test_every_token_of_a_deactivated_user_stops_working(api, team):
    sam = team.acme["sam"]
    fresh = (await api.data(LOGIN_FULL, {"e": sam.user.email, "p": PASSWORD}))["login"]["token"]
    assert (await api.data("{ me { name } }", token=fresh))["me"]["name"] == "Sam Senior"
    await api.data(DEACTIVATE, {"u": sam.id}, token=team.acme["dana"].token)
    for token in (sam.token, fresh):
        body = await api.post("{ me { name } users { email } }", token=token)
        assert body.get("data") is None, body
        error = body["errors"][0]
        assert error["extensions"]["code"] == "UNAUTHENTICATED"
        assert "admin" in error["message"].lower()  # says what to do: ask an admin


async def test_a_deactivated_user_gets_the_same_answer_as_a_wrong_password(api, team):
    sam = team.acme["sam"]
    await api.data(DEACTIVATE, {"u": sam.id}, token=team.acme["dana"].token)
    deactivated = (await api.data(LOGIN_FULL, {"e": sam.user.email, "p": PASSWORD}))["login"]
    wrong = (await api.data(LOGIN_FULL, {"e": team.acme["kim"].user.email, "p": "wrong-one"}))[
        "login"
    ]
    assert deactivated == wrong
    assert deactivated["__typename"] == "InvalidCredentials"


async def test_a_deactivated_user_is_listed_as_inactive_and_cannot_act(api, desk, team):
    sam = team.acme["sam"]
    handoff = await make_escalation(desk, team.acme["alex"])
    await api.data(DEACTIVATE, {"u": sam.id}, token=team.acme["dana"].token)
    users = (await api.data("{ users { email active } }", token=team.acme["dana"].token))["users"]
    assert {"email": sam.user.email, "active": False} in users
    error = await api.error(CLAIM, {"h": str(handoff.id)}, token=sam.token)
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    async with desk.db.read() as db:
        assert (await db.get(Handoff, handoff.id)).claimed_by_id is None


async def _assert_dana_may_not_step_down(api, desk, dana) -> None:
    """Demoting or deactivating herself is refused, with a message, and no user row changes."""
    before = await _user_rows(desk)
    for mutation, variables in (
        (SET_ROLE, {"u": dana.id, "r": "VIEWER"}),
        (DEACTIVATE, {"u": dana.id}),
    ):
        answer = next(iter((await api.data(mutation, variables, token=dana.token)).values()))
        assert answer["__typename"] == "LastAdminRequired"
        assert answer["message"]
    assert await _user_rows(desk) == before


async def test_an_inactive_admin_does_not_count_as_the_remaining_admin(api, desk, team):
    dana = team.acme["dana"]
    await api.data(SET_ROLE, {"u": team.acme["sam"].id, "r": "ADMIN"}, token=dana.token)
    await api.data(DEACTIVATE, {"u": team.acme["sam"].id}, token=dana.token)
    await _assert_dana_may_not_step_down(api, desk, dana)
    assert (await api.data("{ me { role } }", token=dana.token))["me"]["role"] == "ADMIN"


async def test_the_last_admin_leaves_every_user_row_unchanged(api, desk, team):
    dana = team.acme["dana"]
    await _assert_dana_may_not_step_down(api, desk, dana)
    added = (await api.data(ADD, _new(), token=dana.token))["addUser"]  # still an admin
    assert added["__typename"] == "AddUserSuccess"


async def test_with_a_second_admin_the_first_may_step_down(api, team):
    dana, kim = team.acme["dana"], team.acme["kim"]
    await api.data(SET_ROLE, {"u": kim.id, "r": "ADMIN"}, token=dana.token)
    answer = await api.data(DEACTIVATE, {"u": dana.id}, token=dana.token)
    assert answer["deactivateUser"]["__typename"] == "DeactivateUserSuccess"
    # Now kim is the last one.
    answer = await api.data(SET_ROLE, {"u": kim.id, "r": "ENGINEER"}, token=kim.token)
    assert answer["setUserRole"]["__typename"] == "LastAdminRequired"


@pytest.mark.parametrize(
    "moves", [("role", "role"), ("deactivate", "deactivate"), ("role", "deactivate")]
)
async def test_two_admins_removing_each_other_at_once_leave_one_admin(api, desk, team, moves):
    dana, kim = team.acme["dana"], team.acme["kim"]
    await api.data(SET_ROLE, {"u": kim.id, "r": "ADMIN"}, token=dana.token)

    def request(move, target):
        if move == "role":
            return SET_ROLE, {"u": target.id, "r": "ENGINEER"}
        return DEACTIVATE, {"u": target.id}

    answers = await asyncio.gather(
        api.post(*request(moves[0], kim), token=dana.token),
        api.post(*request(moves[1], dana), token=kim.token),
    )

    def outcome(answer) -> str:
        if answer.get("errors"):  # the loser was deactivated before its request was heard
            return answer["errors"][0]["extensions"]["code"]
        return next(iter(answer["data"].values()))["__typename"]

    outcomes = [outcome(a) for a in answers]
    succeeded = [o for o in outcomes if o.endswith("Success")]
    assert len(succeeded) == 1, answers
    # The loser is told why: the account needs an admin, or it no longer is one.
    assert set(outcomes) - set(succeeded) <= {
        "LastAdminRequired",
        "NotPermitted",
        "UNAUTHENTICATED",
    }, answers
    assert await _active_admins(desk, team.acme.account.id) == 1


async def _active_admins(desk, account_id) -> int:
    async with desk.db.read() as db:
        stmt = select(func.count()).where(
            User.account_id == account_id, User.role == "admin", User.active
        )
        return (await db.exec(stmt)).one()


async def test_a_request_racing_its_callers_demotion_does_not_keep_admin_rights(api, team):
    """Dana demotes Kim while Kim's own request to make Kim an admin is in flight. Either order
    is fine, but not both: if Kim's request is applied after the demotion, Kim is no longer an
    admin and it must be refused; if before, the demotion wins. Dana must never be told the
    demotion succeeded while Kim stays an admin."""
    dana, kim = team.acme["dana"], team.acme["kim"]
    for _ in range(10):  # a race: a few rounds make a wrong interleaving all but certain
        await api.data(SET_ROLE, {"u": kim.id, "r": "ADMIN"}, token=dana.token)
        demote, promote = await asyncio.gather(
            api.post(SET_ROLE, {"u": kim.id, "r": "ENGINEER"}, token=dana.token),
            api.post(SET_ROLE, {"u": kim.id, "r": "ADMIN"}, token=kim.token),
        )
        assert demote["data"]["setUserRole"]["__typename"] == "SetUserRoleSuccess", demote
        users = (await api.data("{ users { id role } }", token=dana.token))["users"]
        kim_role = next(u["role"] for u in users if u["id"] == kim.id)
        assert kim_role == "ENGINEER", (
            f"Dana's demotion answered {demote['data']}, Kim's racing request answered "
            f"{promote.get('data') or promote.get('errors')}, yet Kim is {kim_role}"
        )


async def test_an_admin_of_one_account_cannot_touch_users_of_another(api, desk, team):
    gail = team.globex["gail"]
    before = await _user_rows(desk)
    for mutation, variables in (
        (SET_ROLE, {"u": team.acme["dana"].id, "r": "VIEWER"}),
        (DEACTIVATE, {"u": team.acme["dana"].id}),
    ):
        answer = next(iter((await api.data(mutation, variables, token=gail.token)).values()))
        assert answer["__typename"] == "UserNotFound"
    assert await _user_rows(desk) == before


async def test_a_user_added_by_one_account_is_listed_only_there(api, team):
    await api.data(ADD, _new(email="new@globex.test"), token=team.globex["gail"].token)
    acme = (await api.data("{ users { email } }", token=team.acme["dana"].token))["users"]
    globex = (await api.data("{ users { email } }", token=team.globex["gus"].token))["users"]
    assert {u["email"] for u in acme} == {m.user.email for m in team.acme.members.values()}
    assert {u["email"] for u in globex} == {m.user.email for m in team.globex.members.values()} | {
        "new@globex.test"
    }


async def test_users_shows_every_member_with_their_role(api, team):
    users = (await api.data("{ users { id email role active } }", token=team.acme["vic"].token))[
        "users"
    ]
    expected = {(m.id, m.user.email, m.user.role.upper(), True) for m in team.acme.members.values()}
    assert {(u["id"], u["email"], u["role"], u["active"]) for u in users} == expected


# --- Claims and access changes follow a user's standing ---

CLAIMED = """mutation($h: ID!) { claimHandoff(input: { handoffId: $h }) { __typename } }"""
ONE = """query($h: ID!) { handoff(id: $h) { claimedBy { id } session { status assignee { id } }
  history { kind actor { id } } } }"""


async def _log(desk) -> list[tuple[str, str | None, str | None]]:
    """The account event log, in order: (kind, handoff id, actor id)."""
    async with desk.db.read() as db:
        rows = (await db.exec(select(AccountEvent).order_by(col(AccountEvent.seq)))).all()
    return [
        (e.kind, e.handoff_id and str(e.handoff_id), e.actor_id and str(e.actor_id)) for e in rows
    ]


@pytest.mark.parametrize(
    ("mutation", "variables"),
    [(DEACTIVATE, {}), (SET_ROLE, {"r": "VIEWER"})],
    ids=["deactivated", "made a viewer"],
)
async def test_a_user_who_may_no_longer_claim_gives_open_claims_back(
    api, desk, team, mutation, variables
):
    sam, kim, dana = team.acme["sam"], team.acme["kim"], team.acme["dana"]
    held = await make_escalation(desk, sam, "Held by Kim")
    other = await make_escalation(desk, sam, "Held by Alex")
    for member, handoff in ((kim, held), (team.acme["alex"], other)):
        answer = await api.data(CLAIMED, {"h": str(handoff.id)}, token=member.token)
        assert answer["claimHandoff"]["__typename"] == "ClaimHandoffSuccess"
    before = await _log(desk)

    answer = await api.data(mutation, {"u": kim.id, **variables}, token=dana.token)

    assert next(iter(answer.values()))["__typename"] != "LastAdminRequired"
    shown = (await api.data(ONE, {"h": str(held.id)}, token=dana.token))["handoff"]
    assert shown["claimedBy"] is None
    assert shown["session"] == {"status": "ESCALATED", "assignee": {"id": sam.id}}
    assert shown["history"][-1] == {"kind": "RELEASED", "actor": {"id": dana.id}}
    # In one transaction: the release, then the access change, both by the admin.
    assert (await _log(desk))[len(before) :] == [
        ("released", str(held.id), dana.id),
        ("access_changed", None, dana.id),
    ]
    kept = (await api.data(ONE, {"h": str(other.id)}, token=dana.token))["handoff"]
    assert kept["claimedBy"] == {"id": team.acme["alex"].id}  # others' claims stay
    again = await api.data(CLAIMED, {"h": str(held.id)}, token=team.acme["alex"].token)
    assert again["claimHandoff"]["__typename"] == "ClaimHandoffSuccess"


async def test_each_change_of_role_or_standing_is_one_access_event(api, desk, team):
    dana, kim = team.acme["dana"], team.acme["kim"]
    before = await _log(desk)

    for mutation, variables in (
        (SET_ROLE, {"u": kim.id, "r": "ADMIN"}),
        (SET_ROLE, {"u": kim.id, "r": "ADMIN"}),  # no change: nothing to tell
        (SET_ROLE, {"u": kim.id, "r": "ENGINEER"}),
        (DEACTIVATE, {"u": kim.id}),
        (SET_ROLE, {"u": dana.id, "r": "VIEWER"}),  # refused (the last admin): no change
    ):
        await api.data(mutation, variables, token=dana.token)

    assert (await _log(desk))[len(before) :] == [("access_changed", None, dana.id)] * 3
    # No handoff's history shows them.
    handoff = await make_escalation(desk, team.acme["sam"])
    shown = (await api.data(ONE, {"h": str(handoff.id)}, token=dana.token))["handoff"]
    assert [h["kind"] for h in shown["history"]] == ["ESCALATED"]
