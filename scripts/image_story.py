"""The acceptance story through the proxy of a desk deployed as deploy/compose.yaml deploys it
(scripts/check-image): a junior escalates, every senior's socket hears it, the worker's
assessment lands, two seniors race to claim and exactly one wins. Requests alternate between
the proxy's two API processes; the sockets may be on either."""

from __future__ import annotations

import asyncio
import sys
import time

import httpx

sys.path.insert(0, ".")
from tests.ws import GraphQLSocket

LOGIN = """mutation($e: String!, $p: String!) { login(input: { email: $e, password: $p }) {
  ... on LoginSuccess { token } } }"""
ADD_USER = """mutation($i: AddUserInput!) { addUser(input: $i) { __typename } }"""
START = """mutation { startSession(input: {intakeType: CHAT, intakeContent: "VPN drops",
  problemSummary: "VPN drops every ten minutes"}) {
  ... on StartSessionSuccess { session { id } } } }"""
ESCALATE = """mutation($s: ID!) { createHandoff(input: {sessionId: $s, intent: ESCALATE,
  priority: HIGH, engineerNotes: "Reinstalled the client"}) {
  ... on CreateHandoffSuccess { handoff { id } } } }"""
CLAIM = """mutation($h: ID!) { claimHandoff(input: { handoffId: $h }) { __typename
  ... on AlreadyClaimed { claimedBy { name } } } }"""
CREATED = "subscription { handoffCreated { handoff { id } } }"
ASSESSED = "subscription { assessmentSettled { handoff { id assessment { status summary } } } }"


async def main(url: str) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:

        async def call(query: str, token: str | None = None, **variables: object) -> dict:
            headers = {"authorization": f"Bearer {token}"} if token else {}
            answer = await client.post(
                "/graphql", json={"query": query, "variables": variables}, headers=headers
            )
            body = answer.json()
            assert answer.status_code == 200 and "errors" not in body, body
            return body["data"]

        async def login(email: str, password: str) -> str:
            return (await call(LOGIN, e=email, p=password))["login"]["token"]

        admin = await login("ada@image.example", "admin-password-42")
        for name, email in (("Sam Senior", "sam"), ("Dana Senior", "dana"), ("Jo Junior", "jo")):
            new = {"name": name, "email": f"{email}@image.example", "role": "ENGINEER"}
            added = await call(ADD_USER, admin, i={**new, "password": "long-enough-1"})
            assert added["addUser"]["__typename"] == "AddUserSuccess", added
        sam, dana, jo = [
            await login(f"{n}@image.example", "long-enough-1") for n in ("sam", "dana", "jo")
        ]
        async with GraphQLSocket(url) as sams, GraphQLSocket(url) as danas:
            await sams.connect(sam)
            await danas.connect(dana)
            await sams.subscribe(CREATED)
            await danas.subscribe(ASSESSED)
            session = (await call(START, jo))["startSession"]["session"]["id"]
            started = time.monotonic()
            handoff = (await call(ESCALATE, jo, s=session))["createHandoff"]["handoff"]["id"]
            heard = await sams.next_data()
            assert heard["handoffCreated"]["handoff"]["id"] == handoff, heard
            print(f"escalated; Sam's socket heard it in {time.monotonic() - started:.2f} s")
            assessed = await danas.next_data(timeout=60)
            assessment = assessed["assessmentSettled"]["handoff"]["assessment"]
            assert assessment["status"] == "READY", assessed
            print(f"the worker's assessment landed: {assessment['summary'][:60]!r}")
        claims = await asyncio.gather(*(call(CLAIM, t, h=handoff) for t in (sam, dana)))
        kinds = sorted(c["claimHandoff"]["__typename"] for c in claims)
        assert kinds == ["AlreadyClaimed", "ClaimHandoffSuccess"], claims
        print(f"two seniors raced to claim: {kinds}")
        metrics = await client.get("/metrics")
        assert metrics.status_code == 404, "the proxy keeps /metrics inside"
        print("the acceptance story held through the proxy")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
