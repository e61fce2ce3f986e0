"""Settings as an operator gives them: the environment, a .env file, and one clear line for a
value the desk cannot use."""

from __future__ import annotations

import os
import re
import shutil

import pytest

from handoff_desk.settings import Settings, SettingsError, variable
from tests.server import ROOT, run_main


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """A working directory of the test's own, and no HANDOFF_ variable in the environment."""
    for name in [k for k in os.environ if k.startswith("HANDOFF_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_a_dotenv_file_is_read_when_present_and_the_environment_wins(workdir, monkeypatch):
    assert Settings.from_env() == Settings()  # no .env: the defaults
    (workdir / ".env").write_text(
        "# a comment\n"
        "HANDOFF_MAX_QUERY_DEPTH=7\n"
        "HANDOFF_PUBLIC_URL=https://desk.example.test/\n"
        'HANDOFF_EMAIL_FROM="Desk <desk@example.test>"\n'
        "HANDOFF_CORS_ORIGINS=https://a.example.test, https://b.example.test/\n"
        "HANDOFF_JOB_LEASE_SECONDS=40\n"
        "HANDOFF_ADMIN_PASSWORD=not-a-setting\n"
    )
    monkeypatch.setenv("HANDOFF_MAX_QUERY_DEPTH", "9")
    settings = Settings.from_env()
    assert settings.max_query_depth == 9  # the environment's, over the file's 7
    assert settings.public_url == "https://desk.example.test"
    assert settings.email_from == "Desk <desk@example.test>"
    assert settings.cors_origins == ("https://a.example.test", "https://b.example.test")
    assert settings.job_lease_seconds == 40.0


def test_settings_made_in_code_read_neither_the_environment_nor_dotenv(workdir, monkeypatch):
    (workdir / ".env").write_text("HANDOFF_MAX_QUERY_DEPTH=7\n")
    monkeypatch.setenv("HANDOFF_PORT", "9000")
    assert Settings(port=8001).max_query_depth == 12 and Settings().port == 8000


def test_the_example_file_as_dotenv_gives_the_defaults(workdir):
    shutil.copy(ROOT / ".env.example", workdir / ".env")
    assert Settings.from_env() == Settings()


def test_the_example_file_documents_every_setting():
    documented = set(re.findall(r"^#? ?(HANDOFF_\w+)=", (ROOT / ".env.example").read_text(), re.M))
    assert {variable(field) for field in Settings.model_fields} <= documented


@pytest.mark.parametrize(
    ("given", "said"),
    [
        ({"HANDOFF_PORT": "eighty"}, "HANDOFF_PORT must be a whole number, got 'eighty'"),
        ({"HANDOFF_MAX_BODY_BYTES": "10"}, "HANDOFF_MAX_BODY_BYTES must be at least 1024, got 10"),
        ({"HANDOFF_EVENT_POLL_SECONDS": "0"}, "HANDOFF_EVENT_POLL_SECONDS must be positive, got 0"),
        (
            {"HANDOFF_JOB_LEASE_SECONDS": "soon"},
            "HANDOFF_JOB_LEASE_SECONDS must be a number, got 'soon'",
        ),
        ({"HANDOFF_GRAPHIQL": "maybe"}, "HANDOFF_GRAPHIQL must be true or false, got 'maybe'"),
        ({"HANDOFF_ASSESSOR": "gpt"}, "HANDOFF_ASSESSOR must be 'rules' or 'openai', got 'gpt'"),
        ({"HANDOFF_LOG_FORMAT": "XML"}, "HANDOFF_LOG_FORMAT must be 'json' or 'text', got 'xml'"),
        (
            {"HANDOFF_ASSESSOR": "openai"},
            "HANDOFF_ASSESSOR=openai needs HANDOFF_OPENAI_BASE_URL and HANDOFF_OPENAI_MODEL",
        ),
    ],
)
def test_an_unusable_value_is_one_line_naming_the_variable(given, said):
    with pytest.raises(SettingsError) as refused:
        Settings.from_env(given)
    assert str(refused.value) == said


@pytest.mark.parametrize("where", ["environment", "dotenv"])
def test_the_command_refuses_an_unusable_setting_in_one_line(workdir, where):
    env = {"HANDOFF_DATABASE_URL": f"sqlite:///{workdir}/desk.db"}
    if where == "dotenv":
        (workdir / ".env").write_text("HANDOFF_SUBSCRIBER_QUEUE=0\n")
    else:
        env["HANDOFF_SUBSCRIBER_QUEUE"] = "0"
    done = run_main("migrate", **env)
    assert done.returncode == 2
    assert done.stderr == "error: HANDOFF_SUBSCRIBER_QUEUE must be at least 1, got 0\n"
    assert done.stdout == "" and not (workdir / "desk.db").exists()
