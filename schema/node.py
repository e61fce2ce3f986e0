"""Relay's Node interface: any object a client can fetch again by its id alone (node, nodes).

Handoff, Session and User implement it with the ids they always had. Those are random UUIDs
(uuid4), unique across every table, so each is already a global id: opaque to clients, and
`node(id:)` finds its type by looking in each table. Clients' ids, URLs and the `handoffId`
fields of events and failures stay as they were (README, "Relay conventions").
"""

from __future__ import annotations

import strawberry

from schema.sharing import shared


@strawberry.interface(
    description="An object fetched again by its id alone (Query.node, Query.nodes): a Handoff, "
    "a Session or a User. Its id is the one the type's own queries and arguments take."
)
class Node:
    id: strawberry.ID = shared(description="Its id: unique among every object of the desk.")
