"""node(id:) and nodes(ids:): each id is looked for as a handoff, a session and a user through
the request's loaders, which see exactly what the type's own query sees (its account, and for a
handoff what the caller may see). However many ids, that is one statement per type."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence

from resolvers import limits
from resolvers.errors import BadInput
from resolvers.ids import parse_id
from schema.node import Node
from schema.types import Handoff, Info, Session, User


def parse_node_ids(ids: Sequence[str]) -> list[uuid.UUID]:
    if len(ids) > limits.NODES_MAX:
        raise BadInput(f"nodes takes at most {limits.NODES_MAX} ids, got {len(ids)}")
    return [parse_id(i, f"ids[{n}]") for n, i in enumerate(ids)]


async def node(info: Info, node_id: uuid.UUID) -> Node | None:
    """The handoff, session or user with this id, as the caller may see it; None for anything
    else (unknown, another account's, a park of someone else's, or not a Node)."""
    loaders = info.context.loaders
    handoff, session, user = await asyncio.gather(
        loaders.handoff_view.load(node_id),
        loaders.session.load(node_id),
        loaders.user.load(node_id),
    )
    if handoff is not None:
        return Handoff.from_view(handoff)
    if session is not None:
        return Session.from_row(session)
    return User.from_row(user) if user is not None else None


async def nodes(info: Info, node_ids: list[uuid.UUID]) -> list[Node | None]:
    # The loads of every id start together, so each loader answers them in one batch.
    return list(await asyncio.gather(*(node(info, i) for i in node_ids)))
