"""Settings, read once from the environment (see .env.example for every one, documented)."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass

from db.engine import normalize_database_url

log = logging.getLogger(__name__)


class SettingsError(ValueError):
    """A setting is present but unusable; raised at startup, never mid-request."""


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}") from exc
    if value < minimum:
        raise SettingsError(f"{name} must be at least {minimum}, got {value}")
    return value


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from exc
    if value <= 0:
        raise SettingsError(f"{name} must be positive, got {value}")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name} must be true or false, got {raw!r}")


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite+aiosqlite:///./handoff-desk.db"
    broadcast_url: str = "memory://"
    # Empty until set: the commands that sign or verify tokens refuse to start without a strong
    # one (handoff_desk/token_secret.py); `serve --demo` makes one per database.
    token_secret: str = ""
    token_ttl_seconds: int = 12 * 3600
    login_max_failures: int = 5
    login_max_failures_per_address: int = 50
    login_window_seconds: int = 15 * 60
    assessment_timeout_seconds: float = 20.0
    assessment_attempts: int = 3
    email_attempts: int = 5
    retry_base_seconds: float = 2.0
    # Slots of each worker, per kind of job: each kind has its own, so a backlog of one (emails
    # to a mail server that never answers) never holds the slots of another (assessments).
    assessment_workers: int = 4
    email_workers: int = 4
    timer_workers: int = 2
    # How often an idle worker looks for due jobs: a timer fires at most this long after its due
    # time (a commit's own jobs wake its process's workers at once).
    worker_poll_seconds: float = 2.0
    event_poll_seconds: float = 5.0
    # Presence (who has an escalation open): each process re-announces its viewers this often,
    # and a viewer not announced for the TTL is gone (its process vanished).
    presence_heartbeat_seconds: float = 10.0
    presence_ttl_seconds: float = 30.0
    subscriber_queue: int = 256
    shared_subscriptions: bool = True
    lean_executor: bool = True
    job_lease_override: float | None = None
    query_cache_mb: int = 64
    max_body_bytes: int = 2**20  # a request body, and a websocket message
    max_query_depth: int = 12
    max_query_tokens: int = 2000
    max_query_aliases: int = 20
    # Fields times list sizes (schema/cost.py). GraphiQL's introspection costs about 27,000, the
    # console's and tests' largest documents under 17,000; a nested cycle costs millions.
    max_query_cost: int = 100_000
    introspection: bool = True
    cors_origins: tuple[str, ...] = ()
    assessor: str = "rules"
    openai_base_url: str = ""
    openai_model: str = ""
    openai_api_key: str = ""
    smtp_url: str = ""
    # Connecting to the mail server, and each of its answers, may take this long: past it the
    # attempt has failed (retried later as any failed attempt is).
    smtp_timeout_seconds: float = 10.0
    email_from: str = "Handoff Desk <desk@localhost>"
    public_url: str = "http://127.0.0.1:8000"
    # A user's in-app notifications kept: past this, the oldest go as new ones come.
    notifications_kept: int = 200
    run_workers: bool = True
    graphiql: bool = True
    log_format: str = ""  # json or text; "" lets the command choose (text for `serve --demo`)
    # An OTLP/HTTP collector's base URL: traces of HTTP requests go to its /v1/traces. Empty:
    # no tracing at all (handoff_desk/ops/tracing.py).
    otlp_endpoint: str = ""
    # Where `handoff-desk worker` serves its /metrics (on `host`); 0: it serves none.
    worker_metrics_port: int = 0
    host: str = "127.0.0.1"
    port: int = 8000

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        defaults = cls()
        assessor = env.get("HANDOFF_ASSESSOR", defaults.assessor) or defaults.assessor
        if assessor not in ("rules", "openai"):
            raise SettingsError(f"HANDOFF_ASSESSOR must be 'rules' or 'openai', got {assessor!r}")
        log_format = env.get("HANDOFF_LOG_FORMAT", "").lower()
        if log_format not in ("", "json", "text"):
            raise SettingsError(f"HANDOFF_LOG_FORMAT must be 'json' or 'text', got {log_format!r}")
        settings = cls(
            database_url=normalize_database_url(
                env.get("HANDOFF_DATABASE_URL") or defaults.database_url
            ),
            broadcast_url=env.get("HANDOFF_BROADCAST_URL") or defaults.broadcast_url,
            token_secret=env.get("HANDOFF_TOKEN_SECRET", ""),
            token_ttl_seconds=_int(env, "HANDOFF_TOKEN_TTL_SECONDS", defaults.token_ttl_seconds, 1),
            login_max_failures=_int(
                env, "HANDOFF_LOGIN_MAX_FAILURES", defaults.login_max_failures, 0
            ),
            login_max_failures_per_address=_int(
                env,
                "HANDOFF_LOGIN_MAX_FAILURES_PER_ADDRESS",
                defaults.login_max_failures_per_address,
                0,
            ),
            login_window_seconds=_int(
                env, "HANDOFF_LOGIN_WINDOW_SECONDS", defaults.login_window_seconds, 1
            ),
            assessment_timeout_seconds=_float(
                env, "HANDOFF_ASSESSMENT_TIMEOUT_SECONDS", defaults.assessment_timeout_seconds
            ),
            assessment_attempts=_int(
                env, "HANDOFF_ASSESSMENT_ATTEMPTS", defaults.assessment_attempts, 1
            ),
            email_attempts=_int(env, "HANDOFF_EMAIL_ATTEMPTS", defaults.email_attempts, 1),
            retry_base_seconds=_float(
                env, "HANDOFF_RETRY_BASE_SECONDS", defaults.retry_base_seconds
            ),
            assessment_workers=_int(
                env, "HANDOFF_ASSESSMENT_WORKERS", defaults.assessment_workers, 0
            ),
            email_workers=_int(env, "HANDOFF_EMAIL_WORKERS", defaults.email_workers, 0),
            timer_workers=_int(env, "HANDOFF_TIMER_WORKERS", defaults.timer_workers, 0),
            worker_poll_seconds=_float(
                env, "HANDOFF_WORKER_POLL_SECONDS", defaults.worker_poll_seconds
            ),
            event_poll_seconds=_float(
                env, "HANDOFF_EVENT_POLL_SECONDS", defaults.event_poll_seconds
            ),
            presence_heartbeat_seconds=_float(
                env, "HANDOFF_PRESENCE_HEARTBEAT_SECONDS", defaults.presence_heartbeat_seconds
            ),
            presence_ttl_seconds=_float(
                env, "HANDOFF_PRESENCE_TTL_SECONDS", defaults.presence_ttl_seconds
            ),
            subscriber_queue=_int(env, "HANDOFF_SUBSCRIBER_QUEUE", defaults.subscriber_queue, 1),
            shared_subscriptions=_bool(
                env, "HANDOFF_SHARED_SUBSCRIPTIONS", defaults.shared_subscriptions
            ),
            lean_executor=_bool(env, "HANDOFF_LEAN_EXECUTOR", defaults.lean_executor),
            query_cache_mb=_int(env, "HANDOFF_QUERY_CACHE_MB", defaults.query_cache_mb, 0),
            max_body_bytes=_int(env, "HANDOFF_MAX_BODY_BYTES", defaults.max_body_bytes, 1024),
            max_query_depth=_int(env, "HANDOFF_MAX_QUERY_DEPTH", defaults.max_query_depth, 1),
            max_query_tokens=_int(env, "HANDOFF_MAX_QUERY_TOKENS", defaults.max_query_tokens, 1),
            max_query_aliases=_int(env, "HANDOFF_MAX_QUERY_ALIASES", defaults.max_query_aliases, 0),
            max_query_cost=_int(env, "HANDOFF_MAX_QUERY_COST", defaults.max_query_cost, 1),
            introspection=_bool(env, "HANDOFF_INTROSPECTION", defaults.introspection),
            cors_origins=tuple(
                o.strip().rstrip("/")
                for o in env.get("HANDOFF_CORS_ORIGINS", "").split(",")
                if o.strip()
            ),
            job_lease_override=(
                _float(env, "HANDOFF_JOB_LEASE_SECONDS", 1.0)
                if env.get("HANDOFF_JOB_LEASE_SECONDS")
                else None
            ),
            assessor=assessor,
            openai_base_url=env.get("HANDOFF_OPENAI_BASE_URL", ""),
            openai_model=env.get("HANDOFF_OPENAI_MODEL", ""),
            openai_api_key=env.get("HANDOFF_OPENAI_API_KEY", ""),
            smtp_url=env.get("HANDOFF_SMTP_URL", ""),
            smtp_timeout_seconds=_float(
                env, "HANDOFF_SMTP_TIMEOUT_SECONDS", defaults.smtp_timeout_seconds
            ),
            email_from=env.get("HANDOFF_EMAIL_FROM") or defaults.email_from,
            public_url=(env.get("HANDOFF_PUBLIC_URL") or defaults.public_url).rstrip("/"),
            notifications_kept=_int(
                env, "HANDOFF_NOTIFICATIONS_KEPT", defaults.notifications_kept, 1
            ),
            run_workers=_bool(env, "HANDOFF_RUN_WORKERS", defaults.run_workers),
            graphiql=_bool(env, "HANDOFF_GRAPHIQL", defaults.graphiql),
            log_format=log_format,
            otlp_endpoint=(
                env.get("HANDOFF_OTLP_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_ENDPOINT", "")
            ).rstrip("/"),
            host=env.get("HANDOFF_HOST") or defaults.host,
            port=_int(env, "HANDOFF_PORT", defaults.port, 1),
            worker_metrics_port=_int(env, "HANDOFF_WORKER_METRICS_PORT", 0, 0),
        )
        if env.get("HANDOFF_WORKER_CONCURRENCY"):
            # Replaced by a number of slots per kind of job; a deployment that still sets it
            # gets the defaults, and hears why.
            log.warning(
                "HANDOFF_WORKER_CONCURRENCY is no longer read: set HANDOFF_ASSESSMENT_WORKERS, "
                "HANDOFF_EMAIL_WORKERS and HANDOFF_TIMER_WORKERS instead"
            )
        if settings.presence_ttl_seconds <= settings.presence_heartbeat_seconds:
            # A viewer would vanish between two of its process's announcements.
            raise SettingsError(
                "HANDOFF_PRESENCE_TTL_SECONDS must be longer than "
                f"HANDOFF_PRESENCE_HEARTBEAT_SECONDS ({settings.presence_ttl_seconds} <= "
                f"{settings.presence_heartbeat_seconds})"
            )
        if settings.assessor == "openai" and not (
            settings.openai_base_url and settings.openai_model
        ):
            raise SettingsError(
                "HANDOFF_ASSESSOR=openai needs HANDOFF_OPENAI_BASE_URL and HANDOFF_OPENAI_MODEL"
            )
        return settings

    @property
    def job_lease_seconds(self) -> float:
        """Long enough for one attempt at any job; a worker silent for longer is presumed dead."""
        if self.job_lease_override:
            return self.job_lease_override
        return max(self.assessment_timeout_seconds, 30.0) + 15.0

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
