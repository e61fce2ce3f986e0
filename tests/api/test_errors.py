"""Failures have one shape: every expected failure of a mutation implements `UserError`
(`message`, `code`, and `field` where one input is at fault), and every top-level error has an
`extensions.code` as Apollo Server names them."""

import uuid

import pytest

from schema.schema import schema
from tests.factories import make_escalation
from tests.inprocess import in_process_fixture  # noqa: F401  (the in_process fixture)
from tests.ws import GraphQLSocket

pytestmark = pytest.mark.anyio

UNKNOWN = str(uuid.uuid4())
ERROR_FIELDS = "... on UserError { __typename message code field }"


def _result_unions() -> dict[str, list[str]]:
    """Each mutation's result union: its members."""
    mutation = schema._schema.mutation_type
    unions = {}
    for name, field in mutation.fields.items():
        named = field.type.of_type if hasattr(field.type, "of_type") else field.type
        if hasattr(named, "types"):
            unions[name] = [t.name for t in named.types]
    return unions


def test_every_failure_member_is_a_user_error_and_every_success_is_not():
    user_error = schema._schema.get_type("UserError")
    failures = set(schema._schema.get_possible_types(user_error))
    for mutation, members in _result_unions().items():
        for member in members:
            is_error = schema._schema.get_type(member) in failures
            assert is_error != member.endswith("Success"), (mutation, member)


async def test_a_failure_names_its_kind_and_the_input_at_fault(api, desk, team):
    sam, dana = team.acme["sam"], team.acme["dana"]
    handoff = await make_escalation(desk, team.acme["alex"])
    claims = """mutation($h: ID!) { claimHandoff(input: { handoffId: $h }) { ... on UserError {
        __typename message code field } } }"""
    unknown = (await api.data(claims, {"h": UNKNOWN}, sam.token))["claimHandoff"]
    assert unknown == {
        "__typename": "HandoffNotFound",
        "message": "No such handoff.",
        "code": "HANDOFF_NOT_FOUND",
        "field": ["input", "handoffId"],
    }
    await api.data(claims, {"h": str(handoff.id)}, sam.token)
    lost = (await api.data(claims, {"h": str(handoff.id)}, dana.token))["claimHandoff"]
    assert lost["code"] == "ALREADY_CLAIMED" and lost["field"] is None  # no input at fault
    assert lost["message"].startswith("Already claimed by")

    escalate = f"""mutation($s: ID!) {{ createHandoff(input: {{sessionId: $s, intent: ESCALATE}})
        {{ {ERROR_FIELDS} }} }}"""
    no_session = (await api.data(escalate, {"s": UNKNOWN}, sam.token))["createHandoff"]
    assert no_session["code"] == "SESSION_NOT_FOUND"
    assert no_session["field"] == ["input", "sessionId"]

    add = f"""mutation($i: AddUserInput!) {{ addUser(input: $i) {{ {ERROR_FIELDS} }} }}"""
    again = {
        "name": "Sam Again",
        "email": sam.user.email,
        "role": "ENGINEER",
        "password": "long-enough",
    }
    taken = (await api.data(add, {"i": again}, dana.token))["addUser"]
    assert taken["code"] == "EMAIL_ALREADY_USED" and taken["field"] == ["input", "email"]
    refused = (await api.data(add, {"i": again}, sam.token))["addUser"]
    assert refused["code"] == "NOT_PERMITTED" and refused["field"] is None


@pytest.mark.parametrize(
    "document, variables, code",
    [
        ("{ me { name }", None, "GRAPHQL_PARSE_FAILED"),
        ("{ me { salary } }", None, "GRAPHQL_VALIDATION_FAILED"),
        ("query($h: ID!) { handoff(id: $h) { id } }", {"h": {"not": "an id"}}, "BAD_USER_INPUT"),
        ("query($h: ID!) { handoff(id: $h) { id } }", {}, "BAD_USER_INPUT"),
        ('{ handoff(id: "not-a-uuid") { id } }', None, "BAD_USER_INPUT"),
    ],
)
async def test_every_top_level_error_has_a_code(api, team, document, variables, code):
    body = await api.post(document, variables, team.acme["sam"].token)
    assert [e["extensions"]["code"] for e in body["errors"]] == [code], body


@pytest.mark.parametrize(
    "document, code",
    [
        ("subscription { handoffCreated { salary } }", "GRAPHQL_VALIDATION_FAILED"),
    ],
)
async def test_a_subscription_refused_before_it_runs_tells_the_code_too(
    in_process, team, document, code
):
    server = await in_process()
    async with GraphQLSocket(server.url) as ws:
        await ws.connect(team.acme["sam"].token)
        await ws.subscribe(document)
        message = await ws.receive()
    assert message["type"] == "error", message
    assert [e["extensions"]["code"] for e in message["payload"]] == [code], message
