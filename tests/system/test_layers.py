"""The layers hold (pyproject.toml, [tool.importlinter]): the app package composes; the GraphQL
adapter (schema/) and the workers use the domain (resolvers/), which uses db/; the domain, the
workers and db import neither graphql nor strawberry."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# `lint-imports`, run by the interpreter of this test session.
_COMMAND = "import sys; from importlinter.cli import lint_imports_command as c; sys.exit(c())"


def _lint_imports(cwd: Path, config: Path) -> subprocess.CompletedProcess:
    # A process of its own: import-linter builds the import graph of the packages found on
    # sys.path from `cwd`, and keeps a cache we do not want written into the tree.
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    return subprocess.run(
        [sys.executable, "-c", _COMMAND, "--config", str(config), "--no-cache", "--no-logo"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_every_layer_imports_only_what_is_below_it():
    result = _lint_imports(ROOT, ROOT / "pyproject.toml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_the_contracts_catch_a_domain_module_that_imports_graphql_or_the_app(tmp_path):
    # The same contracts over a small tree that breaks them: proof that they are not vacuous.
    for package, source in {
        "db": "",
        "resolvers": "import graphql\nfrom handoff_desk import app\n",
        "schema": "",
        "workers": "",
        "handoff_desk": "",
        "vendor_internals": "",
    }.items():
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
        (tmp_path / package / "rules.py").write_text(source)
    (tmp_path / "handoff_desk" / "app.py").write_text("")
    config = (ROOT / "pyproject.toml").read_text()
    (tmp_path / "pyproject.toml").write_text(config[config.index("[tool.importlinter]") :])
    result = _lint_imports(tmp_path, tmp_path / "pyproject.toml")
    assert result.returncode != 0
    assert "resolvers.rules -> handoff_desk.app" in result.stdout, result.stdout
    assert "resolvers.rules -> graphql" in result.stdout, result.stdout
    assert "Contracts: 0 kept, 2 broken." in result.stdout
