"""Log lines: one JSON object per line (for log collectors), or plain text (for a terminal).

Every line names the request it was written for (`request_id`; null outside a request), and
uvicorn's own lines go through the same formatter. No line shows a query string (a GraphQL
request by GET carries its document and variables there, a `login` its password) or a secret
the settings hold (handoff_desk/ops/redact.py).
"""

from __future__ import annotations

import json
import logging
import logging.config
from datetime import UTC, datetime
from typing import Any

from handoff_desk.http.request_id import current_request_id
from handoff_desk.ops.redact import Redactor

# What every LogRecord has; anything else on a record was passed in `extra=` and is kept.
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {
    "message",
    "asctime",
    "request_id",
    "color_message",  # uvicorn's coloured copy of the message
}
_ACCESS_FIELDS = ("client", "method", "path", "http_version", "status")


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id()
        return True


def _without_query(path: object) -> object:
    return path.partition("?")[0] if isinstance(path, str) else path


class DropQueryStrings(logging.Filter):
    """uvicorn logs each request's path with its query string (and each websocket's, on
    uvicorn.error): kept here without it, for every path, since the desk takes nothing by query
    string that a log should keep, and GraphQL over GET takes everything that way."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if not isinstance(args, tuple):
            return True
        if record.name == "uvicorn.access" and len(args) >= 3:
            record.args = (*args[:2], _without_query(args[2]), *args[3:])
        elif isinstance(record.msg, str) and record.msg.startswith('%s - "WebSocket %s"'):
            record.args = (args[0], _without_query(args[1]), *args[2:])
        return True


class JsonFormatter(logging.Formatter):
    def __init__(self, redact: Redactor | None = None) -> None:
        super().__init__()
        self.redact = redact or Redactor()

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        if record.name == "uvicorn.access" and isinstance(record.args, tuple):
            entry.update(zip(_ACCESS_FIELDS, record.args, strict=False))
        for key, value in record.__dict__.items():
            if key not in _STANDARD and key not in entry:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return self.redact(json.dumps(entry, default=str, ensure_ascii=False))


class TextFormatter(logging.Formatter):
    def __init__(self, redact: Redactor | None = None) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s%(request)s: %(message)s")
        self.redact = redact or Redactor()

    def format(self, record: logging.LogRecord) -> str:
        request_id = getattr(record, "request_id", None)
        record.request = f" [{request_id}]" if request_id else ""
        return self.redact(super().format(record))


def logging_config(
    log_format: str, level: str = "INFO", secrets: tuple[str, ...] = ()
) -> dict[str, Any]:
    """A dictConfig for this process: one handler on stderr, the chosen formatter, the request
    id and query string filters; uvicorn's loggers hand their lines to it (pass this as
    uvicorn's log_config). No line shows any of `secrets`."""
    formatter = {
        "()": JsonFormatter if log_format == "json" else TextFormatter,
        "redact": Redactor(secrets),  # an object, so dictConfig leaves the secrets alone
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        # uvicorn sets `use_colors` on these two when asked to: both names must exist.
        "formatters": {"default": formatter, "access": dict(formatter)},
        "filters": {
            "request_id": {"()": RequestIdFilter},
            "no_query_string": {"()": DropQueryStrings},
        },
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "default",
                "filters": ["request_id", "no_query_string"],
            }
        },
        "root": {"level": level, "handlers": ["stderr"]},
        "loggers": {
            **{
                name: {"handlers": [], "propagate": True}
                for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
            },
            # Strawberry logs every error of every answer, the client's mistakes included, with a
            # traceback; the unexpected ones are logged by schema/errors.py, with their id.
            "strawberry.execution": {"level": "CRITICAL"},
            "alembic.runtime.plugins": {"level": "WARNING"},  # a line per plugin at each start
        },
    }


def configure(log_format: str, level: str = "INFO", secrets: tuple[str, ...] = ()) -> None:
    logging.config.dictConfig(logging_config(log_format, level, secrets))


def replay(records: list[logging.LogRecord]) -> None:
    """Log again what was held back while the format was not known yet."""
    for record in records:
        logger = logging.getLogger(record.name)
        if logger.isEnabledFor(record.levelno):
            logger.handle(record)


class Held(logging.Handler):
    """Holds the records logged before logging is configured (reading the settings may log)."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
