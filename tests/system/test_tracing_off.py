"""Tracing costs nothing unless asked for: without an OTLP endpoint, making the app loads neither
OpenTelemetry's tracing SDK nor any instrumentation (so none is installed); with one, it does.
(redis-py loads OpenTelemetry's metrics API and SDK itself when they are installed, for its own
opt-in metrics, which the desk leaves off.)"""

import os
import subprocess
import sys

import pytest

from tests.server import ROOT

_MAKE_THE_APP = (
    "import sys; from handoff_desk.app import create_app; from handoff_desk.settings import "
    "Settings; create_app(Settings.from_env()); "
    "print(sorted({m for m in sys.modules if m.startswith(('opentelemetry.sdk.trace', "
    "'opentelemetry.instrumentation', 'opentelemetry.exporter', "
    "'strawberry.extensions.tracing'))}))"
)


def loaded_after_making_the_app(tmp_path, **env: str) -> str:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "HANDOFF_"))}
    base["HANDOFF_DATABASE_URL"] = f"sqlite:///{tmp_path}/desk.db"
    done = subprocess.run(
        [sys.executable, "-c", _MAKE_THE_APP],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_without_an_endpoint_no_tracing_nor_instrumentation_is_loaded(tmp_path):
    assert loaded_after_making_the_app(tmp_path) == "[]"


@pytest.mark.parametrize("name", ["HANDOFF_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"])
def test_with_an_endpoint_the_app_is_traced(tmp_path, name):
    loaded = loaded_after_making_the_app(tmp_path, **{name: "http://127.0.0.1:4318"})
    for module in ("opentelemetry.sdk.trace", "opentelemetry.instrumentation.asgi"):
        assert f"'{module}'" in loaded
