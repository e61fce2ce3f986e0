"""Secrets an operator hands the desk stay secret: its unit-tier tests (the whole story:
tests/api/test_secrets.py)."""

from __future__ import annotations

import base64
import os
import re
import secrets

import pytest

from handoff_desk import token_secret
from tests.server import ROOT, run_main
from tests.support.secrets import HOW_TO_MAKE

pytestmark = pytest.mark.anyio


REFUSED = {
    "unset": None,
    "empty": "",
    "placeholder": "change-me",
    "the old test secret": "test-secret-not-for-production-0123456789",
    "a repeated character": "a" * 64,
    "a repeated phrase": "0123456789abcdef" * 4,
    "16 random bytes": secrets.token_urlsafe(16),
}


@pytest.mark.parametrize("command", ["serve", "worker"])
@pytest.mark.parametrize("secret", REFUSED.values(), ids=REFUSED.keys())
def test_a_missing_or_weak_token_secret_is_refused_in_one_line(command, secret, tmp_path):
    # The command's main() in this process (the program itself is run by the test after next).
    env = {"HANDOFF_DATABASE_URL": f"sqlite:///{tmp_path}/desk.db", "HANDOFF_PORT": "1"}
    if secret is not None:
        env["HANDOFF_TOKEN_SECRET"] = secret
    done = run_main(command, **env)
    assert done.returncode == 2, done.stderr
    [line] = done.stderr.splitlines()
    assert line.startswith("error: HANDOFF_TOKEN_SECRET ") and line.endswith(HOW_TO_MAKE), line
    assert done.stdout == ""
    assert list(tmp_path.iterdir()) == []  # refused before anything was opened


def test_no_value_of_the_documented_settings_passes_as_a_token_secret():
    lines = (ROOT / ".env.example").read_text().splitlines()
    values = [line.partition("=")[2] for line in lines if re.match(r"#? ?HANDOFF_\w+=", line)]
    assert len(values) > 20
    assert [v for v in values if token_secret.weakness(v) is None] == []


GENERATED = {
    "secrets.token_urlsafe(32)": lambda: secrets.token_urlsafe(32),
    "openssl rand -hex 32": lambda: secrets.token_hex(32),
    "openssl rand -base64 32": lambda: base64.b64encode(os.urandom(32)).decode(),
    "the suggested token_urlsafe(48)": lambda: secrets.token_urlsafe(48),
}


@pytest.mark.parametrize("make", GENERATED.values(), ids=GENERATED.keys())
def test_32_random_bytes_pass_however_they_are_written(make):
    values = [make() for _ in range(5_000)]
    assert [v for v in values if token_secret.weakness(v)] == []
