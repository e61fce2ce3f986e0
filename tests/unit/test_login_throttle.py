"""Login throttling: its unit-tier tests (the whole story: tests/api/test_login_throttle.py)."""

import pytest

from handoff_desk.settings import Settings

pytestmark = pytest.mark.anyio


def test_the_limits_come_from_the_environment():
    env = {
        "HANDOFF_LOGIN_MAX_FAILURES": "7",
        "HANDOFF_LOGIN_MAX_FAILURES_PER_ADDRESS": "70",
        "HANDOFF_LOGIN_WINDOW_SECONDS": "600",
        "HANDOFF_TOKEN_SECRET": "x" * 40,
    }
    settings = Settings.from_env(env)
    assert (
        settings.login_max_failures,
        settings.login_max_failures_per_address,
        settings.login_window_seconds,
    ) == (7, 70, 600)
    defaults = Settings.from_env({"HANDOFF_TOKEN_SECRET": "x" * 40})
    assert defaults.login_max_failures == 5 and defaults.login_window_seconds == 900
