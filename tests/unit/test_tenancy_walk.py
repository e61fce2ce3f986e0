"""Tenant walls, walked from the schema itself: its unit-tier tests (the whole story:
tests/api/test_tenancy_walk.py)."""

from __future__ import annotations

import pytest

from tests.inprocess import in_process_fixture  # noqa: F401  (the in_process fixture)
from tests.support.tenancy_walk import (
    ID_KINDS,
    ROOTS,
    AccountB,
    MissingIdKind,
    _id_kind,
    calls,
    every_field,
    id_slots,
)

pytestmark = pytest.mark.anyio


def test_every_id_argument_says_which_rows_it_names():
    missing, used = [], set()
    for kind, name in every_field():
        root = ROOTS[kind]
        try:
            for slot in id_slots(f"{kind}.{name}", root.fields[name].args):
                key = f"{kind}.{name}({'.'.join(slot.path)})"
                used.add(key if key in ID_KINDS else slot.path[-1])
        except MissingIdKind as error:
            missing.append(str(error))
    assert not missing, "\n".join(missing)
    assert set(ID_KINDS) == used, f"ID_KINDS entries no argument uses: {set(ID_KINDS) - used}"
    kinds = {"session", "handoff", "user", "account", "assessment", "notification"}
    assert set(ID_KINDS.values()) <= kinds


def test_an_unknown_id_argument_fails_the_walk_with_what_to_do():
    with pytest.raises(MissingIdKind, match=r"add 'ticketId'.*ID_KINDS"):
        _id_kind("Mutation.closeTicket", ("input", "ticketId"))


def test_the_generated_calls_ask_for_bs_rows_through_every_id_argument():
    b = AccountB(tenant=None, ids={"session": ["s1", "s2"], "handoff": ["h1"], "user": ["u1"]})
    claim = calls("Mutation", "claimHandoff", b)
    assert [c.variables for c in claim] == [{"input": {"handoffId": "h1"}}]
    assert "... on AlreadyClaimed" in claim[0].document and "__typename" in claim[0].document
    message = calls("Mutation", "addSessionMessage", b)
    assert [c.variables["input"]["sessionId"] for c in message] == ["s1", "s2"]
    landed = calls("Subscription", "assessmentSettled", b)
    assert [(c.variables.get("handoffId"), c.variables["after"]) for c in landed] == [
        ("h1", None),
        ("h1", 0),
        (None, None),
        (None, 0),
    ]
