"""The workers' capacity settings: slots per kind of job, and the SMTP timeout."""

import logging

import pytest

from handoff_desk.settings import Settings, SettingsError


def test_each_kind_of_job_has_its_own_slots_and_the_smtp_timeout_is_short_by_default():
    defaults = Settings.from_env({})
    assert (defaults.assessment_workers, defaults.email_workers, defaults.timer_workers) == (
        4,
        4,
        2,
    )
    assert defaults.smtp_timeout_seconds == 10.0


def test_the_slots_and_the_timeout_come_from_the_environment():
    settings = Settings.from_env(
        {
            "HANDOFF_ASSESSMENT_WORKERS": "8",
            "HANDOFF_EMAIL_WORKERS": "0",  # this process leaves emails to others
            "HANDOFF_TIMER_WORKERS": "1",
            "HANDOFF_SMTP_TIMEOUT_SECONDS": "2.5",
        }
    )
    assert (settings.assessment_workers, settings.email_workers, settings.timer_workers) == (
        8,
        0,
        1,
    )
    assert settings.smtp_timeout_seconds == 2.5


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("HANDOFF_ASSESSMENT_WORKERS", "-1"),
        ("HANDOFF_EMAIL_WORKERS", "many"),
        ("HANDOFF_SMTP_TIMEOUT_SECONDS", "0"),
        ("HANDOFF_SMTP_TIMEOUT_SECONDS", "soon"),
    ],
)
def test_an_unusable_value_is_refused_at_startup(name, value):
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({name: value})


def test_the_old_single_concurrency_setting_is_named_as_replaced(caplog):
    caplog.set_level(logging.WARNING, logger="handoff_desk.settings")
    settings = Settings.from_env({"HANDOFF_WORKER_CONCURRENCY": "1"})
    assert settings.assessment_workers == 4
    assert any("HANDOFF_EMAIL_WORKERS" in r.getMessage() for r in caplog.records)
