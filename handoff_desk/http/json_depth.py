"""JSON from clients, refused when nested too deeply.

json.loads recurses once per level: a body of a million `[` raises RecursionError (which the
HTTP layer answered 500, and which dropped a websocket without a close code), and a value just
under the interpreter's limit is parsed but then breaks whatever walks it next (variables are
serialized for the answer cache and coerced by graphql-core, both recursively). No desk request
comes near MAX_DEPTH: a body, its variables, an input object, a list in it.
"""

from __future__ import annotations

import json
from typing import Any

MAX_DEPTH = 32
MESSAGE = f"The JSON is nested too deeply (more than {MAX_DEPTH} levels)."


class TooDeep(ValueError):
    def __init__(self) -> None:
        super().__init__(MESSAGE)


class _TooDeepMessage:
    """What a websocket message nested too deeply decodes to (see DeskGraphQL.decode_json):
    not a JSON object, so the protocol handlers' check (ws_frames) closes the connection."""

    def __repr__(self) -> str:
        return "<JSON nested too deeply>"


TOO_DEEP = _TooDeepMessage()


def loads(data: str | bytes) -> object:
    """json.loads; TooDeep past MAX_DEPTH levels (ValueError for JSON that does not parse)."""
    try:
        value = json.loads(data)
    except RecursionError:
        raise TooDeep from None
    if too_deep(value):
        raise TooDeep
    return value


def too_deep(value: object, limit: int = MAX_DEPTH) -> bool:
    """Whether objects and arrays nest more than `limit` levels. Level by level, without
    recursion; json.loads makes exact dicts and lists."""
    level: list[Any] = [value] if type(value) in (dict, list) else []
    depth = 0
    while level:
        depth += 1
        if depth > limit:
            return True
        children: list[Any] = []
        for item in level:
            children.extend(item.values() if type(item) is dict else item)
        level = [child for child in children if type(child) in (dict, list)]
    return False
