"""deploy/prometheus/alerts.yml is what Prometheus loads, checked by its own promtool: the rules
parse, and each alert fires on the series it watches (alerts.test.yml); the Grafana dashboard's
queries parse as PromQL too. promtool comes with Debian's `prometheus` package (scripts/setup
installs it); without it these tests skip, naming it (and fail in CI)."""

from __future__ import annotations

import json
import shutil
import subprocess

from tests.server import ROOT
from tests.services import unavailable

DEPLOY = ROOT / "deploy"


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    tool = shutil.which("promtool")
    if tool is None:
        unavailable("promtool", "not on PATH (apt-get install prometheus)")
    assert tool is not None
    return subprocess.run(
        [tool, *args], cwd=DEPLOY / "prometheus", capture_output=True, text=True, timeout=60
    )


def test_the_alert_rules_pass_promtools_check():
    done = promtool("check", "rules", "alerts.yml")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS: 8 rules found" in done.stdout


def test_each_alert_fires_on_what_it_watches_and_not_before_its_time():
    done = promtool("test", "rules", "alerts.test.yml")
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_dashboards_queries_are_promql(tmp_path):
    panels = json.loads((DEPLOY / "grafana" / "handoff-desk.json").read_text())["panels"]
    queries = [t["expr"] for p in panels for t in p.get("targets", ())]
    # Grafana's own interval stands for a duration; a rules file (YAML: JSON will do) makes
    # promtool parse each one.
    rules = [
        {"record": f"dashboard:query_{n}", "expr": q.replace("$__rate_interval", "5m")}
        for n, q in enumerate(queries)
    ]
    checked = tmp_path / "dashboard-queries.json"
    checked.write_text(json.dumps({"groups": [{"name": "dashboard", "rules": rules}]}))
    done = promtool("check", "rules", str(checked))
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(queries)} rules found" in done.stdout
