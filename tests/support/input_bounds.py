"""Input and memory are bounded: what its tests share (the whole story:
tests/api/test_input_bounds.py)."""

from __future__ import annotations

from tests.inprocess import in_process_fixture  # noqa: F401  (the in_process fixture)

MiB = 2**20
