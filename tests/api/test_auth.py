"""Logging in, and what a request without valid credentials gets: a clear error, no change."""

import json
import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from sqlalchemy import text
from sqlmodel import SQLModel

from db.models import Handoff
from resolvers import claims
from tests.factories import PASSWORD, make_escalation, make_session

pytestmark = pytest.mark.anyio

LOGIN = """mutation($email: String!, $password: String!) {
  login(input: { email: $email, password: $password }) { __typename
    ... on LoginSuccess { token user { name } } ... on InvalidCredentials { message } } }"""
ME = "{ me { name role } }"


async def _login(api, email, password):
    return (await api.data(LOGIN, {"email": email, "password": password}))["login"]


async def test_a_token_from_login_works(api, team):
    sam = team.acme["sam"]
    answer = await _login(api, sam.user.email, PASSWORD)
    assert answer["__typename"] == "LoginSuccess" and answer["user"]["name"] == "Sam Senior"
    assert (await api.data(ME, token=answer["token"]))["me"]["name"] == "Sam Senior"


async def test_email_is_case_insensitive(api, team):
    answer = await _login(api, team.acme["sam"].user.email.upper(), PASSWORD)
    assert answer["__typename"] == "LoginSuccess"


async def test_a_wrong_password_and_an_unknown_email_get_the_same_answer(api, team):
    wrong_password = await _login(api, team.acme["sam"].user.email, "not-the-password")
    unknown_email = await _login(api, "nobody@nowhere.test", PASSWORD)
    assert wrong_password == unknown_email
    assert wrong_password["__typename"] == "InvalidCredentials"


def _token(settings, user, *, secret=None, expires_in=timedelta(hours=1)) -> str:
    now = datetime.now(UTC)
    claims = {
        "sub": str(user.id),
        "acct": str(user.account_id),
        "iat": now,
        "exp": now + expires_in,
    }
    return jwt.encode(claims, secret or settings.token_secret, algorithm="HS256")


@pytest.mark.parametrize("case", ["missing", "garbage", "other secret", "expired", "not bearer"])
async def test_without_a_valid_token_the_answer_says_so(api, settings, team, case):
    user = team.acme["sam"].user
    token = {
        "missing": None,
        "garbage": "not.a.token",
        "other secret": _token(settings, user, secret="another-secret-another-secret-0123"),
        "expired": _token(settings, user, expires_in=timedelta(minutes=-1)),
    }.get(case)
    if case == "not bearer":
        response = await api.client.post(
            "/graphql", json={"query": ME}, headers={"authorization": "Basic c2FtOnNhbQ=="}
        )
        error = response.json()["errors"][0]
    else:
        error = await api.error(ME, token=token)
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    expected = {
        "missing": "Authentication required",
        "garbage": "not valid",
        "other secret": "not valid",
        "expired": "expired",
        "not bearer": "Bearer",
    }[case]
    assert expected in error["message"]


async def test_a_mutation_without_a_token_changes_nothing(api, desk, team):
    handoff = await make_escalation(desk, team.acme["alex"])
    error = await api.error(
        "mutation($h: ID!) { claimHandoff(input: { handoffId: $h }) { __typename } }",
        {"h": str(handoff.id)},
    )
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    async with desk.db.read() as db:
        row = await db.get(Handoff, handoff.id)
    assert row.claimed_by_id is None


# --- What a login answers, and which tokens the API refuses -----------------------------------

LOGIN_FULL = """mutation($email: String!, $password: String!) {
  login(input: { email: $email, password: $password }) { __typename
    ... on LoginSuccess { token expiresAt user { id email role } }
    ... on InvalidCredentials { message } } }"""


async def test_a_login_answers_with_the_user_and_when_the_token_expires(api, settings, team):
    sam = team.acme["sam"]
    before = datetime.now(UTC)
    answer = (await api.data(LOGIN_FULL, {"email": sam.user.email, "password": PASSWORD}))["login"]
    assert answer["user"] == {"id": sam.id, "email": sam.user.email, "role": "ENGINEER"}
    expires_at = datetime.fromisoformat(answer["expiresAt"])
    ttl = timedelta(seconds=settings.token_ttl_seconds)
    assert before + ttl - timedelta(seconds=5) <= expires_at <= before + ttl + timedelta(seconds=5)
    claims = jwt.decode(answer["token"], options={"verify_signature": False})
    assert claims["sub"] == sam.id


async def test_an_email_with_other_case_and_surrounding_spaces_logs_in(api, team):
    sam = team.acme["sam"]
    messy = f"  {sam.user.email.title()}  "
    answer = await _login(api, messy, PASSWORD)
    assert answer["__typename"] == "LoginSuccess"
    assert (await api.data(ME, token=answer["token"]))["me"]["name"] == "Sam Senior"


async def test_the_password_is_case_sensitive(api, team):
    answer = await _login(api, team.acme["sam"].user.email, PASSWORD.upper())
    assert answer["__typename"] == "InvalidCredentials"


async def test_wrong_credentials_of_every_kind_get_one_and_the_same_message(api, team):
    sam = team.acme["sam"].user
    answers = [
        await _login(api, sam.email, "not-the-password"),
        await _login(api, "nobody@nowhere.test", PASSWORD),
        await _login(api, sam.email, ""),
        await _login(api, "", ""),
        await _login(api, team.globex["gus"].user.email, "not-the-password"),
    ]
    assert all(a == answers[0] for a in answers), answers
    assert answers[0]["__typename"] == "InvalidCredentials"
    assert answers[0]["message"]  # a message a client can show


def _claims(user, **overrides) -> dict:
    now = datetime.now(UTC)
    payload = {
        "sub": str(user.id),
        "acct": str(user.account_id),
        "iat": now,
        "exp": now + timedelta(hours=1),
    }
    payload.update(overrides)
    return {k: v for k, v in payload.items() if v is not None}


def _forged(settings, team, case: str) -> str:
    """Tokens an attacker or a broken client might send; each must be refused."""
    sam = team.acme["sam"].user
    secret = settings.token_secret
    if case == "unsigned (alg none)":
        return jwt.encode(_claims(sam), None, algorithm="none")
    if case == "another algorithm":
        return jwt.encode(_claims(sam), secret, algorithm="HS512")
    if case == "no expiry":
        return jwt.encode(_claims(sam, exp=None), secret, algorithm="HS256")
    if case == "no account":
        return jwt.encode(_claims(sam, acct=None), secret, algorithm="HS256")
    if case == "another account's id":
        return jwt.encode(_claims(sam, acct=str(team.globex.account.id)), secret, algorithm="HS256")
    if case == "unknown user":
        return jwt.encode(_claims(sam, sub=str(uuid.uuid4())), secret, algorithm="HS256")
    if case == "not a uuid":
        return jwt.encode(_claims(sam, sub="sam"), secret, algorithm="HS256")
    if case == "expired long ago":
        return jwt.encode(
            _claims(
                sam, iat=datetime(2020, 1, 1, tzinfo=UTC), exp=datetime(2020, 1, 2, tzinfo=UTC)
            ),
            secret,
            algorithm="HS256",
        )
    if case == "tampered payload":
        header, _payload, signature = _token(settings, sam).split(".")
        gus = team.globex["gus"].user
        other = _token(settings, gus).split(".")[1]
        return ".".join([header, other, signature])
    raise AssertionError(case)


FORGED = [
    "unsigned (alg none)",
    "another algorithm",
    "no expiry",
    "no account",
    "another account's id",
    "unknown user",
    "not a uuid",
    "expired long ago",
    "tampered payload",
]


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")  # HS512 case
@pytest.mark.parametrize("case", FORGED)
async def test_a_forged_or_broken_token_is_refused_with_advice(api, settings, team, case):
    body = await api.post(ME, token=_forged(settings, team, case))
    assert body.get("data") is None, body
    error = body["errors"][0]
    assert error["extensions"]["code"] == "UNAUTHENTICATED", error
    message = error["message"].lower()
    assert "log in" in message or "ask an admin" in message, error["message"]


@pytest.mark.parametrize(
    ("case", "advice"),
    [
        ("missing", "login mutation"),
        ("garbage", "log in"),
        ("other secret", "log in"),
        ("expired", "log in"),
        ("empty bearer", "bearer <token>"),
        ("not bearer", "bearer <token>"),
    ],
)
async def test_the_unauthenticated_answer_says_what_to_do(api, settings, team, case, advice):
    user = team.acme["sam"].user
    headers = {
        "missing": {},
        "garbage": {"authorization": "Bearer not.a.token"},
        "other secret": {
            "authorization": "Bearer "
            + _token(settings, user, secret="another-secret-another-secret-0123")
        },
        "expired": {
            "authorization": "Bearer " + _token(settings, user, expires_in=timedelta(seconds=-5))
        },
        "empty bearer": {"authorization": "Bearer   "},
        "not bearer": {"authorization": "Token " + _token(settings, user)},
    }[case]
    response = await api.client.post("/graphql", json={"query": ME}, headers=headers)
    body = response.json()
    assert body.get("data") is None, body
    error = body["errors"][0]
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert advice in error["message"].lower(), error["message"]
    assert "Traceback" not in response.text


async def test_bearer_is_accepted_in_any_case(api, team):
    response = await api.client.post(
        "/graphql",
        json={"query": ME},
        headers={"authorization": f"bearer {team.acme['sam'].token}"},
    )
    assert response.json()["data"]["me"]["name"] == "Sam Senior"


async def test_an_expired_token_reads_nothing_even_from_nullable_fields(api, desk, settings, team):
    handoff = await make_escalation(desk, team.acme["alex"], "Acme confidential")
    expired = _token(settings, team.acme["alex"].user, expires_in=timedelta(seconds=-1))
    # A fresh answer for the same request, cached for the same user, must not be handed out.
    query = "query($h: ID!) { handoff(id: $h) { id session { problemSummary } } }"
    fresh = await api.data(query, {"h": str(handoff.id)}, token=team.acme["alex"].token)
    assert fresh["handoff"]["session"]["problemSummary"] == "Acme confidential"
    body = await api.post(query, {"h": str(handoff.id)}, token=expired)
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert "Acme confidential" not in json.dumps(body)
    assert not (body.get("data") or {}).get("handoff")


# --- Without valid credentials, no mutation changes anything ----------------------------------

UNAUTHENTICATED_MUTATIONS = {
    "claimHandoff": "mutation($h: ID!) { claimHandoff(input: { handoffId: $h }) { __typename } }",
    "releaseHandoff": "mutation($h: ID!) { releaseHandoff(input: { handoffId: $h }) { "
    "__typename } }",
    "markHandoffSeen": "mutation($h: ID!) { markHandoffSeen(input: { handoffId: $h }) { "
    "__typename } }",
    "createHandoff": "mutation($s: ID!) { createHandoff(input: {sessionId: $s, intent: ESCALATE})"
    " { __typename } }",
    "addSessionMessage": "mutation($s: ID!) { addSessionMessage(input: {sessionId: $s, role: "
    'CUSTOMER, content: "hi"}) { __typename } }',
    "resolveSession": "mutation($s: ID!) { resolveSession(input: { sessionId: $s }) { "
    "__typename } }",
    "startSession": 'mutation { startSession(input: {intakeType: CHAT, intakeContent: "c", '
    'problemSummary: "p"}) { __typename } }',
    "addUser": 'mutation { addUser(input: {name: "Eve", email: "eve@acme.test", role: ADMIN, '
    'password: "long-enough-1"}) { __typename } }',
    "setUserRole": "mutation($u: ID!) { setUserRole(input: { userId: $u, role: ADMIN }) { "
    "__typename } }",
    "deactivateUser": "mutation($u: ID!) { deactivateUser(input: { userId: $u }) { __typename } }",
}


async def _all_rows(desk) -> dict:
    async with desk.db.read_rows() as conn:
        return {
            table.name: sorted(
                repr(tuple(row))
                for row in (await conn.execute(text(f"SELECT * FROM {table.name}"))).all()
            )
            for table in SQLModel.metadata.sorted_tables
        }


@pytest.mark.parametrize("credentials", ["none", "garbage", "expired", "other secret"])
@pytest.mark.parametrize("mutation", sorted(UNAUTHENTICATED_MUTATIONS))
async def test_no_mutation_changes_anything_without_valid_credentials(
    api, desk, settings, team, mutation, credentials
):
    alex = team.acme["alex"]
    handoff = await make_escalation(desk, alex)
    claimed = await make_escalation(desk, alex, "claimed one")
    await claims.claim_handoff(desk, team.acme["sam"].viewer, claimed.id)
    session = await make_session(desk, alex)
    token = {
        "none": None,
        "garbage": "garbage",
        "expired": _token(settings, team.acme["dana"].user, expires_in=timedelta(seconds=-1)),
        "other secret": _token(settings, team.acme["dana"].user, secret="x" * 40),
    }[credentials]
    variables = {
        "h": str(claimed.id) if mutation == "releaseHandoff" else str(handoff.id),
        "s": str(session.id),
        "u": team.acme["sam"].id,
    }
    query = UNAUTHENTICATED_MUTATIONS[mutation]
    used = {k: v for k, v in variables.items() if f"${k}" in query}
    before = await _all_rows(desk)
    body = await api.post(query, used, token=token)
    assert body.get("data") is None, body
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert await _all_rows(desk) == before
