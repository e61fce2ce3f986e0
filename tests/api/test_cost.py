"""The query cost limit: nested lists multiply, and a document over the limit never runs."""

import httpx
import pytest
from graphql import get_introspection_query

from handoff_desk.app import create_app
from tests.api.test_query_count import QUEUE_SCREEN, counting_statements
from tests.conftest import Api
from tests.factories import make_parked_session, make_session

pytestmark = pytest.mark.anyio


SPEC = "application/graphql-response+json"


LEGACY = "application/json"


def cycle(session_id) -> str:
    """session { handoffs { session { ... } } } four times over: 139 bytes with a session id."""
    return f'{{session(id:"{session_id}")' + "{handoffs{session" * 4 + "{createdAt" + "}" * 10


def not_run(statements: list[str]) -> bool:
    """Only the caller's identity was read: no session, handoff or message."""
    return not any(
        table in s for s in statements for table in ("session", "handoff", "account_event")
    )


async def post(api, query: str, token: str, accept: str = SPEC, variables=None):
    return await api.client.post(
        "/graphql",
        json={"query": query, "variables": variables or {}},
        headers={"authorization": f"Bearer {token}", "accept": accept},
    )


async def test_the_139_byte_cycle_is_refused_before_it_runs(api, desk, team):
    sam = team.acme["sam"]
    session = await make_parked_session(desk, sam, 4)
    query = cycle(session.id)
    assert len(query.encode()) == 139
    await post(api, "{ me { name } }", sam.token)  # warm up: connections, dialect
    with counting_statements() as refused_anyway:
        await post(api, "{ me { salary } }", sam.token)  # who asks is read, then refused

    with counting_statements() as statements:
        response = await post(api, query, sam.token)

    assert response.status_code == 400, response.text  # GraphQL over HTTP: validation failed
    answer = response.json()
    assert "data" not in answer
    [error] = answer["errors"]
    # 4 handoffs a session would answer 4**4 = 256 innermost sessions; with the default page
    # of 20 handoffs the estimate is 1 + 1 + 20 + 20 + 400 + 400 + ... = 336,842.
    assert "costs 336842" in error["message"], error
    assert "limit of 100000" in error["message"], error
    assert error["extensions"]["code"] == "QUERY_TOO_COSTLY"
    assert not_run(statements)
    assert len(statements) == len(refused_anyway)


async def test_a_legacy_client_gets_its_200_and_no_data(api, desk, team):
    sam = team.acme["sam"]
    session = await make_parked_session(desk, sam, 1)
    response = await post(api, cycle(session.id), sam.token, accept=LEGACY)
    assert response.status_code == 200
    assert response.json()["data"] is None
    assert "query cost limit" in response.json()["errors"][0]["message"]


CYCLES = {
    "through the queue": (
        "{ handoffQueue(first: 100) { nodes { session { handoffs { session { handoffs {"
        " session { handoffs { id } } } } } } } } }"
    ),
    "through my sessions": (
        "{ mySessions(first: 100) { handoffs { session { handoffs { session { handoffs {"
        " id } } } } } } }"
    ),
    "hidden in fragments": """
        { mySessions { ...Cycle } }
        fragment Cycle on Session { handoffs { session { handoffs { ...Deeper } } } }
        fragment Deeper on Session { ... on Session { handoffs { session { handoffs { id } } } } }
    """,
    "in a mutation's answer": """
        mutation($s: ID!) { resolveSession(input: { sessionId: $s }) { ... on
  ResolveSessionSuccess {
          session { handoffs(first: 50) { session { handoffs(first: 50) {
            history(first: 200) { seq } } } } } } } }
    """,
    "a page size by variable counts as its maximum": """
        query($n: Int!) { handoffQueue(first: $n) { edges { node {
          session { messages(last: $n) { content position role } } } } } }
    """,
}


@pytest.mark.parametrize("case", sorted(CYCLES))
async def test_an_amplifying_document_is_refused_however_it_is_written(api, desk, team, case):
    sam = team.acme["sam"]
    session = await make_session(desk, sam)
    with counting_statements() as statements:
        response = await post(
            api, CYCLES[case], sam.token, variables={"s": str(session.id), "n": 1}
        )
    assert response.status_code == 400, response.text
    assert "over the query cost limit of 100000" in response.json()["errors"][0]["message"]
    assert not_run(statements)
    # Nothing ran: the session was not resolved.
    mine = await api.data("{ mySessions { status } }", token=sam.token)
    assert mine["mySessions"] == [{"status": "ACTIVE"}]


@pytest.fixture
async def frugal(settings):
    """The app with a cost limit of 1000, on the same database."""
    app = create_app(settings.model_copy(update=dict(max_query_cost=1000)))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://frugal.test") as client:
            yield Api(client)


async def test_the_limit_is_a_setting_and_asked_sizes_count(frugal, desk, team):
    sam = team.acme["sam"]
    await make_session(desk, sam, turns=3)
    # 1 + 5 sessions x (id + messages + 100 default messages x content) = 511: under 1000.
    small = "{ mySessions(first: 5) { id messages { content } } }"
    assert len((await frugal.data(small, token=sam.token))["mySessions"]) == 1
    # 1 + 5 x (1 + 1 + 500) = 2511: over.
    body = await frugal.post(
        "{ mySessions(first: 5) { id messages(first: 500) { content } } }", token=sam.token
    )
    assert body["data"] is None
    assert "costs 2511, over the query cost limit of 1000" in body["errors"][0]["message"]
    # A page size given by a variable counts as the most the field allows (100 sessions):
    # 1 + 100 x (1 + 1 + 20) = 2201, where the same page written out costs 1 + 5 x 22 = 111.
    page = "mySessions(first: %s) { id messages(first: 20) { content } }"
    literal = await frugal.data("{ " + page.replace("%s", "5") + " }", token=sam.token)
    assert len(literal["mySessions"]) == 1
    body = await frugal.post(
        "query($n: Int!) { " + page.replace("%s", "$n") + " }", {"n": 5}, token=sam.token
    )
    assert body["data"] is None
    assert "costs 2201" in body["errors"][0]["message"]


async def test_the_default_limit_admits_what_clients_send(api, desk, team):
    sam = team.acme["sam"]
    await make_session(desk, sam)
    # GraphiQL's schema query, and the queue screen at its largest page.
    await api.data(get_introspection_query(descriptions=True), token=sam.token)
    await api.data(QUEUE_SCREEN, {"first": 100}, token=sam.token)
