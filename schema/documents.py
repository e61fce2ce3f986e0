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

import functools
import hashlib
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from graphql import GraphQLError, OperationType, parse
from graphql.language import DocumentNode, OperationDefinitionNode, Token

# What an entry costs besides its value: the OrderedDict's slot and links, the digest's bytes
# object, the (value, size) pair. Measured with tracemalloc at about 200 bytes; rounded up.
ENTRY_OVERHEAD = 256
# A parsed document holds its text, the text again at most in its tokens' values (names,
# strings, comments), and per token a Token, its share of the AST nodes and their locations
# (387 to 580 bytes measured with tracemalloc; the lean executor's plans for it come on top).
_BYTES_PER_TOKEN = 1200

_MISSING = object()
_F = TypeVar("_F", bound=Callable[..., Any])
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


def memoized(cache: BoundedCache, size: Callable[[Any], int]) -> Callable[[_F], _F]:
    """`functools.lru_cache` for functions of a document (and other small arguments), with the
    discipline above: keyed by a digest of the arguments, values charged `size(value)` bytes."""

    def decorate(function):
        @functools.wraps(function)
        def wrapper(*args):
            key = digest(*args)
            value = cache.get(key, _MISSING)
            if value is _MISSING:
                value = function(*args)
                cache.put(key, value, size(value))
            return value

        wrapper.cache = cache  # type: ignore[attr-defined]  # (a function takes attributes)
        return wrapper

    return decorate


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


# The lean executor's shared plans, per operation of a document the parse cache holds: they go
# when the document goes. Keyed by the operation node's id, which is unique while its document
# is held (the entry is removed when the document is evicted).
_plans: dict[int, dict] = {}


def _forget_plans(document: Any) -> None:
    if isinstance(document, DocumentNode):
        for definition in document.definitions:
            _plans.pop(id(definition), None)


def parse_cache(max_bytes: int, max_entry_bytes: int | None = None) -> BoundedCache:
    """A cache of parsed documents (see `cached_parse`)."""
    return BoundedCache("parsed documents", max_bytes, max_entry_bytes, on_evict=_forget_plans)


def cached_parse(cache: BoundedCache, text: str, **options: Any) -> DocumentNode:
    """graphql-core's `parse`, remembered while the document is small enough to keep. A syntax
    error is raised, and not kept."""
    key = digest(text, *sorted(options.items()))
    document = cache.get(key)
    if document is None:
        document = parse(text, **options)
        if cache.put(key, document, document_size(document)):
            for definition in document.definitions:
                if isinstance(definition, OperationDefinitionNode):
                    _plans[id(definition)] = {}
    return document


def shared_plans(operation: OperationDefinitionNode) -> dict | None:
    """Where the lean executor keeps plans to share between requests that run `operation`; None
    if its document is not cached (a plan for nodes parsed for one request is never met again)."""
    return _plans.get(id(operation))


# --- which operations a document has ----------------------------------------------------------

OPERATIONS = BoundedCache("document operations", max_bytes=4 * 2**20, max_entry_bytes=2**16)


def _operations_size(operations: tuple | None) -> int:
    return 64 + sum(64 + len(name or "") for name, _ in operations or ())


@memoized(OPERATIONS, _operations_size)
def operations(
    document: str, max_tokens: int | None
) -> tuple[tuple[str | None, OperationType], ...] | None:
    """(name, type) of each operation of a document; None if it does not parse (including a
    document over the token limit: the schema refuses it with a clear error). The answer is kept
    even for a long document: it holds only the operations' names."""
    try:
        ast = parse(document, max_tokens=max_tokens, no_location=True)
    except GraphQLError:
        return None
    return tuple(
        (d.name.value if d.name else None, d.operation)
        for d in ast.definitions
        if isinstance(d, OperationDefinitionNode)
    )
