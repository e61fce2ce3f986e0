"""Input and memory are bounded: request bodies (413 before they are read whole), the caches
documents and answers go into (by bytes, keyed by digests, documents too large never kept), and
JSON nesting (400 over HTTP, 4400 over websockets, on both protocols)."""

from __future__ import annotations

from tests.inprocess import in_process_fixture  # noqa: F401  (the in_process fixture)

MiB = 2**20
