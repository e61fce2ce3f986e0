"""Log lines: one JSON object per line (for log collectors), or plain text (for a terminal).

structlog renders every line, whoever wrote it: our modules' and the libraries' stdlib loggers
(uvicorn, alembic, strawberry) go through its `ProcessorFormatter`, and a `structlog.get_logger`
logger goes to the same handler. Every line names the request it was written for (`request_id`:
asgi-correlation-id's, or the request that enqueued the job a worker runs; null outside either).
No line shows a query string (a GraphQL request by GET carries its document and variables
there, a `login` its password) or a secret the settings hold (handoff_desk/ops/redact.py).
"""

from __future__ import annotations

import logging
import logging.config
from datetime import UTC, datetime
from typing import Any

import structlog
from asgi_correlation_id import correlation_id
from structlog.typing import EventDict, WrappedLogger

from handoff_desk.ops.redact import Redactor

# What every LogRecord has; anything else on a record was passed in `extra=` and is kept.
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {
    "message",
    "asctime",
    "color_message",  # uvicorn's coloured copy of the message
    "_logger",  # structlog's, on the records of its own loggers
    "_name",
}
_ACCESS_FIELDS = ("client", "method", "path", "http_version", "status")


def current_request_id() -> str | None:
    """The id of the request this code runs for; None outside any request."""
    return correlation_id.get()


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


def _shape(logger: WrappedLogger, method: str, event: EventDict) -> EventDict:
    """The fields every line has, first and in this order, then the line's own."""
    record: logging.LogRecord = event.pop("_record")
    from_structlog = event.pop("_from_structlog")
    line: EventDict = {
        "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
        "level": record.levelname,
        "logger": record.name,
        "message": event.pop("event"),
        "request_id": event.pop("request_id", None) or current_request_id(),
    }
    args = event.pop("positional_args", None)
    if record.name == "uvicorn.access" and isinstance(args, tuple):
        line.update(zip(_ACCESS_FIELDS, args, strict=False))
    if not from_structlog:
        for key, value in record.__dict__.items():
            if key not in _STANDARD and key not in line:
                line[key] = value
    if "stack_info" in event:
        line["stack"] = event.pop("stack_info")
    line.update(event)
    return line


def _without_nulls(logger: WrappedLogger, method: str, event: EventDict) -> EventDict:
    return {k: v for k, v in event.items() if v is not None}


class _Formatter(structlog.stdlib.ProcessorFormatter):
    def __init__(self, renderer: list[Any], redact: Redactor | None = None) -> None:
        super().__init__(
            processors=[
                _shape,
                structlog.processors.format_exc_info,  # exc_info -> "exception", as text
                *renderer,
            ],
            pass_foreign_args=True,  # `_shape` reads uvicorn's access fields from them
        )
        self.redact = redact or Redactor()

    def format(self, record: logging.LogRecord) -> str:
        return self.redact(super().format(record))


class JsonFormatter(_Formatter):
    def __init__(self, redact: Redactor | None = None) -> None:
        renderer = structlog.processors.JSONRenderer(ensure_ascii=False, default=str)
        super().__init__([renderer], redact)


class TextFormatter(_Formatter):
    def __init__(self, redact: Redactor | None = None) -> None:
        renderer = structlog.dev.ConsoleRenderer(
            colors=False, event_key="message", sort_keys=False, pad_event_to=0
        )
        super().__init__([_without_nulls, renderer], redact)


def logging_config(
    log_format: str, level: str = "INFO", secrets: tuple[str, ...] = ()
) -> dict[str, Any]:
    """A dictConfig for this process: one handler on stderr, the chosen formatter and the query
    string filter; uvicorn's loggers hand their lines to it (pass this as uvicorn's log_config).
    No line shows any of `secrets`."""
    formatter = {
        "()": JsonFormatter if log_format == "json" else TextFormatter,
        "redact": Redactor(secrets),  # an object, so dictConfig leaves the secrets alone
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        # uvicorn sets `use_colors` on these two when asked to: both names must exist.
        "formatters": {"default": formatter, "access": dict(formatter)},
        "filters": {"no_query_string": {"()": DropQueryStrings}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "default",
                "filters": ["no_query_string"],
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
            # A client's X-Request-ID that is no sane token is replaced, as documented: no line.
            "asgi_correlation_id": {"level": "ERROR"},
        },
    }


def configure(log_format: str, level: str = "INFO", secrets: tuple[str, ...] = ()) -> None:
    logging.config.dictConfig(logging_config(log_format, level, secrets))
    # structlog's own loggers, if any module uses one, hand their lines to the same handler.
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.stdlib.filter_by_level,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


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
