"""The query cost limit: its unit-tier tests (the whole story: tests/api/test_cost.py)."""

import pytest

from handoff_desk.settings import Settings, SettingsError

pytestmark = pytest.mark.anyio


def test_the_cost_limit_is_read_from_the_environment():
    assert Settings.from_env({}).max_query_cost == 100_000
    assert Settings.from_env({"HANDOFF_MAX_QUERY_COST": "900"}).max_query_cost == 900
    with pytest.raises(SettingsError, match="HANDOFF_MAX_QUERY_COST"):
        Settings.from_env({"HANDOFF_MAX_QUERY_COST": "0"})
