"""GraphQL over HTTP, as the spec's clients and the older ones see it.

A client preferring `application/graphql-response+json` gets that media type, and a 400 with no
`data` entry for every request that never executed (the spec's draft and its audit suite,
tests/system/test_graphql_http_audit.py); a legacy client (`application/json`, or no Accept)
gets 400 only for a request that is no GraphQL request, and 200 for every GraphQL answer. Both
get 405 for a mutation over GET, 415 for a body that is not JSON, 406 for an Accept that admits
neither media type.
"""

import httpx
import pytest

from handoff_desk.app import create_app
from tests.conftest import Api

pytestmark = pytest.mark.anyio

SPEC = "application/graphql-response+json"
LEGACY = "application/json"
RECOMMENDED = f"{SPEC}, {LEGACY};q=0.9"  # what the spec tells a client to send

START = """mutation { startSession(input: {intakeType: CHAT, intakeContent: "c",
  problemSummary: "Sent by GET"}) { __typename } }"""
MY_SESSIONS = "{ mySessions { problemSummary } }"


@pytest.fixture
async def strict(settings):
    """The app with tight query limits, on the same database."""
    app = create_app(
        settings.model_copy(
            update=dict(max_query_depth=4, max_query_tokens=200, max_query_aliases=2)
        )
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://strict.test") as client:
            yield Api(client)


def _headers(accept: str | None, token: str | None = None, **extra: str) -> dict:
    headers = dict(extra)
    if accept is not None:
        headers["accept"] = accept
    if token:
        headers["authorization"] = f"Bearer {token}"
    return headers


def _media_type(response: httpx.Response) -> str:
    return response.headers["content-type"].partition(";")[0].strip()


# --- Which media type -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "media_type"),
    [
        (None, LEGACY),
        ("", LEGACY),
        (LEGACY, LEGACY),
        (SPEC, SPEC),
        (RECOMMENDED, SPEC),
        (f"{SPEC}; charset=utf-8", SPEC),
        (f"{SPEC}, {LEGACY}", SPEC),  # equal quality: the first listed
        (f"{LEGACY}, {SPEC}", LEGACY),
        (f"{LEGACY};q=0.5, {SPEC};q=0.8", SPEC),
        (f"{SPEC};q=0.5, {LEGACY}", LEGACY),
        ("*/*", LEGACY),
        ("application/*", LEGACY),
        (f"*/*;q=0.1, {SPEC}", SPEC),
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", LEGACY),  # browsers
        (f"application/*, {LEGACY};q=0", SPEC),  # the specific range decides for JSON
    ],
)
async def test_the_answer_comes_in_the_media_type_the_client_prefers(api, accept, media_type):
    response = await api.client.post(
        "/graphql", json={"query": "{ __typename }"}, headers=_headers(accept)
    )
    assert response.status_code == 200
    assert _media_type(response) == media_type
    assert response.json() == {"data": {"__typename": "Query"}}
    assert "accept" in response.headers["vary"].lower()
    if media_type == SPEC:
        assert "charset=utf-8" in response.headers["content-type"]


@pytest.mark.parametrize(
    "accept", ["text/html", "application/xml", f"{LEGACY};q=0", f"{SPEC};q=0, text/plain"]
)
async def test_an_accept_admitting_neither_media_type_gets_406(api, accept):
    response = await api.client.post(
        "/graphql", json={"query": "{ __typename }"}, headers=_headers(accept)
    )
    assert response.status_code == 406
    assert "accept" in response.json()["errors"][0]["message"].lower()


async def test_a_browser_opening_the_endpoint_still_gets_graphiql(api):
    response = await api.client.get("/graphql", headers={"accept": "text/html"})
    assert response.status_code == 200
    assert _media_type(response) == "text/html"


# --- Requests that never execute --------------------------------------------------------------

DEEP = "{ handoffQueue { edges { node { session { owner { name } } } } } }"
ALIASES = "{ a: me { name } b: me { name } c: me { name } }"
MANY_TOKENS = "{ me { " + " ".join(["name"] * 250) + " } }"

# name: (request body, spec status, legacy status). A legacy client's 200 is a GraphQL answer;
# its 400 a request that is no GraphQL request.
NEVER_EXECUTED = {
    "body not JSON": (b'{"query": "{ me { name } ', 400, 400),
    "no body": (b"", 400, 400),
    "body not an object": (b"[1, 2]", 400, 400),
    "no query": ({"qeury": "{ me { name } }"}, 400, 400),
    "query not a string": ({"query": 42}, 400, 400),
    "operationName not a string": (
        {"query": "query A { me { name } }", "operationName": 0},
        400,
        400,
    ),
    "variables not an object": ({"query": "{ me { name } }", "variables": [7]}, 400, 400),
    "variables false": ({"query": "{ me { name } }", "variables": False}, 400, 400),
    "extensions not an object": ({"query": "{ me { name } }", "extensions": "x"}, 400, 400),
    "document does not parse": ({"query": "{"}, 400, 200),
    "unknown field": ({"query": "{ me { salary } }"}, 400, 200),
    "too deep": ({"query": DEEP}, 400, 200),
    "too many aliases": ({"query": ALIASES}, 400, 200),
    "too many tokens": ({"query": MANY_TOKENS}, 400, 200),  # parsing is aborted
    "variable does not coerce": (
        {
            "query": "query($first: Int!) { handoffQueue(first: $first) { totalCount } }",
            "variables": {"first": "fifty"},
        },
        400,
        200,
    ),
    "missing variable": (
        {"query": "query($id: ID!) { session(id: $id) { id } }", "variables": {}},
        400,
        200,
    ),
    "several operations, none named": (
        {"query": "query A { me { name } } query B { account { name } }"},
        400,
        200,
    ),
    "unknown operation name": (
        {"query": "query A { me { name } }", "operationName": "B"},
        400,
        200,
    ),
    "subscription over HTTP": ({"query": "subscription { handoffCreated { seq } }"}, 400, 200),
}


async def _post(api, body, accept, token):
    if isinstance(body, bytes):
        headers = _headers(accept, token, **{"content-type": LEGACY})
        return await api.client.post("/graphql", content=body, headers=headers)
    return await api.client.post("/graphql", json=body, headers=_headers(accept, token))


@pytest.mark.parametrize("case", sorted(NEVER_EXECUTED))
async def test_a_request_that_never_executes_gets_a_400_and_no_data(strict, team, case):
    body, status, _ = NEVER_EXECUTED[case]
    response = await _post(strict, body, RECOMMENDED, team.acme["sam"].token)
    assert response.status_code == status, response.text
    assert _media_type(response) == SPEC
    answer = response.json()
    assert "data" not in answer, answer
    assert answer["errors"] and answer["errors"][0]["message"], answer


@pytest.mark.parametrize("case", sorted(NEVER_EXECUTED))
async def test_a_legacy_client_keeps_its_status_codes(strict, team, case):
    body, _, legacy_status = NEVER_EXECUTED[case]
    for accept in (LEGACY, None):
        response = await _post(strict, body, accept, team.acme["sam"].token)
        assert response.status_code == legacy_status, response.text
        assert _media_type(response) == LEGACY
        assert response.json()["errors"], response.text
        if legacy_status == 200:
            assert response.json()["data"] is None


async def test_several_operations_run_none_without_a_name(api, team):
    alex = team.acme["alex"]
    two = START.replace("mutation {", "mutation First {") + START.replace(
        "mutation {", "mutation Second {"
    )
    response = await api.client.post(
        "/graphql", json={"query": two}, headers=_headers(RECOMMENDED, alex.token)
    )
    assert response.status_code == 400
    assert (await api.data(MY_SESSIONS, token=alex.token))["mySessions"] == []
    named = await api.client.post(
        "/graphql",
        json={"query": two, "operationName": "Second"},
        headers=_headers(RECOMMENDED, alex.token),
    )
    assert named.json() == {"data": {"startSession": {"__typename": "StartSessionSuccess"}}}
    assert len((await api.data(MY_SESSIONS, token=alex.token))["mySessions"]) == 1


# --- Requests that execute ----------------------------------------------------------------------


async def test_field_errors_are_a_200_with_data(api, team):
    # Execution started: a bad id is a field error; the answer carries `data`.
    query = '{ session(id: "not-an-id") { id } me { name } }'
    response = await api.client.post(
        "/graphql", json={"query": query}, headers=_headers(SPEC, team.acme["sam"].token)
    )
    assert response.status_code == 200
    assert _media_type(response) == SPEC
    answer = response.json()
    assert answer["data"] == {"session": None, "me": {"name": "Sam Senior"}}
    assert answer["errors"][0]["path"] == ["session"]


async def test_without_a_token_the_answer_executed_and_says_so(api):
    response = await api.client.post(
        "/graphql", json={"query": "{ me { name } }"}, headers=_headers(SPEC)
    )
    assert response.status_code == 200
    answer = response.json()
    assert answer["data"] is None  # null propagated from `me`; the operation did execute
    assert answer["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


# --- Methods and content types -----------------------------------------------------------------


@pytest.mark.parametrize("accept", [RECOMMENDED, LEGACY, None])
async def test_a_mutation_over_get_is_405_and_changes_nothing(api, team, accept):
    alex = team.acme["alex"]
    response = await api.client.get(
        "/graphql", params={"query": START}, headers=_headers(accept, alex.token)
    )
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert "POST" in response.json()["errors"][0]["message"]
    assert (await api.data(MY_SESSIONS, token=alex.token))["mySessions"] == []


async def test_a_query_over_get_runs(api, team):
    response = await api.client.get(
        "/graphql",
        params={"query": "query Me { me { name } }", "operationName": "", "variables": ""},
        headers=_headers(SPEC, team.acme["sam"].token),
    )
    assert response.status_code == 200
    assert _media_type(response) == SPEC
    assert response.json() == {"data": {"me": {"name": "Sam Senior"}}}


async def test_a_query_chosen_by_name_over_get_runs_from_a_document_with_a_mutation(api, team):
    sam = team.acme["sam"]
    document = "query Me { me { name } } " + START.replace("mutation {", "mutation Start {")
    response = await api.client.get(
        "/graphql",
        params={"query": document, "operationName": "Me"},
        headers=_headers(SPEC, sam.token),
    )
    assert response.json() == {"data": {"me": {"name": "Sam Senior"}}}
    refused = await api.client.get(
        "/graphql",
        params={"query": document, "operationName": "Start"},
        headers=_headers(SPEC, sam.token),
    )
    assert refused.status_code == 405


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/graphql"])
@pytest.mark.parametrize("accept", [RECOMMENDED, LEGACY])
async def test_a_body_that_is_not_json_is_415(api, team, content_type, accept):
    headers = _headers(accept, team.acme["alex"].token)
    if content_type:
        headers["content-type"] = content_type
    body = START if content_type == "application/graphql" else f'{{"query": {START!r}}}'
    response = await api.client.post("/graphql", content=body.encode(), headers=headers)
    assert response.status_code == 415
    assert "application/json" in response.json()["errors"][0]["message"]
    sessions = await api.data(MY_SESSIONS, token=team.acme["alex"].token)
    assert sessions["mySessions"] == []


async def test_an_unsupported_method_is_405_naming_the_allowed_ones(api):
    response = await api.client.put("/graphql", json={"query": "{ __typename }"})
    assert response.status_code == 405
    allowed = {m.strip() for m in response.headers["allow"].split(",")}
    assert {"GET", "POST"} <= allowed and "PUT" not in allowed


# --- The response cache ---------------------------------------------------------------------


@pytest.fixture
async def cached(settings):
    """The app, with its response cache visible."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://desk.test") as client:
            yield client, app.state.query_cache


async def test_cached_answers_come_in_the_media_type_asked_for(cached, team):
    client, cache = cached
    token = team.acme["sam"].token
    expected = {"data": {"me": {"name": "Sam Senior"}}}
    for _ in range(2):  # the second round is answered from the cache
        for accept in (SPEC, LEGACY, RECOMMENDED, None):
            response = await client.post(
                "/graphql", json={"query": "{ me { name } }"}, headers=_headers(accept, token)
            )
            assert response.status_code == 200
            assert _media_type(response) == (LEGACY if accept in (LEGACY, None) else SPEC)
            assert response.json() == expected
    assert cache.hits >= 4


async def test_a_request_error_is_never_cached_and_keeps_its_status(cached, team):
    client, cache = cached
    token = team.acme["sam"].token
    query = {"query": "query($first: Int!) { handoffQueue(first: $first) { totalCount } }"}
    for accept, status in [(SPEC, 400), (LEGACY, 200), (SPEC, 400), (LEGACY, 200)]:
        response = await client.post("/graphql", json=query, headers=_headers(accept, token))
        assert response.status_code == status
        assert ("data" in response.json()) == (accept == LEGACY)
    assert cache.hits == 0


@pytest.mark.parametrize(
    ("entry", "value"),
    [("variables", 0), ("variables", False), ("extensions", "x"), ("operationName", 0)],
)
async def test_a_malformed_request_is_refused_though_its_query_is_cached(
    cached, team, entry, value
):
    client, cache = cached
    token = team.acme["sam"].token
    query = {"query": "{ me { name } }"}
    for accept in (SPEC, LEGACY, SPEC, LEGACY):  # the second round from the cache
        response = await client.post("/graphql", json=query, headers=_headers(accept, token))
        assert response.status_code == 200
    assert cache.hits == 2
    for accept in (SPEC, LEGACY):
        response = await client.post(
            "/graphql", json={**query, entry: value}, headers=_headers(accept, token)
        )
        assert response.status_code == 400, response.text
        assert _media_type(response) == accept
        answer = response.json()
        [error] = answer.pop("errors")
        assert answer == {}  # no `data`: nothing ran
        assert f"`{entry}`" in error["message"]
    assert cache.hits == 2
