"""deploy/: the Grafana dashboard and the Prometheus alerts read metrics the desk really exports,
by their names and types; and the dashboard shows every metric of the desk's own.
(tests/system/test_deploy_rules.py has promtool check the rules and the dashboard's queries.)"""

from __future__ import annotations

import json
import re

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.server import ROOT

pytestmark = pytest.mark.anyio

DASHBOARD = ROOT / "deploy" / "grafana" / "handoff-desk.json"
ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yml"
_METRIC = re.compile(r"\bhandoff_desk_[a-z_]+\b")
# The series a family of each type exports, by their suffix.
_SERIES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}


def dashboard_queries() -> list[str]:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    return [t["expr"] for p in panels for t in p.get("targets", ())]


async def exported(api) -> dict[str, str]:
    """Each series name the desk's /metrics may show, and its family's type: the families are
    all there from the start, with or without samples yet."""
    text = (await api.client.get("/metrics")).text
    series = {}
    for family in text_string_to_metric_families(text):
        for suffix in _SERIES.get(family.type, ("",)):
            series[family.name + suffix] = family.type
    return series


async def test_every_query_of_the_dashboard_and_the_alerts_reads_an_exported_series(api):
    series = await exported(api)
    queries = [*dashboard_queries(), ALERTS.read_text()]
    read = {name for query in queries for name in _METRIC.findall(query)}
    assert len(read) > 10
    assert sorted(read - set(series)) == []


async def test_the_dashboard_shows_every_metric_of_the_desks_own(api):
    series = await exported(api)
    families = {re.sub(r"(_total|_bucket|_sum|_count)$", "", n) for n in series}
    own = {f for f in families if f.startswith("handoff_desk_")}
    shown = {
        re.sub(r"(_total|_bucket|_sum|_count)$", "", name)
        for query in dashboard_queries()
        for name in _METRIC.findall(query)
    }
    assert sorted(own - shown) == []


def test_each_panel_has_a_title_a_description_and_a_place_of_its_own():
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] == "handoff-desk"
    places = set()
    for panel in dashboard["panels"]:
        assert panel["title"] and panel["id"]
        position = panel["gridPos"]
        for y in range(position["y"], position["y"] + position["h"]):
            for x in range(position["x"], position["x"] + position["w"]):
                assert (x, y) not in places, f"{panel['title']} overlaps another panel"
                places.add((x, y))
        if panel["type"] != "row":
            assert panel["description"] and panel["targets"], panel["title"]
            assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
    assert len({p["id"] for p in dashboard["panels"]}) == len(dashboard["panels"])
