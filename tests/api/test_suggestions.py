"""With introspection off, errors do not suggest names ("Did you mean …?"): a client that may not
read the schema must not be able to discover it one guess at a time. In development they do."""

import httpx
import pytest

from handoff_desk.app import create_app
from tests.conftest import Api
from tests.factories import make_session

pytestmark = pytest.mark.anyio


@pytest.fixture
async def production(settings):
    app = create_app(settings.model_copy(update=dict(introspection=False)))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://prod.test") as client:
            yield Api(client)


ESCALATE = """mutation($s: ID!, $i: HandoffIntent!) {
  createHandoff(input: {sessionId: $s, intent: $i}) { __typename } }"""

# (document, variables or None, what the error names, the suggestion development adds)
MISTAKES = {
    "field": ("{ handoffQueu { totalCount } }", None, "handoffQueu", "'handoffQueue'"),
    "argument": ("{ handoffQueue(frist: 3) { totalCount } }", None, "frist", "'first'"),
    "type": ("query($i: Id!) { handoff(id: $i) { id } }", None, "'Id'", "'ID'"),
    "enum literal": (
        'mutation { createHandoff(input: {sessionId: "1", intent: ESCALAT}) { __typename } }',
        None,
        "ESCALAT",
        "'ESCALATE'",
    ),
    "enum variable": (ESCALATE, {"i": "ESCALAT"}, "ESCALAT", "'ESCALATE'"),
}


@pytest.mark.parametrize("mistake", list(MISTAKES))
async def test_a_misspelled_name_is_refused_without_a_suggestion_when_introspection_is_off(
    api, production, desk, team, mistake
):
    document, variables, named, suggested = MISTAKES[mistake]
    if variables is not None:
        session = await make_session(desk, team.acme["alex"])
        variables = {**variables, "s": str(session.id)}
    token = team.acme["alex"].token

    development = await api.error(document, variables, token=token)
    assert named in development["message"]
    assert "Did you mean" in development["message"] and suggested in development["message"]

    refused = await production.error(document, variables, token=token)
    assert named in refused["message"]
    assert "Did you mean" not in refused["message"], refused
    assert suggested not in refused["message"], refused
