"""Input and memory are bounded: its unit-tier tests (the whole story:
tests/api/test_input_bounds.py)."""

from __future__ import annotations

import gc
import tracemalloc

import pytest

from handoff_desk.http.answer_cache import ResponseCache
from schema.documents import DocumentCache
from tests.inprocess import in_process_fixture  # noqa: F401  (the in_process fixture)
from tests.support.input_bounds import MiB

pytestmark = pytest.mark.anyio


def _retained(make) -> tuple[int, object]:
    """The bytes `make()` leaves allocated, and what it returned."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        made = make()
        gc.collect()
        return tracemalloc.get_traced_memory()[0] - before, made
    finally:
        tracemalloc.stop()


def _retained_within(make, bound, tries: int = 3) -> tuple[int, object]:
    """What `make()` leaves allocated, measured again (up to `tries` times, each a fresh
    `make()`) while it exceeds `bound(made)`; the least measurement. tracemalloc counts the
    whole process, and another thread of a test worker (pytest-xdist's channel reading a
    message) may allocate during a measurement; that only ever adds, so the least of the tries
    is `make()`'s own cost."""
    least: tuple[int, object] | None = None
    for _ in range(tries):
        measured = _retained(make)
        if least is None or measured[0] < least[0]:
            least = measured
        if least[0] <= bound(least[1]):
            break
    assert least is not None
    return least


def test_the_answer_cache_holds_digests_not_documents_and_counts_them():
    documents = [f"query Q{n} {{ __typename }} #" + "x" * 65536 for n in range(100)]

    def fill() -> ResponseCache:
        cache = ResponseCache(MiB)
        for document in documents:
            cache.put((document, None, "{}", "application/json", "user", 1), b'{"data":{}}')
        return cache

    retained, cache = _retained_within(fill, lambda cache: cache.bytes)
    assert len(cache) == 100
    assert retained <= cache.bytes <= cache.max_bytes


def test_a_parsed_document_costs_no_more_than_the_parse_cache_counts():
    documents = [
        "{ handoffQueue(first: 50) { unreadCount edges { node { id unread } } } }",
        "query Many { " + " ".join(f"a{n}: __typename" for n in range(600)) + " }",
        "{ __typename } #" + "x" * 100_000,
        '{ __typename @include(if: true) } query B { me { name } } # "' + "y" * 50_000,
    ]
    for document in documents:

        def parse_into_a_new_cache():
            documents = DocumentCache(64 * MiB, max_tokens=2000)
            documents.read(document)  # noqa: B023
            return documents.cache

        retained, cache = _retained_within(parse_into_a_new_cache, lambda cache: cache.bytes)
        assert len(cache) == 1
        assert retained <= cache.bytes, (document[:40], retained, cache.bytes)


def test_a_document_too_large_for_its_cache_is_parsed_but_never_kept():
    documents = DocumentCache(4 * MiB, max_entry_bytes=MiB)
    document = "{ __typename } #" + "x" * MiB
    assert documents.read(document).operations
    cache = documents.cache
    assert (len(cache), cache.bytes, cache.skipped) == (0, 0, 1)
