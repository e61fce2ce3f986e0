"""The types hold (pyproject.toml, [tool.mypy]): mypy strict on the app package, the workers, the
domain, db and vendor_internals, and the GraphQL adapter (schema/) checked without strict's demands
for annotations."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _mypy(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    # mypy of this test session's interpreter, so that it sees the packages installed with it.
    # Its cache is `cwd`/.venv/mypy_cache (pyproject.toml): a warm run checks only what changed.
    return subprocess.run(
        [sys.executable, "-m", "mypy", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
    )


def _lines(*lines: str) -> str:
    return "\n".join(lines) + "\n"


def test_mypy_finds_no_error_in_the_configured_packages():
    result = _mypy(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("Success: no issues found"), result.stdout


def test_the_configuration_is_strict_on_the_domain_and_not_on_the_adapter(tmp_path):
    # The same configuration over a small tree with mistakes in it: proof that the check above
    # is not vacuous, and that each package is held to the level it is meant to be.
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]
    sources = dict.fromkeys(config["files"], "")
    sources |= {
        # A None reaching a value declared non-null, and a function without annotations.
        "resolvers": _lines(
            "def claimer(claimed_by: str | None) -> str:",
            "    return claimed_by",
            "",
            "def untyped(x):",
            "    return x",
        ),
        # Unannotated, which the adapter may be; a false return type, which it may not.
        "schema": _lines(
            "def untyped(x):",
            "    return x",
            "",
            "def count() -> int:",
            "    return 'one'",
        ),
    }
    for package, source in sources.items():
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
        (tmp_path / package / "rules.py").write_text(source)
    # The project's configuration; its `files` are found from the working directory.
    result = _mypy(tmp_path, "--config-file", str(ROOT / "pyproject.toml"))
    lines = [line for line in result.stdout.splitlines() if ": error:" in line]
    assert result.returncode == 1, result.stdout + result.stderr
    assert any(
        line.startswith("resolvers/rules.py:2:") and "[return-value]" in line for line in lines
    ), result.stdout
    assert any(
        line.startswith("resolvers/rules.py:4:") and "[no-untyped-def]" in line for line in lines
    ), result.stdout
    assert any(
        line.startswith("schema/rules.py:5:") and "[return-value]" in line for line in lines
    ), result.stdout
    assert not any(line.startswith("schema/rules.py:1:") for line in lines), result.stdout
    assert len(lines) == 3, result.stdout
