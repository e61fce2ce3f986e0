"""GraphQL over HTTP against a running server, as a client would speak it."""

from __future__ import annotations

import httpx


class GraphQLClient:
    def __init__(self, base_url: str) -> None:
        self._client = httpx.AsyncClient(base_url=base_url, timeout=30)

    async def data(self, query: str, variables: dict | None = None, token: str | None = None):
        headers = {"authorization": f"Bearer {token}"} if token else {}
        response = await self._client.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
        body = response.json()
        assert not body.get("errors"), body["errors"]
        return body["data"]

    async def escalate(self, token: str, session_id, priority: str = "NORMAL") -> str:
        data = await self.data(
            """mutation($s: ID!, $p: Priority!) {
                 createHandoff(input: {sessionId: $s, intent: ESCALATE, priority: $p,
                                       engineerNotes: "stuck"}) {
                   __typename ... on CreateHandoffSuccess { handoff { id } } } }""",
            {"s": str(session_id), "p": priority},
            token,
        )
        assert data["createHandoff"]["__typename"] == "CreateHandoffSuccess", data
        return data["createHandoff"]["handoff"]["id"]

    async def claim(self, token: str, handoff_id: str) -> str:
        data = await self.data(
            "mutation($h: ID!) { claimHandoff(input: { handoffId: $h }) { __typename } }",
            {"h": handoff_id},
            token,
        )
        return data["claimHandoff"]["__typename"]

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> GraphQLClient:
        return self

    async def __aexit__(self, *exc) -> None:
        await self.aclose()
