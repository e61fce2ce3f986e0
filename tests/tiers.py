"""Test tiers: a test's folder says its tier, and what the test uses must fit it.

- tests/unit/:     no database, app, network or process
- tests/api/:      the app, a database or a loopback server in this process; each database test
                   runs on SQLite (tier `api`) and on PostgreSQL (tier `postgres`)
- tests/postgres/: behaviours only PostgreSQL has (tier `postgres`)
- tests/system/:   real `serve`/`worker` processes, private clusters, Redis, Chromium, fuzz,
                   the import contract and mypy (tier `system`)

tests/conftest.py marks every test with its tier, so `pytest -m <tier>` runs one layer and the
four make the whole suite; a test whose use (its fixtures, and the names its code and the code of
its fixtures and of the helpers in tests/ they call read) reaches past its folder's tier fails
to collect, naming the folder it belongs in.
"""

from __future__ import annotations

import inspect
import types

import pytest

TIERS = ("unit", "api", "postgres", "system")
# What puts a test in a tier (the first tier it reaches, from `system` down): fixtures it
# requests, and names its code reads (attributes too, so a name that is also a common method name,
# such as `serve`, is only looked for among the fixtures). A test that starts a process in its
# own body (`subprocess`, `ServerProcess`) is found through the names.
_SYSTEM_FIXTURES = frozenset({"serve", "private_postgres_cluster", "private_redis"})
_SYSTEM_NAMES = frozenset(
    {
        "ServerProcess",
        "subprocess",
        "PrivatePostgres",
        "PrivateRedis",
        "REDIS_URL",
        "require_redis",
        "async_playwright",  # Chromium
    }
)
_POSTGRES = frozenset({"postgres_database", "POSTGRES_URL", "require_postgres"})
# A database, the app, or a server on loopback in this process (the fake LLM, SMTP, uvicorn).
_IN_PROCESS = frozenset(
    {
        "database_url",
        "module_database_url",
        "create_app",
        "create_engine",
        "Database",
        "upgrade",
        "_migrate",
        "free_port",
        "FakeChatCompletions",
    }
)


_RANK = {name: n for n, name in enumerate(TIERS)}
_FOLDERS = {"unit": "unit", "api": "api", "postgres": "postgres", "system": "system"}


def folder_tier(item: pytest.Item) -> str:
    """The tier the test's folder gives it (the PostgreSQL runs of tests/api/ are `postgres`)."""
    folder = _FOLDERS.get(item.path.parent.name)
    if folder is None:
        raise pytest.UsageError(
            f"{item.nodeid}: a test lives in tests/unit, api, postgres or system"
        )
    callspec = getattr(item, "callspec", None)
    if folder == "api" and callspec is not None and "postgresql" in callspec.params.values():
        return "postgres"
    return folder


def misplaced(item: pytest.Item) -> str | None:
    """Why the test does not fit its folder, or None."""
    used, folder = tier(item), item.path.parent.name
    allowed = {"unit": {"unit"}, "api": {"unit", "api", "postgres"}, "postgres": set(TIERS[:3])}
    if folder in allowed and used not in allowed[folder]:
        return f"{item.nodeid} uses what the {used} tier does: it belongs in tests/{used}/"
    return None


def tier(item: pytest.Item) -> str:
    fixtures = set(getattr(item, "fixturenames", ()))
    used = fixtures | _names_used_by(item)
    callspec = getattr(item, "callspec", None)
    if fixtures & _SYSTEM_FIXTURES or used & _SYSTEM_NAMES:
        return "system"
    params = callspec.params if callspec is not None else {}
    on_postgres = "postgresql" in (params.get("database_url"), params.get("module_database_url"))
    if on_postgres or used & _POSTGRES:
        return "postgres"
    if used & _IN_PROCESS:
        return "api"
    return "unit"


def _names_used_by(item: pytest.Item) -> set[str]:
    functions = [_unwrapped(getattr(item, "obj", None))]
    fixturedefs = getattr(getattr(item, "_fixtureinfo", None), "name2fixturedefs", {})
    functions += [d.func for defs in fixturedefs.values() for d in defs]
    names: set[str] = set()
    for function in functions:
        if function is not None:
            names |= _reach(function)
    return names


def _unwrapped(function):
    inner = getattr(getattr(function, "hypothesis", None), "inner_test", None)  # @given
    return inspect.unwrap(inner or function) if function is not None else None


_reached: dict[object, frozenset[str]] = {}


def _reach(root) -> frozenset[str]:
    """The names read by `root`'s code, by the code nested in it, and by the functions and classes
    of tests/ it names, followed as far as they go."""
    if root in _reached:
        return _reached[root]
    names: set[str] = set()
    seen: set[int] = set()
    todo = [root]
    while todo:
        thing = todo.pop()
        if id(thing) in seen:
            continue
        seen.add(id(thing))
        if isinstance(thing, type):
            todo += [v for v in vars(thing).values() if inspect.isfunction(v)]
            todo += [base for base in thing.__bases__ if _ours(base)]
            continue
        function = inspect.unwrap(getattr(thing, "__func__", thing))
        code = getattr(function, "__code__", None)
        if code is None:
            continue
        namespace = getattr(function, "__globals__", {})
        codes = [code]
        while codes:
            current = codes.pop()
            names.update(current.co_names)
            codes += [c for c in current.co_consts if isinstance(c, types.CodeType)]
            todo += [
                namespace[n] for n in current.co_names if n in namespace and _ours(namespace[n])
            ]
    _reached[root] = frozenset(names)
    return _reached[root]


def _ours(thing) -> bool:
    """A function or class of the test suite's own modules (not the project's, not libraries)."""
    module = getattr(thing, "__module__", None) or ""
    ours = module == "conftest" or module.startswith("tests")
    return ours and (inspect.isfunction(thing) or isinstance(thing, type))
