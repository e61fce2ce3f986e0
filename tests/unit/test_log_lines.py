"""The shape of a JSON log line, whoever writes it: our modules, a structlog logger, uvicorn."""

from __future__ import annotations

import contextvars
import json
import logging

import structlog
from asgi_correlation_id import correlation_id

from handoff_desk.settings import Settings
from tests.server import logging_as_configured_by_main

FIELDS = ["timestamp", "level", "logger", "message", "request_id"]


def _write_lines() -> None:
    correlation_id.set("req-42")
    logging.getLogger("handoff_desk.somewhere").info("plain %s", "args", extra={"job_id": "j1"})
    structlog.get_logger("handoff_desk.structured").warning("bound", account_id="a1")
    logging.getLogger("uvicorn.error").info(
        '%s - "WebSocket %s" [accepted]', "1.2.3.4:5", "/graphql?t=x"
    )
    try:
        raise RuntimeError("it broke")
    except RuntimeError:
        logging.getLogger("handoff_desk.errors").exception("failed")


def test_every_line_is_one_json_object_with_the_same_first_fields_and_the_request_id():
    with logging_as_configured_by_main("json", Settings()) as log:
        # As `serve --log-level info` leaves it (an in-process server of an earlier test may have
        # left it at warning; the helper puts it back afterwards).
        logging.getLogger("uvicorn.error").setLevel(logging.INFO)
        contextvars.copy_context().run(_write_lines)  # as a request's task would
        logging.getLogger("handoff_desk.outside").info("no request")
    plain, bound, uvicorn, failed, outside = map(json.loads, log.getvalue().splitlines())
    for line in (plain, bound, uvicorn, failed):
        assert list(line)[: len(FIELDS)] == FIELDS
        assert line["request_id"] == "req-42"
        assert line["timestamp"].endswith("+00:00")
    assert (plain["message"], plain["level"], plain["job_id"]) == ("plain args", "INFO", "j1")
    assert (bound["message"], bound["level"], bound["account_id"]) == ("bound", "WARNING", "a1")
    assert bound["logger"] == "handoff_desk.structured"
    assert uvicorn["message"] == '1.2.3.4:5 - "WebSocket /graphql" [accepted]'
    assert failed["level"] == "ERROR" and "RuntimeError: it broke" in failed["exception"]
    assert outside["request_id"] is None
