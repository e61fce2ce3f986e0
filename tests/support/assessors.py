"""The assessors: what its tests share (the whole story: tests/api/test_assessors.py)."""

from tests.inprocess import in_process_fixture  # noqa: F401  (the in_process fixture)
from workers.assessors import (
    AssessmentRequest,
)

VPN_REQUEST = AssessmentRequest(
    problem_summary="VPN drops every ten minutes at home",
    intake="Customer says the VPN disconnects while working from home.",
    conversation=[
        ("customer", "My VPN disconnects about every ten minutes."),
        ("assistant", "Does it happen in the office as well?"),
        ("customer", "No, only at home."),
    ],
    engineer_notes="Reinstalled the VPN client; no change.",
    priority="high",
)
