"""An escalation's lifecycle, heard live and by email: `handoffUpdated` through real websockets
against a server in the test's process (its own account only, with catch-up), and the transfer's
email delivered by the email worker. (The mutations themselves: tests/api/test_lifecycle.py.)"""

import pytest

from db.enums import EmailStatus, Priority
from tests.api.test_emails import (  # noqa: F401  (smtp: a fixture)
    email_worker,
    running,
    smtp,
    wait_emails,
)
from tests.factories import make_escalation
from tests.http import GraphQLClient
from tests.inprocess import in_process_fixture  # noqa: F401  (the in_process fixture)
from tests.ws import GraphQLSocket

pytestmark = pytest.mark.anyio

UPDATED = """subscription($h: ID, $after: Int) { handoffUpdated(handoffId: $h, after: $after) {
  seq kind occurredAt actor { name } to { name } priority previousPriority
  handoff { id priority claimedBy { name } withdrawnAt withdrawnBy { name } } } }"""

PRIORITY = """mutation($h: ID!, $p: Priority!) { setHandoffPriority(input: { handoffId: $h,
  priority: $p }) {
  __typename } }"""
TRANSFER = (
    "mutation($h: ID!, $to: ID!) { transferHandoff(input: { handoffId: $h, to: $to }) "
    "{ __typename } }"
)
WITHDRAW = "mutation($h: ID!) { withdrawHandoff(input: { handoffId: $h }) { __typename } }"


def summary(event: dict) -> tuple:
    """What an event says, in short: kind, actor, colleague, priorities."""
    return (
        event["kind"],
        event["actor"]["name"],
        event["to"] and event["to"]["name"],
        event["priority"],
        event["previousPriority"],
    )


async def act(http: GraphQLClient, document: str, variables: dict, member, name: str) -> None:
    answer = await http.data(document, variables, member.token)
    assert answer[name]["__typename"].endswith("Success"), answer


async def test_withdrawals_priorities_and_transfers_reach_their_own_account_only(
    in_process, desk, team
):
    server = await in_process()
    acme, globex = team.acme, team.globex
    printer = await make_escalation(desk, acme["sam"], "Printer offline", priority=Priority.NORMAL)
    vpn = await make_escalation(desk, acme["sam"], "VPN drops")
    theirs = await make_escalation(desk, globex["gus"], "Globex trouble")
    async with (
        GraphQLSocket(server.url) as kims,
        GraphQLSocket(server.url) as gails,
        GraphQLClient(server.url) as http,
    ):
        await kims.connect(acme["kim"].token)
        await gails.connect(globex["gail"].token)
        await kims.subscribe(UPDATED)
        await gails.subscribe(UPDATED)
        await server.until_streams(2)

        await act(
            http, PRIORITY, {"h": str(printer.id), "p": "URGENT"}, acme["sam"], "setHandoffPriority"
        )
        assert await http.claim(acme["alex"].token, str(printer.id)) == "ClaimHandoffSuccess"
        await act(
            http,
            TRANSFER,
            {"h": str(printer.id), "to": acme["kim"].id},
            acme["alex"],
            "transferHandoff",
        )
        await act(http, WITHDRAW, {"h": str(vpn.id)}, acme["sam"], "withdrawHandoff")
        await act(http, WITHDRAW, {"h": str(theirs.id)}, globex["gail"], "withdrawHandoff")

        heard = [(await kims.next_data())["handoffUpdated"] for _ in range(4)]
        theirs_heard = (await gails.next_data())["handoffUpdated"]
        # Nothing more for either: the other account's events never reached them.
        assert await kims.barrier() == []
        assert await gails.barrier() == []

    assert [summary(e) for e in heard] == [
        ("PRIORITY_CHANGED", "Sam Senior", None, "URGENT", "NORMAL"),
        ("CLAIMED", "Alex Junior", None, None, None),
        ("TRANSFERRED", "Alex Junior", "Kim Senior", None, None),  # Kim learns it is hers
        ("WITHDRAWN", "Sam Senior", None, None, None),
    ]
    assert [e["handoff"]["id"] for e in heard] == [str(printer.id)] * 3 + [str(vpn.id)]
    assert heard[2]["handoff"]["claimedBy"] == {"name": "Kim Senior"}
    assert heard[3]["handoff"]["withdrawnBy"] == {"name": "Sam Senior"}
    assert heard[3]["handoff"]["withdrawnAt"] is not None
    seqs = [e["seq"] for e in heard]
    assert seqs == sorted(seqs)
    assert summary(theirs_heard) == ("WITHDRAWN", "Gail Admin", None, None, None)
    assert theirs_heard["handoff"]["id"] == str(theirs.id)


async def test_a_reconnecting_client_catches_up_with_after(in_process, desk, team):
    server = await in_process()
    acme = team.acme
    printer = await make_escalation(desk, acme["sam"], "Printer offline")
    vpn = await make_escalation(desk, acme["sam"], "VPN drops")
    async with GraphQLClient(server.url) as http:
        assert await http.claim(acme["alex"].token, str(printer.id)) == "ClaimHandoffSuccess"
        await act(
            http,
            TRANSFER,
            {"h": str(printer.id), "to": acme["kim"].id},
            acme["alex"],
            "transferHandoff",
        )
        await act(http, WITHDRAW, {"h": str(vpn.id)}, acme["sam"], "withdrawHandoff")
        await act(
            http, PRIORITY, {"h": str(printer.id), "p": "LOW"}, acme["kim"], "setHandoffPriority"
        )

    async with GraphQLSocket(server.url) as ws:
        await ws.connect(acme["dana"].token)
        await ws.subscribe(UPDATED, {"after": 0})
        replayed = [(await ws.next_data())["handoffUpdated"] for _ in range(4)]
        # Only one escalation's, from after its claim.
        await ws.subscribe(UPDATED, {"h": str(printer.id), "after": replayed[0]["seq"]})
        only = [(await ws.next_data())["handoffUpdated"] for _ in range(2)]
        assert await ws.barrier() == []

    assert [e["kind"] for e in replayed] == [
        "CLAIMED",
        "TRANSFERRED",
        "WITHDRAWN",
        "PRIORITY_CHANGED",
    ]
    assert [summary(e) for e in only] == [
        ("TRANSFERRED", "Alex Junior", "Kim Senior", None, None),
        ("PRIORITY_CHANGED", "Kim Senior", None, "LOW", "NORMAL"),
    ]


async def test_the_colleague_receives_the_transfer_email(api, desk, team, smtp):  # noqa: F811
    alex, kim = team.acme["alex"], team.acme["kim"]
    handoff = await make_escalation(desk, team.acme["sam"], "Label printer jams on floor 3")
    claim = "mutation($h: ID!) { claimHandoff(input: { handoffId: $h }) { __typename } }"
    claimed = await api.data(claim, {"h": str(handoff.id)}, kim.token)
    assert claimed["claimHandoff"]["__typename"] == "ClaimHandoffSuccess"
    moved = await api.data(TRANSFER, {"h": str(handoff.id), "to": alex.id}, kim.token)
    assert moved["transferHandoff"]["__typename"] == "TransferHandoffSuccess"

    # The escalation's three (to Dana, Kim and Alex), the transfer's one (to Alex), and Sam's
    # two as its escalator (claimed by Kim, handed on to Alex).
    rows = await running(
        email_worker(desk, smtp.url), lambda: wait_emails(desk, handoff.id, EmailStatus.SENT, 6)
    )

    addresses = sorted(r.to_address for r in rows)
    assert addresses.count(alex.user.email) == 2
    assert addresses.count(team.acme["sam"].user.email) == 2
    transfers = [
        (rcpts, message)
        for rcpts, message in smtp.messages()
        if message["Subject"].startswith("Handed to you")
    ]
    [(rcpts, message)] = transfers
    assert rcpts == [alex.user.email]
    assert message["Subject"] == "Handed to you: Label printer jams on floor 3"
    assert "Kim Senior handed you an escalation" in message.get_content()
    assert f"/handoffs/{handoff.id}" in message.get_content()
