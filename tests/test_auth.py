"""Logging in, and what a request without valid credentials gets: a clear error, no change."""

from datetime import UTC, datetime, timedelta

import jwt
import pytest

from db.models import Handoff
from tests.factories import PASSWORD, make_escalation

pytestmark = pytest.mark.anyio

LOGIN = """mutation($email: String!, $password: String!) {
  login(email: $email, password: $password) { __typename
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
        "mutation($h: ID!) { claimHandoff(handoffId: $h) { __typename } }", {"h": str(handoff.id)}
    )
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    async with desk.db.read() as db:
        row = await db.get(Handoff, handoff.id)
    assert row.claimed_by_id is None
