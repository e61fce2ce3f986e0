"""Caches of what the desk learns from GraphQL documents, bounded by the bytes they hold.

A document can be as long as a request body (HANDOFF_MAX_BODY_BYTES). Keyed by its text, as
`functools.lru_cache` keys it, 512 entries could hold 512 bodies, whatever they weigh. Here a
key is a digest of the text (32 bytes, whatever its length); every entry is charged for its key,
a fixed overhead and an estimate of its value's size; a cache drops its least recently used
entries once past its byte budget; and an entry larger than its per-entry cap is never kept (a
huge document must neither be held nor flush everything else).

Every cache built here is listed by `live_caches()`, with its entries and the bytes it holds.
"""

from __future__ import annotations

import hashlib
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

from graphql import GraphQLError, OperationType, parse
from graphql.language import DocumentNode, OperationDefinitionNode, Token

# What an entry costs besides its value: the OrderedDict's slot and links, the digest's bytes
# object, the (value, size) pair. Measured with tracemalloc at about 200 bytes; rounded up.
ENTRY_OVERHEAD = 256
# A parsed document holds its text, the text again at most in its tokens' values (names,
# strings, comments), and per token a Token, its share of the AST nodes and their locations
# (387 to 580 bytes measured with tracemalloc; the lean executor's plans for it come on top).
_BYTES_PER_TOKEN = 1200

_live: weakref.WeakSet[BoundedCache] = weakref.WeakSet()


def digest(*parts: object) -> bytes:
    """A key for `parts` (strings, bytes, None, numbers, enums) that holds none of them."""
    hasher = hashlib.blake2b(digest_size=32)
    for part in parts:
        if isinstance(part, str):
            data = b"s" + part.encode("utf-8", "surrogatepass")  # a lone surrogate included
        elif isinstance(part, bytes):
            data = b"b" + part
        else:
            data = b"r" + repr(part).encode()
        hasher.update(len(data).to_bytes(8, "little"))  # ("ab", "c") is not ("a", "bc")
        hasher.update(data)
    return hasher.digest()


class BoundedCache:
    """Least recently used first out, bounded by bytes; keys are digests (see `digest`)."""

    def __init__(
        self,
        name: str,
        max_bytes: int,
        max_entry_bytes: int | None = None,
        on_evict: Callable[[Any], None] | None = None,
    ) -> None:
        self.name = name
        self.max_bytes = max_bytes
        # One entry may take a sixteenth of the budget unless told otherwise.
        self.max_entry_bytes = min(max_bytes, max_entry_bytes or max_bytes // 16)
        self._on_evict = on_evict
        self._entries: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self.bytes = 0
        self.hits = 0
        self.misses = 0
        self.skipped = 0  # values too large to keep
        _live.add(self)

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Hashable, default: Any = None) -> Any:
        entry = self._entries.get(key)
        if entry is None:
            self.misses += 1
            return default
        self._entries.move_to_end(key)
        self.hits += 1
        return entry[0]

    def put(self, key: Hashable, value: Any, size: int) -> bool:
        """Keep `value` (about `size` bytes); False if it is too large to keep."""
        cost = size + len(key) + ENTRY_OVERHEAD if isinstance(key, bytes) else size + 1024
        if cost > self.max_entry_bytes:
            self.skipped += 1
            return False
        self._drop(key)
        self._entries[key] = (value, cost)
        self.bytes += cost
        while self.bytes > self.max_bytes:
            self._drop(next(iter(self._entries)))
        return True

    def clear(self) -> None:
        for key in list(self._entries):
            self._drop(key)

    def _drop(self, key: Hashable) -> None:
        entry = self._entries.pop(key, None)
        if entry is None:
            return
        self.bytes -= entry[1]
        if self._on_evict is not None:
            self._on_evict(entry[0])


def live_caches() -> list[BoundedCache]:
    return list(_live)


# --- parsed documents, and the plans the lean executor makes for them ------------------------


def document_size(document: DocumentNode) -> int:
    """An upper estimate of the bytes a parsed document holds (see _BYTES_PER_TOKEN)."""
    loc = document.loc
    if loc is None:
        return 64 * 1024  # parsed without locations: nothing to measure by; never the desk's
    tokens = 0
    token: Token | None = loc.start_token
    while token is not None:  # at most the token limit, comments included
        tokens += 1
        token = token.next
    return 2 * len(loc.source.body) + tokens * _BYTES_PER_TOKEN


# The lean executor's shared plans, per operation of a document a DocumentCache holds: they go
# when the document goes. Keyed by the operation node's id, which is unique while its document
# is held (the entry is removed when the document is evicted).
_plans: dict[int, dict] = {}


def _forget_plans(document: Document) -> None:
    for operation in document.operations:
        _plans.pop(id(operation), None)


class Document:
    """A GraphQL document as the desk reads it, parsed once (with locations, under the schema's
    token limit): the view selects its operation, the answer cache and the metrics read the
    operation's type, shared subscriptions read its one root field, and execution runs its tree,
    all from this one parse."""

    __slots__ = ("ast", "error", "operations", "size")

    def __init__(self, ast: DocumentNode | None, error: GraphQLError | None) -> None:
        self.ast = ast
        self.error = error  # why it does not parse (a document over the token limit included)
        self.operations: tuple[OperationDefinitionNode, ...] = tuple(
            d for d in (ast.definitions if ast else ()) if isinstance(d, OperationDefinitionNode)
        )
        self.size = document_size(ast) if ast is not None else _error_size(error)

    def select(self, operation_name: str | None) -> OperationDefinitionNode | GraphQLError | None:
        """GraphQL's GetOperation: the operation a request with `operation_name` runs, or the
        request error that it selects none. None when the document does not parse (its
        execution answers the syntax error)."""
        if self.ast is None or not self.operations:
            return None
        if operation_name is None:
            if len(self.operations) > 1:
                # Strawberry would run the first one; the GraphQL spec says this is an error.
                return GraphQLError(
                    "Must provide operation name if query contains multiple operations."
                )
            return self.operations[0]
        for operation in self.operations:
            if operation.name is not None and operation.name.value == operation_name:
                return operation
        return GraphQLError(f"Unknown operation named '{operation_name}'.")

    def operation_type(self, operation_name: str | None) -> OperationType | None:
        """The type of the operation a request runs; None when it would not run at all."""
        selected = self.select(operation_name)
        return selected.operation if isinstance(selected, OperationDefinitionNode) else None


def _error_size(error: GraphQLError | None) -> int:
    source = error.source if error is not None else None
    return 1024 + (2 * len(source.body) if source is not None else 0)


class DocumentCache:
    """Documents by a digest of their text (see `Document`), bounded by the bytes their trees
    hold. A document too large to keep is parsed for each reader and never kept."""

    def __init__(
        self, max_bytes: int, max_entry_bytes: int | None = None, max_tokens: int | None = None
    ) -> None:
        self.max_tokens = max_tokens
        self.cache = BoundedCache("parsed documents", max_bytes, max_entry_bytes, _forget_plans)

    def read(self, text: str) -> Document:
        key = digest(text)
        document: Document | None = self.cache.get(key)
        if document is None:
            try:
                document = Document(parse(text, max_tokens=self.max_tokens), None)
            except GraphQLError as error:
                document = Document(None, error)
            if self.cache.put(key, document, document.size):
                for operation in document.operations:
                    _plans[id(operation)] = {}
        return document


def shared_plans(operation: OperationDefinitionNode) -> dict | None:
    """Where the lean executor keeps plans to share between requests that run `operation`; None
    if its document is not cached (a plan for nodes parsed for one request is never met again)."""
    return _plans.get(id(operation))
