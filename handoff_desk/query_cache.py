"""Answers to queries, reused while nothing they could show has changed.

The key is (document, operation, variables, Accept, caller, account version): the account's
version moves with every change a query of that account could see, the caller's own read marks
included, so a cached answer is served only to requests that read the same version. An answer is
kept only if it has no errors. Bounded by bytes; least recently used answers go first.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from functools import lru_cache

from graphql import GraphQLError, OperationType, parse
from graphql.language import OperationDefinitionNode


@lru_cache(maxsize=512)
def operation_type(
    document: str, operation_name: str | None, max_tokens: int | None = None
) -> OperationType | None:
    """The type of the operation a request would run; None when it would not run at all
    (including a document over the token limit: the schema refuses it with a clear error)."""
    try:
        ast = parse(document, max_tokens=max_tokens)
    except GraphQLError:
        return None
    operations = [d for d in ast.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is not None:
        operations = [o for o in operations if o.name and o.name.value == operation_name]
    return operations[0].operation if len(operations) == 1 else None


def request_key(body: dict, accept: str, max_tokens: int | None = None) -> tuple | None:
    """The caller-independent part of the key, or None if the request is no cacheable query."""
    document = body.get("query")
    operation_name = body.get("operationName")
    variables = body.get("variables") or {}
    if not isinstance(document, str) or not isinstance(variables, dict):
        return None
    if operation_name is not None and not isinstance(operation_name, str):
        return None
    if operation_type(document, operation_name, max_tokens) is not OperationType.QUERY:
        return None
    return document, operation_name, json.dumps(variables, sort_keys=True), accept


class ResponseCache:
    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._answers: OrderedDict[tuple, bytes] = OrderedDict()
        self._bytes = 0
        self.hits = 0
        self.misses = 0

    def get(self, key: tuple) -> bytes | None:
        body = self._answers.get(key)
        if body is None:
            self.misses += 1
            return None
        self._answers.move_to_end(key)
        self.hits += 1
        return body

    def put(self, key: tuple, body: bytes) -> None:
        if len(body) > self.max_bytes // 4:
            return  # one huge answer must not flush everything else
        old = self._answers.pop(key, None)
        if old is not None:
            self._bytes -= len(old)
        self._answers[key] = body
        self._bytes += len(body)
        while self._bytes > self.max_bytes:
            _, evicted = self._answers.popitem(last=False)
            self._bytes -= len(evicted)
