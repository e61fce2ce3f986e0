"""Secrets an operator hands the desk stay secret: no command that signs tokens starts without a
strong token secret (only the demo makes its own, once per database), and no password of a URL
or query string reaches the output or the logs."""

from __future__ import annotations

import io
import json
import logging
import secrets

import pytest

from handoff_desk.ops.logs import JsonFormatter
from handoff_desk.ops.redact import Redactor, settings_secrets
from handoff_desk.settings import Settings
from tests.support.secrets import PASSWORD

pytestmark = pytest.mark.anyio


def test_a_log_line_that_quotes_a_secret_shows_stars_instead():
    settings = Settings(
        database_url=f"postgresql+asyncpg://desk:{PASSWORD}@db.internal/desk",
        broadcast_url="redis://:p%40ss-word@cache.internal:6379/0",
        token_secret=secrets.token_urlsafe(48),
    )
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter(Redactor(settings_secrets(settings))))
    logger = logging.getLogger("tests.secrets")
    logger.addHandler(handler)
    try:
        try:
            raise ConnectionError(f"cannot reach {settings.database_url}")
        except ConnectionError:
            logger.exception("broadcast %s lost", settings.broadcast_url)
        logger.error("signed with %s", settings.token_secret)
    finally:
        logger.removeHandler(handler)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert lines[0]["message"] == "broadcast redis://:***@cache.internal:6379/0 lost"
    assert "postgresql+asyncpg://desk:***@db.internal/desk" in lines[0]["exception"]
    assert lines[1]["message"] == "signed with ***"
    for secret in (PASSWORD, "p%40ss-word", "p@ss-word", settings.token_secret):
        assert secret not in stream.getvalue()
