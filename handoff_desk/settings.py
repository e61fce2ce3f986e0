"""Settings: one pydantic-settings model, read once when a process starts (`Settings.from_env`).

Each field is the environment variable HANDOFF_<NAME> (see .env.example for every one,
documented). A `.env` file in the working directory is read when present; a variable set in the
environment wins over the same one in `.env`. An empty value means the default. `Settings(...)`
itself reads nothing: it is the defaults and what it is given (tests, benchmarks).

A new setting is a field here (with its bounds in `Field`) and a commented line in .env.example.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_core import ErrorDetails
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    EnvSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)
from pydantic_settings.sources.utils import parse_env_vars

from db.engine import normalize_database_url

log = logging.getLogger(__name__)

PREFIX = "HANDOFF_"
_REPLACED = "HANDOFF_WORKER_CONCURRENCY"  # read no more: slots per kind of job replaced it


class SettingsError(ValueError):
    """A setting is present but unusable; raised at startup, never mid-request."""


Positive = Annotated[float, Field(gt=0)]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=PREFIX,
        env_file=".env",
        env_file_encoding="utf-8",
        env_ignore_empty=True,  # HANDOFF_X= (as in .env.example) is the default
        extra="ignore",  # other variables (HANDOFF_ADMIN_PASSWORD, a test's) are not settings
        frozen=True,
        validate_by_name=True,
        validate_by_alias=True,
    )

    database_url: str = "sqlite+aiosqlite:///./handoff-desk.db"
    broadcast_url: str = "memory://"
    # Empty until set: the commands that sign or verify tokens refuse to start without a strong
    # one (handoff_desk/token_secret.py); `serve --demo` makes one per database.
    token_secret: str = ""
    token_ttl_seconds: int = Field(default=12 * 3600, ge=1)
    login_max_failures: int = Field(default=5, ge=0)
    login_max_failures_per_address: int = Field(default=50, ge=0)
    login_window_seconds: int = Field(default=15 * 60, ge=1)
    assessment_timeout_seconds: Positive = 20.0
    assessment_attempts: int = Field(default=3, ge=1)
    email_attempts: int = Field(default=5, ge=1)
    retry_base_seconds: Positive = 2.0
    # Slots of each worker, per kind of job: each kind has its own, so a backlog of one (emails
    # to a mail server that never answers) never holds the slots of another (assessments).
    assessment_workers: int = Field(default=4, ge=0)
    email_workers: int = Field(default=4, ge=0)
    timer_workers: int = Field(default=2, ge=0)
    # Email jobs an email slot leases at once: loaded in one query, sent over one connection,
    # settled in one transaction (an escalation's recipients mostly go out together).
    email_batch: int = Field(default=25, ge=1, le=500)
    # How often an idle worker looks for due jobs: a timer fires at most this long after its due
    # time (a commit's own jobs wake its process's workers at once).
    worker_poll_seconds: Positive = 2.0
    event_poll_seconds: Positive = 5.0
    # Presence (who has an escalation open): each process re-announces its viewers this often,
    # and a viewer not announced for the TTL is gone (its process vanished).
    presence_heartbeat_seconds: Positive = 10.0
    presence_ttl_seconds: Positive = 30.0
    subscriber_queue: int = Field(default=256, ge=1)
    shared_subscriptions: bool = True
    lean_executor: bool = True
    # HANDOFF_JOB_LEASE_SECONDS; unset: `job_lease_seconds` derives it.
    job_lease_override: Positive | None = Field(default=None, alias="HANDOFF_JOB_LEASE_SECONDS")
    query_cache_mb: int = Field(default=64, ge=0)
    max_body_bytes: int = Field(default=2**20, ge=1024)  # a request body, and a websocket message
    max_query_depth: int = Field(default=12, ge=1)
    max_query_tokens: int = Field(default=2000, ge=1)
    max_query_aliases: int = Field(default=20, ge=0)
    # Fields times list sizes (schema/cost.py). GraphiQL's introspection costs about 27,000, the
    # console's and tests' largest documents under 17,000; a nested cycle costs millions.
    max_query_cost: int = Field(default=100_000, ge=1)
    introspection: bool = True
    # Comma-separated in the environment (NoDecode: not JSON).
    cors_origins: Annotated[tuple[str, ...], NoDecode] = ()
    assessor: Literal["rules", "openai"] = "rules"
    openai_base_url: str = ""
    openai_model: str = ""
    openai_api_key: str = ""
    smtp_url: str = ""
    # Connecting to the mail server, and each of its answers, may take this long: past it the
    # attempt has failed (retried later as any failed attempt is).
    smtp_timeout_seconds: Positive = 10.0
    email_from: str = "Handoff Desk <desk@localhost>"
    public_url: str = "http://127.0.0.1:8000"
    # A user's in-app notifications kept: past this, the oldest go as new ones come.
    notifications_kept: int = Field(default=200, ge=1)
    run_workers: bool = True
    graphiql: bool = True
    # json or text; "" lets the command choose (text for `serve --demo`)
    log_format: Literal["", "json", "text"] = ""
    # An OTLP/HTTP collector's base URL: traces of HTTP requests (and of the jobs they cause)
    # go to its /v1/traces. Empty:
    # OpenTelemetry's standard OTEL_EXPORTER_OTLP_ENDPOINT, and when that is unset too, no
    # tracing at all (handoff_desk/ops/tracing.py).
    otlp_endpoint: str = ""
    # Where `handoff-desk worker` serves its /metrics (on `host`); 0: it serves none.
    worker_metrics_port: int = Field(default=0, ge=0)
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # `Settings(...)` is what it is given: a test's settings never pick up the developer's
        # .env or environment. `from_env` reads those.
        return (init_settings,)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """The process's settings: the environment over `.env` (when present); or, given
        `env`, that mapping alone. SettingsError, one line naming the variable, when one is
        unusable."""
        if env is None:
            raw = {**DotEnvSettingsSource(cls)(), **EnvSettingsSource(cls)()}
            given: Mapping[str, str] = os.environ
        else:
            source = EnvSettingsSource(cls)
            source.env_vars = parse_env_vars(env, False, True, None)
            raw, given = source(), env
        try:
            settings = cls.model_validate(raw)
        except ValidationError as error:
            raise SettingsError(_one_line(error.errors()[0])) from None
        if not settings.otlp_endpoint and given.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
            settings = settings.model_copy(
                update={"otlp_endpoint": given["OTEL_EXPORTER_OTLP_ENDPOINT"]}
            )
        if given.get(_REPLACED):
            # Replaced by a number of slots per kind of job; a deployment that still sets it
            # gets the defaults, and hears why.
            log.warning(
                "HANDOFF_WORKER_CONCURRENCY is no longer read: set HANDOFF_ASSESSMENT_WORKERS, "
                "HANDOFF_EMAIL_WORKERS and HANDOFF_TIMER_WORKERS instead"
            )
        return settings

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, url: str) -> str:
        return normalize_database_url(url)

    @field_validator("public_url")
    @classmethod
    def _no_trailing_slash(cls, url: str) -> str:
        return url.rstrip("/")

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _origins(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.split(",")
        if isinstance(value, list | tuple):
            return tuple(o.strip().rstrip("/") for o in value if o.strip())
        return value

    @field_validator("log_format", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        if self.presence_ttl_seconds <= self.presence_heartbeat_seconds:
            # A viewer would vanish between two of its process's announcements.
            raise ValueError(
                "HANDOFF_PRESENCE_TTL_SECONDS must be longer than "
                f"HANDOFF_PRESENCE_HEARTBEAT_SECONDS ({self.presence_ttl_seconds} <= "
                f"{self.presence_heartbeat_seconds})"
            )
        if self.assessor == "openai" and not (self.openai_base_url and self.openai_model):
            raise ValueError(
                "HANDOFF_ASSESSOR=openai needs HANDOFF_OPENAI_BASE_URL and HANDOFF_OPENAI_MODEL"
            )
        return self

    @property
    def job_lease_seconds(self) -> float:
        """Long enough for one attempt at any job; a worker silent for longer is presumed dead."""
        if self.job_lease_override:
            return self.job_lease_override
        return max(self.assessment_timeout_seconds, 30.0) + 15.0

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def variable(field: str) -> str:
    """The environment variable of a field."""
    alias = Settings.model_fields[field].alias
    return alias or f"{PREFIX}{field.upper()}"


# pydantic's error types, said as an operator reads them (the lines the desk always printed).
_SAID = {
    "int_parsing": "must be a whole number, got {value!r}",
    "int_from_float": "must be a whole number, got {value!r}",
    "float_parsing": "must be a number, got {value!r}",
    "bool_parsing": "must be true or false, got {value!r}",
    "greater_than_equal": "must be at least {ge}, got {value}",
    "greater_than": "must be positive, got {value}",
    "literal_error": "must be {expected}, got {value!r}",
}

# "" is the unset log format, not a value to suggest.
_EXPECTED = {"log_format": {"expected": "'json' or 'text'"}}


def _one_line(error: ErrorDetails) -> str:
    """One line that names the variable and says what is wrong with its value."""
    where = [part for part in error["loc"] if isinstance(part, str)]
    if not where:  # the model's own check (_consistent): its message says it all
        return str(error["ctx"]["error"]) if "ctx" in error else error["msg"]
    field = where[0] if where[0] in Settings.model_fields else where[0].lower()[len(PREFIX) :]
    name = variable(field) if field in Settings.model_fields else where[0]
    said = _SAID.get(error["type"])
    if said is None:
        return f"{name}: {error['msg']}, got {error['input']!r}"
    context = {**error.get("ctx", {}), **_EXPECTED.get(field, {})}
    return f"{name} {said.format(value=error['input'], **context)}"
