"""/metrics: what an operator's Prometheus reads, moved by what users do."""

from __future__ import annotations

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.factories import land_assessment, make_escalation, make_session
from tests.http import GraphQLClient
from tests.inprocess import in_process_fixture  # noqa: F401  (the in_process fixture)
from tests.waiting import wait_for
from tests.ws import GraphQLSocket

pytestmark = pytest.mark.anyio

QUEUE = "{ handoffQueue(first: 5) { unreadCount } }"
LOGIN = """mutation { login(input: { email: "nobody@acme.test", password: "wrong-password" }) {
  __typename } }"""
CREATED = "subscription { handoffCreated { seq handoff { id } } }"


class Scrape:
    """One scrape of /metrics: sample values by name and labels."""

    def __init__(self, text: str) -> None:
        self.samples: dict[tuple[str, frozenset], float] = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                self.samples[(sample.name, frozenset(sample.labels.items()))] = sample.value

    def __call__(self, name: str, **labels: str) -> float:
        """The sample's value; 0 for a labelled series never touched yet."""
        return self.samples.get((name, frozenset(labels.items())), 0.0)


async def scrape(client: httpx.AsyncClient) -> Scrape:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return Scrape(response.text)


async def test_requests_are_counted_by_operation_and_outcome_and_errors_by_code(api, team):
    client = api.client
    sam = team.acme["sam"].token
    await api.data(QUEUE, token=sam)
    await api.data(QUEUE, token=sam)  # nothing changed: the answer cache answers
    await api.data(LOGIN)
    await api.error(QUEUE)  # no token
    await api.error("{ noSuchField }", token=sam)
    json_type = {"content-type": "application/json"}
    await client.post("/graphql", content=b"{not json", headers=json_type)

    metrics = await scrape(client)
    assert metrics("handoff_desk_requests_total", operation="query", outcome="ok") == 1
    assert metrics("handoff_desk_requests_total", operation="query", outcome="cached") == 1
    assert metrics("handoff_desk_requests_total", operation="mutation", outcome="ok") == 1
    assert metrics("handoff_desk_requests_total", operation="query", outcome="error") == 2
    assert metrics("handoff_desk_requests_total", operation="none", outcome="error") == 1
    assert metrics("handoff_desk_graphql_errors_total", code="UNAUTHENTICATED") == 1
    assert metrics("handoff_desk_graphql_errors_total", code="GRAPHQL_VALIDATION_FAILED") == 1
    latency = "handoff_desk_request_duration_seconds_count"
    assert metrics(latency, operation="query", outcome="ok") == 1
    assert metrics(latency, operation="mutation", outcome="ok") == 1
    assert metrics("process_resident_memory_bytes") > 0


async def test_a_request_that_never_ran_is_an_error_whatever_its_status(api, team):
    # A spec client's 400s and a legacy client's 200 for the same request errors count alike;
    # a malformed request is never answered from the cache its query is in.
    sam = team.acme["sam"].token
    await api.data(QUEUE, token=sam)  # kept by the answer cache
    statuses = []
    for accept in ("application/graphql-response+json", "application/json"):
        headers = {"authorization": f"Bearer {sam}", "accept": accept}
        for body in ({"query": QUEUE, "variables": 0}, {"query": "{ noSuchField }"}):
            response = await api.client.post("/graphql", json=body, headers=headers)
            statuses.append(response.status_code)
    assert statuses == [400, 400, 400, 200]

    metrics = await scrape(api.client)
    assert metrics("handoff_desk_requests_total", operation="query", outcome="ok") == 1
    assert metrics("handoff_desk_requests_total", operation="query", outcome="cached") == 0
    assert metrics("handoff_desk_requests_total", operation="none", outcome="error") == 2
    assert metrics("handoff_desk_requests_total", operation="query", outcome="error") == 2
    assert metrics("handoff_desk_graphql_errors_total", code="GRAPHQL_VALIDATION_FAILED") == 2


async def test_pending_jobs_are_counted_by_kind_until_a_worker_does_them(api, desk, team):
    assert (await scrape(api.client))("handoff_desk_pending_jobs", kind="assess") == 0
    await make_escalation(desk, team.acme["alex"])  # no workers run in this app

    metrics = await scrape(api.client)
    assert metrics("handoff_desk_pending_jobs", kind="assess") == 1
    assert metrics("handoff_desk_pending_jobs", kind="email") == 3  # Dana, Sam and Kim


async def test_an_open_subscription_and_its_event_delivery_are_measured(in_process, desk, team):
    server = await in_process(run_workers=False)  # the escalation is the only event
    session = await make_session(desk, team.acme["alex"])
    async with (
        httpx.AsyncClient(base_url=server.url) as client,
        GraphQLClient(server.url) as http,
    ):
        before = await scrape(client)
        assert before("handoff_desk_subscriptions_open") == 0
        assert before("handoff_desk_event_delivery_lag_seconds_count") == 0

        async with GraphQLSocket(server.url) as ws:
            await ws.connect(team.acme["sam"].token)
            await ws.subscribe(CREATED)

            async def subscribed():
                return (await scrape(client))("handoff_desk_subscriptions_open") == 1

            await wait_for(subscribed, "the subscription to be open")
            metrics = await scrape(client)
            assert metrics("handoff_desk_websockets_open") == 1
            assert metrics("handoff_desk_websocket_operations_total", operation="subscription") == 1

            handoff_id = await http.escalate(team.acme["alex"].token, session.id)
            event = await ws.next_data()
            assert event["handoffCreated"]["handoff"]["id"] == handoff_id
            metrics = await scrape(client)
            assert metrics("handoff_desk_event_delivery_lag_seconds_count") == 1
            assert metrics("handoff_desk_event_delivery_lag_seconds_bucket", le="+Inf") == 1

        async def closed():
            metrics = await scrape(client)
            return (
                metrics("handoff_desk_subscriptions_open") == 0
                and metrics("handoff_desk_websockets_open") == 0
            )

        await wait_for(closed, "the subscription and its socket to be gone from the gauges")


RATE = """mutation($a: ID!, $r: Rating!, $why: String) {
  rateAssessment(input: { assessmentId: $a, rating: $r, reason: $why }) { __typename } }"""
RATINGS = "handoff_desk_assessment_ratings_total"


async def test_ratings_are_counted_by_assessor_and_rating_for_comparing_them(api, desk, team):
    """Issue 15: an operator compares the assessors by how seniors rate what each made."""
    acme = team.acme
    by_rules = await land_assessment(desk, (await make_escalation(desk, acme["alex"])).id)
    made = await make_escalation(desk, acme["alex"], "Outlook prompts")
    by_model = await land_assessment(desk, made.id, assessor="openai")

    async def rated(member, assessment, rating: str, why: str | None = None) -> str:
        variables = {"a": str(assessment.id), "r": rating, "why": why}
        answer = await api.data(RATE, variables, token=member.token)
        return answer["rateAssessment"]["__typename"]

    assert await rated(acme["sam"], by_rules, "HELPFUL") == "RateAssessmentSuccess"
    assert await rated(acme["kim"], by_rules, "NOT_HELPFUL") == "RateAssessmentSuccess"
    assert await rated(acme["sam"], by_model, "NOT_HELPFUL") == "RateAssessmentSuccess"
    # Sam gives his reason afterwards: the same rating, not counted again.
    assert await rated(acme["sam"], by_rules, "HELPFUL", "Spot on") == "RateAssessmentSuccess"
    # Sam changes his mind about the model's: counted under its new value.
    assert await rated(acme["sam"], by_model, "HELPFUL") == "RateAssessmentSuccess"
    assert await rated(acme["vic"], by_model, "NOT_HELPFUL") == "NotPermitted"  # not counted

    response = await api.client.get("/metrics")
    metrics = Scrape(response.text)
    assert metrics(RATINGS, assessor="rules", rating="helpful") == 1
    assert metrics(RATINGS, assessor="rules", rating="not_helpful") == 1
    assert metrics(RATINGS, assessor="openai", rating="not_helpful") == 1
    assert metrics(RATINGS, assessor="openai", rating="helpful") == 1
    assert "# TYPE handoff_desk_assessment_ratings_total counter" in response.text
    assert "handoff_desk_assessment_ratings_created" not in response.text
