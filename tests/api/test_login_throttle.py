"""Login throttling: too many failures for an email, or from an address, and `login` answers
LoginThrottled, checking no password, for known and unknown emails alike."""

import asyncio
from contextlib import asynccontextmanager
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select, text, update

from db.models import LoginAttempt
from handoff_desk.app import create_app
from handoff_desk.settings import Settings
from tests.factories import PASSWORD
from tests.support.login_throttle import LOGIN

pytestmark = pytest.mark.anyio


MAX_FAILURES = 3


PER_ADDRESS = 6


WINDOW = 3600


class Front:
    """The app as clients at different addresses reach it."""

    def __init__(self, app) -> None:
        self.app = app
        self._clients: dict[str, httpx.AsyncClient] = {}

    def client(self, address: str) -> httpx.AsyncClient:
        if address not in self._clients:
            transport = httpx.ASGITransport(app=self.app, client=(address, 50000))
            self._clients[address] = httpx.AsyncClient(
                transport=transport, base_url="http://desk.test"
            )
        return self._clients[address]

    async def login(self, email: str, password: str, address: str = "192.0.2.10", **headers):
        response = await self.client(address).post(
            "/graphql",
            json={"query": LOGIN, "variables": {"email": email, "password": password}},
            headers=headers,
        )
        body = response.json()
        assert not body.get("errors"), body
        return body["data"]["login"]

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()


@asynccontextmanager
async def running(settings: Settings):
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        front = Front(app)
        try:
            yield front
        finally:
            await front.aclose()


def _limited(settings: Settings, **changes) -> Settings:
    limits = {
        "login_max_failures": MAX_FAILURES,
        "login_max_failures_per_address": PER_ADDRESS,
        "login_window_seconds": WINDOW,
    }
    return settings.model_copy(update={**limits, **changes})


@pytest.fixture
async def front(settings):
    async with running(_limited(settings)) as front:
        yield front


async def _time_passes(db, seconds: int) -> None:
    """Every recorded attempt becomes `seconds` older: time passes, as far as the desk knows."""
    async with db.engine.begin() as conn:
        rows = (await conn.execute(select(LoginAttempt.id, LoginAttempt.attempted_at))).all()
        for row in rows:
            await conn.execute(
                update(LoginAttempt)
                .where(LoginAttempt.id == row.id)
                .values(attempted_at=row.attempted_at - timedelta(seconds=seconds))
            )


def _db(front: Front):
    return front.app.state.desk.db


def _addresses(n: int) -> list[str]:
    return [f"198.51.100.{i + 1}" for i in range(n)]


async def test_past_the_limit_even_the_right_password_is_throttled(front, team):
    email = team.acme["sam"].user.email
    for address in _addresses(MAX_FAILURES):  # from anywhere: the email is what counts
        answer = await front.login(email, "wrong-password", address)
        assert answer["__typename"] == "InvalidCredentials"
    answer = await front.login(email, PASSWORD, "203.0.113.99")
    assert answer["__typename"] == "LoginThrottled", answer
    assert 0 < answer["retryAfterSeconds"] <= WINDOW
    assert "token" not in answer
    # Another user is not affected.
    other = await front.login(team.acme["kim"].user.email, PASSWORD, "203.0.113.99")
    assert other["__typename"] == "LoginSuccess"


async def test_an_unknown_email_is_throttled_exactly_like_a_known_one(front, team):
    known, unknown = team.acme["sam"].user.email, "nobody@nowhere.test"
    answers = {}
    for email in (known, unknown):
        answers[email] = [
            await front.login(email, "wrong-password", address)
            for address in _addresses(MAX_FAILURES + 2)
        ]
    for a, b in zip(answers[known], answers[unknown], strict=True):
        assert a.keys() == b.keys() and a["__typename"] == b["__typename"], (a, b)
        assert a.get("message") == b.get("message")
    typenames = [a["__typename"] for a in answers[known]]
    assert typenames == ["InvalidCredentials"] * MAX_FAILURES + ["LoginThrottled"] * 2


async def test_the_email_is_counted_however_it_is_spelled(front, team):
    email = team.acme["sam"].user.email
    for spelling in (email, email.upper(), f"  {email.title()} "):
        assert (await front.login(spelling, "nope"))["__typename"] == "InvalidCredentials"
    assert (await front.login(email, PASSWORD))["__typename"] == "LoginThrottled"


async def test_a_success_clears_the_emails_failures(front, team):
    email = team.acme["sam"].user.email
    for _ in range(MAX_FAILURES - 1):
        assert (await front.login(email, "nope"))["__typename"] == "InvalidCredentials"
    assert (await front.login(email, PASSWORD))["__typename"] == "LoginSuccess"
    for _ in range(MAX_FAILURES):  # a fresh allowance
        assert (await front.login(email, "nope"))["__typename"] == "InvalidCredentials"
    assert (await front.login(email, PASSWORD))["__typename"] == "LoginThrottled"


async def test_throttled_attempts_do_not_prolong_the_wait(front, team):
    email = team.acme["sam"].user.email
    for _ in range(MAX_FAILURES):
        await front.login(email, "nope")
    waits = [(await front.login(email, "nope"))["retryAfterSeconds"] for _ in range(4)]
    assert waits == sorted(waits, reverse=True), waits  # never longer than it was
    async with _db(front).engine.connect() as conn:
        recorded = (await conn.execute(text("SELECT count(*) FROM login_attempt"))).scalar()
    assert recorded == MAX_FAILURES  # only failures are kept


async def test_after_the_wait_the_user_may_log_in_and_old_attempts_are_dropped(front, team):
    email = team.acme["sam"].user.email
    for _ in range(MAX_FAILURES):
        await front.login(email, "nope")
    wait = (await front.login(email, PASSWORD))["retryAfterSeconds"]
    await _time_passes(_db(front), wait - 60)
    assert (await front.login(email, PASSWORD))["__typename"] == "LoginThrottled"
    await _time_passes(_db(front), 61)
    assert (await front.login(email, PASSWORD))["__typename"] == "LoginSuccess"
    await _time_passes(_db(front), WINDOW)
    await front.login("someone@else.test", "nope")
    async with _db(front).engine.connect() as conn:
        left = (await conn.execute(text("SELECT count(*) FROM login_attempt"))).scalar()
    assert left == 1  # only the attempt just made: the rest left the window


async def test_the_window_slides(front, team):
    # Failures spread over time: only those within the window count.
    email = team.acme["sam"].user.email
    for _ in range(MAX_FAILURES - 1):
        await front.login(email, "nope")
    await _time_passes(_db(front), WINDOW - 10)  # the first ones are about to leave
    await front.login(email, "nope")  # the limit is reached
    assert (await front.login(email, PASSWORD))["__typename"] == "LoginThrottled"
    await _time_passes(_db(front), 11)  # the first ones left; one failure remains
    assert (await front.login(email, PASSWORD))["__typename"] == "LoginSuccess"


async def test_concurrent_guesses_get_no_more_than_the_limit(front, team):
    email = team.acme["sam"].user.email
    answers = await asyncio.gather(
        *(
            front.login(email, f"guess-{n}", address)
            for n, address in enumerate(_addresses(MAX_FAILURES * 4))
        )
    )
    checked = [a for a in answers if a["__typename"] == "InvalidCredentials"]
    throttled = [a for a in answers if a["__typename"] == "LoginThrottled"]
    assert len(checked) == MAX_FAILURES, answers
    assert len(throttled) == len(answers) - MAX_FAILURES


async def test_many_emails_from_one_address_throttle_that_address(front, team):
    spray = "192.0.2.66"
    for n in range(PER_ADDRESS):
        answer = await front.login(f"guess{n}@acme.test", "Winter2026!", spray)
        assert answer["__typename"] == "InvalidCredentials"
    sam = team.acme["sam"].user.email
    answer = await front.login(sam, PASSWORD, spray)
    assert answer["__typename"] == "LoginThrottled"
    assert 0 < answer["retryAfterSeconds"] <= WINDOW
    # Sam from elsewhere is fine: his email has no failures.
    assert (await front.login(sam, PASSWORD, "192.0.2.77"))["__typename"] == "LoginSuccess"


async def test_x_forwarded_for_does_not_choose_the_address(front):
    # Only uvicorn, for proxies it trusts, may set the client address from this header.
    for n in range(PER_ADDRESS):
        forged = {"x-forwarded-for": f"203.0.113.{n + 1}"}
        await front.login(f"guess{n}@acme.test", "nope", "192.0.2.66", **forged)
    answer = await front.login(
        "another@acme.test", "nope", "192.0.2.66", **{"x-forwarded-for": "203.0.113.200"}
    )
    assert answer["__typename"] == "LoginThrottled"


async def test_an_ipv6_client_is_counted_by_its_64(front):
    for n in range(PER_ADDRESS):
        await front.login(f"guess{n}@acme.test", "nope", f"2001:db8:0:1::{n + 1:x}")
    same_64 = await front.login("another@acme.test", "nope", "2001:db8:0:1:ffff::1")
    other_64 = await front.login("another2@acme.test", "nope", "2001:db8:0:2::1")
    assert same_64["__typename"] == "LoginThrottled"
    assert other_64["__typename"] == "InvalidCredentials"


async def test_what_was_typed_is_not_stored(front):
    typed_email = "my-Secret-Passw0rd@typed.in.the.email.field"
    await front.login(typed_email, "nope", "192.0.2.44")
    async with _db(front).engine.connect() as conn:
        rows = (await conn.execute(text("SELECT * FROM login_attempt"))).all()
    stored = " ".join(str(value) for row in rows for value in row)
    assert rows and "secret" not in stored.lower() and "192.0.2.44" not in stored


async def test_a_limit_of_zero_turns_throttling_off(settings, team):
    off = _limited(settings, login_max_failures=0, login_max_failures_per_address=0)
    async with running(off) as front:
        email = team.acme["sam"].user.email
        for _ in range(MAX_FAILURES * 2):
            assert (await front.login(email, "nope"))["__typename"] == "InvalidCredentials"
        assert (await front.login(email, PASSWORD))["__typename"] == "LoginSuccess"
