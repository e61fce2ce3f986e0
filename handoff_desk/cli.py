"""`handoff-desk`: serve, worker, migrate, create-account, export-schema.

Settings come from HANDOFF_ environment variables, and from a .env file in the working directory
when there is one (every one is described in .env.example)."""

from __future__ import annotations

import argparse
import asyncio
import gc
import getpass
import json
import logging
import os
import sys
from collections.abc import Awaitable, Callable
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from handoff_desk import token_secret
from handoff_desk.ops import logs
from handoff_desk.ops.redact import mask_url, settings_secrets
from handoff_desk.settings import Settings, SettingsError

if TYPE_CHECKING:  # imported where used: a command loads only what it needs
    from wsgiref.simple_server import WSGIServer

    from starlette.applications import Starlette

    from db.models import Account, User
    from resolvers.desk import Desk

log = logging.getLogger("handoff_desk.cli")
_T = TypeVar("_T")


def log_format(settings: Settings, args: argparse.Namespace) -> str:
    """JSON lines unless HANDOFF_LOG_FORMAT says otherwise; plain text for `serve --demo`."""
    return settings.log_format or ("text" if getattr(args, "demo", False) else "json")


async def _migrate(settings: Settings) -> None:
    from db.engine import create_engine
    from db.migrate import upgrade

    engine = create_engine(settings.database_url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


async def _with_desk(settings: Settings, work: Callable[[Desk], Awaitable[_T]]) -> _T:
    from db.engine import Database
    from resolvers.desk import Desk

    desk = Desk(settings=settings, db=Database.from_url(settings.database_url))
    try:
        return await work(desk)
    finally:
        await desk.db.dispose()


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    asyncio.run(_migrate(settings))
    print(f"migrated {mask_url(settings.database_url)}")
    return 0


WS_MAX_FRAME_BYTES: int = Settings().max_body_bytes  # the default of HANDOFF_MAX_BODY_BYTES


def with_token_secret(settings: Settings, args: argparse.Namespace) -> Settings:
    """The settings of a command that signs or verifies tokens, with a strong secret, or
    SettingsError. Only `serve --demo` may go without one: it makes one per database."""
    if getattr(args, "demo", False) and not settings.token_secret:
        secret = token_secret.demo_secret(settings.database_url)
        return settings.model_copy(update={"token_secret": secret})
    token_secret.require_strong(settings.token_secret)
    return settings


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    # No collector passes until the server has started (_settle_garbage_collector turns it on):
    # what startup makes lives as long as the process, and passes over it free nothing.
    gc.disable()
    host = args.host or settings.host
    port = args.port or settings.port
    asyncio.run(_migrate(settings))
    if args.demo:
        from handoff_desk import demo

        if args.reset:
            others = asyncio.run(_with_desk(settings, demo.accounts_not_of_the_demo))
            if others:
                print(
                    f"error: --reset would delete accounts the demo did not make "
                    f"({', '.join(others)}); refusing",
                    file=sys.stderr,
                )
                return 2
            asyncio.run(_with_desk(settings, demo.start_over))
        created = asyncio.run(_with_desk(settings, demo.seed_demo))
        log.info("demo data: %s", "seeded" if created else "already present")
        for line in demo.logins():
            log.info("demo login: %s", line)
    log.info("console: http://%s:%s/", host, port)
    log.info("GraphiQL: http://%s:%s/graphql", host, port)
    log.info("database: %s", mask_url(settings.database_url))
    return _run_server(
        settings,
        host=host,
        port=port,
        ws_per_message_deflate=False,  # its per-connection memory is large (uvicorn #1862)
        # No desk message comes near it (a document is at most HANDOFF_MAX_QUERY_TOKENS tokens);
        # a bigger frame is refused with 1009 before it is held in memory (uvicorn's is 16 MiB).
        # The same bound as an HTTP body (HANDOFF_MAX_BODY_BYTES).
        ws_max_size=settings.max_body_bytes,
        log_level=args.log_level,
        access_log=False,  # handoff_desk/ops/access_log.py writes a line per request instead
        log_config=logs.logging_config(  # its lines as ours, scrubbed alike
            log_format(settings, args), secrets=settings_secrets(settings)
        ),
    )


def _settle_garbage_collector() -> None:
    """Once started: what startup made (modules, the schema, pools) is moved out of the
    collector's sight for good, the collector (off during startup) is turned on, and young
    objects are collected less often. A queue page makes thousands of short-lived objects; with
    the default thresholds the collector's full passes over everything startup made cost about
    0.5 ms of a cold read (bench/profile_queue.py)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)
    gc.enable()


def _run_server(settings: Settings, **options: Any) -> int:
    """uvicorn, except for how it sends websockets away on shutdown: uvicorn closes them with
    1012 (service restart), this with 1001 (going away), before waiting for requests in flight."""
    import uvicorn

    from handoff_desk.app import create_app
    from vendor_internals import uvicorn as uvicorn_internals

    class DeskServer(uvicorn_internals.Server):
        app: Starlette | None = None

        def after_startup(self) -> None:
            _settle_garbage_collector()

        async def before_shutdown(self) -> None:  # no new connections come in any more
            if self.app is not None:
                await self.app.state.send_websockets_away()

    def app() -> Starlette:
        server.app = create_app(settings)
        return server.app

    server = DeskServer(uvicorn.Config(app, factory=True, **options))
    server.run()
    return 0 if server.started else 3  # uvicorn's exit status for a failed startup


def cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    """Run only the workers: for deployments whose API processes set HANDOFF_RUN_WORKERS=false."""
    gc.disable()  # until the worker has started, as for `serve`
    asyncio.run(_migrate(settings))
    asyncio.run(_run_worker(settings))
    return 0


async def _run_worker(settings: Settings) -> None:
    import signal

    from db.engine import Database
    from handoff_desk.live.broadcast import create_broadcast
    from handoff_desk.live.hub import Hub
    from handoff_desk.live.notifier import LiveNotifier
    from resolvers.desk import Desk
    from workers import create_worker

    desk = Desk(settings=settings, db=Database.from_url(settings.database_url))
    metrics_server = _serve_worker_metrics(desk, settings) if settings.worker_metrics_port else None
    tracing = None
    if settings.otlp_endpoint:  # a traced request's jobs join its trace
        from handoff_desk.ops import tracing as otel  # OpenTelemetry: loaded only to trace

        tracing = otel.tracer_provider(settings)
        otel.trace_statements(desk.db, tracing)
        desk.tracing = otel.JobTracing(tracing)
    broadcast = create_broadcast(settings.broadcast_url)
    worker = create_worker(desk)
    # Publishes the doorbells of what the jobs commit, so subscribers hear of it at once.
    desk.notifier = LiveNotifier(Hub(desk, broadcast), worker.wake)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await broadcast.connect()
    worker.start()
    # As `serve` does once started: its jobs' garbage is collected without passes over what
    # startup made, and so is the process's exit (its last collection over all of that took
    # half a second).
    _settle_garbage_collector()
    logging.getLogger("handoff_desk.worker").info("worker %s running", worker.owner)
    try:
        await stop.wait()
    finally:
        await worker.stop()
        await broadcast.disconnect()
        await desk.db.dispose()
        if metrics_server:
            metrics_server.shutdown()
        if tracing:  # the spans not sent yet go now
            await asyncio.to_thread(tracing.shutdown)


def _serve_worker_metrics(desk: Desk, settings: Settings) -> WSGIServer:
    """What the worker's jobs count (assessments, emails: resolvers/desk.py's Meter), at
    /metrics on its own port, from a thread of the client library's. The gauges the API
    processes read from the database at scrape time (pending jobs, overdue escalations) have
    no samples here: they are the same for every process."""
    from prometheus_client import start_http_server

    from handoff_desk.ops.metrics import Metrics

    metrics = Metrics(desk)
    desk.meter = metrics
    server, _ = start_http_server(
        settings.worker_metrics_port, addr=settings.host, registry=metrics.registry
    )
    return server


def cmd_create_account(settings: Settings, args: argparse.Namespace) -> int:
    from resolvers.accounts import create_account
    from resolvers.errors import BadInput

    password = admin_password(args)
    if password is None:
        print(
            "error: no password for the admin: type it when asked (a terminal), set "
            f"{PASSWORD_VARIABLE}, or pipe it with --admin-password-stdin",
            file=sys.stderr,
        )
        return 2

    async def work(desk: Desk) -> tuple[Account, User]:
        return await create_account(
            desk,
            name=args.name,
            admin_name=args.admin_name,
            admin_email=args.admin_email,
            admin_password=password,
        )

    try:
        outcome = asyncio.run(_with_desk(settings, work))
    except BadInput as error:
        print(f"error: {error.message}", file=sys.stderr)
        return 2
    # Emails are unique per account: the admin's address may be a user of other accounts too.
    account, admin = outcome
    print(json.dumps({"account_id": str(account.id), "admin_id": str(admin.id)}))
    return 0


PASSWORD_VARIABLE = "HANDOFF_ADMIN_PASSWORD"


def admin_password(args: argparse.Namespace) -> str | None:
    """The new admin's password: from stdin's first line (--admin-password-stdin), the
    argument (visible to other users of the machine while it runs: for throwaway setups),
    HANDOFF_ADMIN_PASSWORD, or a prompt (twice) when stdin is a terminal; None without one."""
    if args.admin_password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if args.admin_password is not None:
        return str(args.admin_password)
    if PASSWORD_VARIABLE in os.environ:
        return os.environ[PASSWORD_VARIABLE]
    if not sys.stdin.isatty():
        return None
    while True:
        first = getpass.getpass("Admin password: ")
        if first == getpass.getpass("Again: "):
            return first
        print("The two differ; once more.", file=sys.stderr)


def cmd_export_schema(settings: Settings, args: argparse.Namespace) -> int:
    from schema.schema import schema

    sdl = schema.as_str() + "\n"
    if args.output == "-":
        sys.stdout.write(sdl)
    else:
        Path(args.output).write_text(sdl)
    return 0


def version() -> str:
    try:
        return metadata.version("handoff-desk")
    except metadata.PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


def _command(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    summary: str,
    description: str,
    examples: str,
) -> argparse.ArgumentParser:
    """A subcommand with its one-line summary (in `handoff-desk -h`), a description and
    examples (in `handoff-desk NAME -h`)."""
    command: argparse.ArgumentParser = sub.add_parser(
        name,
        help=summary,
        description=description,
        epilog="examples:\n" + examples,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    return command


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="handoff-desk", description=__doc__)
    p.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    sub = p.add_subparsers(dest="command", required=True)

    serve = _command(
        sub,
        "serve",
        "apply migrations, then run the server",
        "Applies the database's migrations, then serves the API (/graphql, with GraphiQL), the\n"
        "web console (/) and /healthz, /readyz, /metrics. Unless HANDOFF_RUN_WORKERS=false it\n"
        "runs the assessment, email and timer workers too.",
        "  handoff-desk serve --demo                 # SQLite ./handoff-desk.db, demo accounts\n"
        "  handoff-desk serve --demo --reset         # the demo from scratch\n"
        "  HANDOFF_DATABASE_URL=postgresql://desk@db/desk HANDOFF_TOKEN_SECRET=... \\\n"
        "    handoff-desk serve --host 0.0.0.0 --port 8000",
    )
    serve.add_argument("--host", help="default: HANDOFF_HOST or 127.0.0.1")
    serve.add_argument("--port", type=int, help="default: HANDOFF_PORT or 8000")
    serve.add_argument(
        "--demo",
        action="store_true",
        help="seed the demo accounts first and print their logins; without "
        "HANDOFF_TOKEN_SECRET, use a secret made once for this database and kept beside it",
    )
    serve.add_argument(
        "--reset",
        action="store_true",
        help="with --demo: empty the database first and seed the demo again (refused when it "
        "holds accounts the demo did not make)",
    )
    serve.add_argument("--log-level", default="info", help="default: info")
    serve.set_defaults(run=cmd_serve, signs_tokens=True)

    worker = _command(
        sub,
        "worker",
        "run the assessment, email and timer workers only",
        "Runs the workers without serving HTTP: for deployments whose API processes set\n"
        "HANDOFF_RUN_WORKERS=false. Stops on SIGTERM once its jobs in hand are done.",
        "  HANDOFF_DATABASE_URL=postgresql://desk@db/desk HANDOFF_TOKEN_SECRET=... \\\n"
        "    HANDOFF_BROADCAST_URL=redis://redis:6379 handoff-desk worker",
    )
    worker.set_defaults(run=cmd_worker, signs_tokens=True)

    migrate = _command(
        sub,
        "migrate",
        "apply database migrations",
        "Brings the database named by HANDOFF_DATABASE_URL to the newest schema (serve does it\n"
        "too). Safe to run from several processes at once.",
        "  HANDOFF_DATABASE_URL=postgresql://desk@db/desk handoff-desk migrate",
    )
    migrate.set_defaults(run=cmd_migrate)

    account = _command(
        sub,
        "create-account",
        "create an account with its first admin",
        "Creates an account (a tenant) and its first admin, and prints their ids as JSON.\n"
        f"The password is asked for on a terminal, or read from {PASSWORD_VARIABLE}, or from\n"
        "stdin with --admin-password-stdin.",
        "  handoff-desk create-account --name 'Initech' --admin-name 'Peter Gibbons' \\\n"
        "    --admin-email peter@initech.example                   # asks for the password\n"
        "  pass show initech | handoff-desk create-account --admin-password-stdin \\\n"
        "    --name 'Initech' --admin-name 'Peter Gibbons' --admin-email peter@initech.example",
    )
    account.add_argument("--name", required=True, help="the account's name")
    account.add_argument("--admin-name", required=True, help="the admin's full name")
    account.add_argument("--admin-email", required=True, help="the admin's login")
    account.add_argument(
        "--admin-password-stdin",
        action="store_true",
        help="read the admin's password from the first line of stdin",
    )
    account.add_argument(
        "--admin-password",
        help="the password itself (other users of the machine can read a command's "
        f"arguments while it runs: prefer the prompt, {PASSWORD_VARIABLE} or stdin)",
    )
    account.set_defaults(run=cmd_create_account)

    export = _command(
        sub,
        "export-schema",
        "write the GraphQL SDL",
        "Writes the schema's SDL (what schema.graphql holds) for clients and code generators.",
        "  handoff-desk export-schema --output schema.graphql\n"
        "  handoff-desk export-schema --output - | graphql-inspector diff old.graphql -",
    )
    export.add_argument("--output", default="schema.graphql", help="a path, or - for stdout")
    export.set_defaults(run=cmd_export_schema)
    return p


def database_unreachable(error: BaseException) -> bool:
    """Not there, refused, or refusing our login: what an operator fixes in the URL or the
    database server, told in one line rather than a traceback."""
    from db.engine import unavailable

    if unavailable(error):
        return True
    cause = error.__cause__ or error
    return str(getattr(cause, "sqlstate", "")).startswith("28")  # invalid authorization


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    held = logs.Held()  # reading the settings may log: held until they choose the format
    logging.getLogger().addHandler(held)
    try:
        settings = Settings.from_env()
        if getattr(args, "signs_tokens", False):
            settings = with_token_secret(settings, args)
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    finally:
        logging.getLogger().removeHandler(held)
    logs.configure(log_format(settings, args), secrets=settings_secrets(settings))
    logs.replay(held.records)
    try:
        code: int = args.run(settings, args)
        return code
    except Exception as error:
        if database_unreachable(error):
            reason = str(error.__cause__ or error).splitlines()[0]
            database = mask_url(settings.database_url)
            print(f"error: cannot reach the database {database}: {reason}", file=sys.stderr)
            return 1
        # Logged, so scrubbed of secrets (a driver's message may quote the URL it was given),
        # rather than printed whole by Python.
        log.exception("handoff-desk %s failed: %r", args.command, error)
        return 1


if __name__ == "__main__":
    sys.exit(main())
