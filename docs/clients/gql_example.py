"""Python's `gql` against Handoff Desk: log in, read the queue, hear of new escalations.

    pip install "gql[httpx,websockets]"     # the version the tests run: constraints.txt
    handoff-desk serve --demo               # elsewhere: a desk with the demo's data
    python gql_example.py                   # HANDOFF_URL picks another desk

Queries and mutations go over HTTP with an `Authorization: Bearer <token>` header; subscriptions
over a websocket, which sends the same header in its `connection_init` payload.
"""

import asyncio
import os
from datetime import datetime

from gql import Client, GraphQLRequest, gql
from gql.transport.httpx import HTTPXAsyncTransport
from gql.transport.websockets import WebsocketsTransport

URL = os.environ.get("HANDOFF_URL", "http://127.0.0.1:8000/graphql")
EMAIL = os.environ.get("HANDOFF_EMAIL", "dana@northwind.example")  # a demo login
PASSWORD = os.environ.get("HANDOFF_PASSWORD", "handoff-demo")

# login answers a union: the token, or why not (wrong password, throttled, which account?).
LOGIN = gql("""
    mutation Login($email: String!, $password: String!) {
      login(input: { email: $email, password: $password }) {
        __typename
        ... on LoginSuccess { token user { name } }
        ... on InvalidCredentials { message }
        ... on LoginThrottled { message }
        ... on AccountChoiceRequired { message }
      }
    }
""")
# The queue: unclaimed first, then by priority.
QUEUE = gql("""
    query Queue {
      handoffQueue(first: 1) {
        totalCount
        nodes { id priority createdAt session { problemSummary } }
      }
    }
""")
# Each new escalation of the account, as it is raised.
ESCALATIONS = gql("""
    subscription Escalations {
      handoffCreated { seq handoff { id priority session { problemSummary } } }
    }
""")


async def main() -> None:
    async with Client(transport=HTTPXAsyncTransport(url=URL)) as session:
        request = GraphQLRequest(LOGIN, variable_values={"email": EMAIL, "password": PASSWORD})
        login = (await session.execute(request))["login"]
    if login["__typename"] != "LoginSuccess":
        raise SystemExit(login["message"])
    print(f"Signed in as {login['user']['name']}")
    auth = {"Authorization": f"Bearer {login['token']}"}

    async with Client(transport=HTTPXAsyncTransport(url=URL, headers=auth)) as session:
        queue = (await session.execute(QUEUE))["handoffQueue"]
    print(f"Queue: {queue['totalCount']} escalation(s)")
    for first in queue["nodes"]:
        raised = datetime.fromisoformat(first["createdAt"])  # DateTime: an ISO 8601 string
        print(f"First: [{first['priority']}] {first['session']['problemSummary']} ({raised:%c})")

    websocket = WebsocketsTransport(url=URL.replace("http", "ws", 1), init_payload=auth)
    async with Client(transport=websocket) as session:
        print("Waiting for a new escalation...")
        async for event in session.subscribe(ESCALATIONS):
            handoff = event["handoffCreated"]["handoff"]
            print(f"New escalation: [{handoff['priority']}] {handoff['session']['problemSummary']}")
            break  # this example stops after the first one


if __name__ == "__main__":
    asyncio.run(main())
