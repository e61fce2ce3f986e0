"""Answers to queries, reused while nothing they could show has changed.

The key is a digest of (document, operation, variables, Accept, caller, account version): the
account's version moves with every change a query of that account could see, the caller's own
read marks included, so a cached answer is served only to requests that read the same version.
An answer is kept only if it has no errors. Bounded by bytes, keys and entries counted (a key is
32 bytes, however long the document); least recently used answers go first.
"""

from __future__ import annotations

import builtins
import json
from typing import Any

from graphql import OperationType

from schema.documents import BoundedCache, DocumentCache, digest

# A request's key: its own part (document, operation, variables, Accept), then the caller's.
CacheKey = tuple[object, ...]


def request_key(body: dict[str, Any], accept: str, documents: DocumentCache) -> CacheKey | None:
    """The caller-independent part of the key, or None if the request is no cacheable query."""
    text = body.get("query")
    operation_name = body.get("operationName")
    variables = body.get("variables")
    variables = {} if variables is None else variables
    if not isinstance(text, str) or not isinstance(variables, dict):
        return None
    if operation_name is not None and not isinstance(operation_name, str):
        return None
    if documents.read(text).operation_type(operation_name) is not OperationType.QUERY:
        return None
    return text, operation_name, json.dumps(variables, sort_keys=True), accept


class ResponseCache:
    """Answers by a digest of their key (see the module's docstring)."""

    def __init__(self, max_bytes: int) -> None:
        # One huge answer must not flush everything else.
        self._answers = BoundedCache("answers", max_bytes, max_entry_bytes=max_bytes // 4)

    @property
    def max_bytes(self) -> int:
        return self._answers.max_bytes

    @property
    def bytes(self) -> int:
        """What the answers hold: their bodies, keys and entries."""
        return self._answers.bytes

    @property
    def hits(self) -> int:
        return self._answers.hits

    @property
    def misses(self) -> int:
        return self._answers.misses

    def __len__(self) -> int:
        return len(self._answers)

    def get(self, key: CacheKey) -> builtins.bytes | memoryview | None:
        answer: builtins.bytes | memoryview | None = self._answers.get(digest(*key))
        return answer

    def put(self, key: CacheKey, body: builtins.bytes | memoryview) -> None:
        self._answers.put(digest(*key), body, len(body))
