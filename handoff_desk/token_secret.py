"""The secret that signs bearer tokens: judged before any command that signs or verifies one
starts, or (for `serve --demo` only) made once per database and kept beside it.

Anyone who knows the secret can sign a token for any user of any account, so a guessable one
is refused outright rather than warned about.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import os
import re
import secrets
import string
from collections.abc import Mapping
from pathlib import Path

from sqlalchemy import make_url
from sqlalchemy.exc import ArgumentError

from handoff_desk.settings import SettingsError

HOW_TO_MAKE = "python3 -c 'import secrets; print(secrets.token_urlsafe(48))'"

# 32 random bytes carry 256 bits. The estimate below counts a few bits less than that on real
# random values now and then (a chance run such as "abcd" or "7777" is counted as predictable),
# so the bar sits 24 bits lower: over 200,000 values each of `secrets.token_urlsafe(32)`,
# `secrets.token_hex(32)` (= `openssl rand -hex 32`) and `openssl rand -base64 32`, the lowest
# estimates were 240, 244 and 258 bits (tests/unit/test_secrets.py checks a sample of each). A
# repeated character, a sequence, a phrase or anything under about 29 random bytes stays below.
MINIMUM_BITS = 232

# Words that mark a value as typed from documentation rather than generated. Matched anywhere,
# ignoring case; each has at least six characters, so a random value holds one by chance less
# than once in a million (64 base64 characters: 60 places * 13 words * (1/32)**6 = 7e-7).
PLACEHOLDER_WORDS = (
    "change",
    "secret",
    "example",
    "placeholder",
    "insecure",
    "password",
    "passw0rd",
    "default",
    "replace",
    "production",
    "sample",
    "handoff",
    "desk-token",
)

# The smallest of these that holds every character of the value is the alphabet it was drawn
# from, at best. Hex is checked in either case, never mixed (a mixed-case value is base64).
_ALPHABETS = (
    (frozenset(string.digits), 10),
    (frozenset(string.digits + "abcdef"), 16),
    (frozenset(string.digits + "ABCDEF"), 16),
    (frozenset(string.ascii_lowercase + string.digits), 36),
    # base64 and base64url; without "-_+/=" too, as 32 random bytes often are in 43 characters
    (frozenset(string.ascii_letters + string.digits + "-_+/="), 64),
)
_PRINTABLE = 94  # any other character: printable ASCII without the space, at best

# Words, as people type them ("change-me-now", "My_Desk_Key", any value with a space, which no
# encoding of random bytes has): English text carries about 1 to 2 bits a character (Shannon),
# not the 6 its alphabet would allow.
_SEPARATORS = re.compile(r"[-_. ]+")
_WORD = re.compile(r"[A-Za-z][a-z]*|[0-9]{1,4}")
_WORD_BITS = 2.0


def estimated_bits(secret: str) -> float:
    """An upper estimate of the entropy of a value, generous to random ones, in bits.

    Each character that is not predictable from the ones before it counts log2(alphabet):
    predictable is the fourth and later character of a run or a sequence ("aaaa", "abcd",
    "4321") and any character that completes five characters seen before (a repeated phrase). The
    alphabet is the smallest common one that holds the value, and no more than four times the
    number of distinct characters used: a random value from an alphabet of N shows many of
    its characters, while "abab...", "0101..." or any other tiny alphabet shows few.
    """
    if not secret:
        return 0.0
    steps = [ord(b) - ord(a) for a, b in itertools.pairwise(secret)]
    fresh = min(len(secret), 3)
    for i in range(3, len(secret)):
        step = steps[i - 1]
        if -1 <= step <= 1 and step == steps[i - 2] == steps[i - 3]:
            continue  # a run or a sequence, four long or more
        if i >= 4 and secret.find(secret[i - 4 : i + 1], 0, i) != -1:
            continue  # five characters seen before
        fresh += 1
    pieces = [p for p in _SEPARATORS.split(secret) if p]
    if " " in secret or (len(pieces) >= 3 and all(_WORD.fullmatch(p) for p in pieces)):
        return fresh * _WORD_BITS
    used = set(secret)
    alphabet = next((size for chars, size in _ALPHABETS if used <= chars), _PRINTABLE)
    return fresh * math.log2(min(alphabet, 4 * len(used)))


def weakness(secret: str) -> str | None:
    """Why `secret` is unfit to sign tokens, or None when it is fit."""
    if not secret:
        return "is not set"
    lowered = secret.lower()
    for word in PLACEHOLDER_WORDS:
        if word in lowered:
            return f"looks like a placeholder (it contains {word!r})"
    bits = estimated_bits(secret)
    if bits < MINIMUM_BITS:
        return f"is too weak (about {bits:.0f} bits; 32 random bytes carry 256)"
    return None


def require_strong(secret: str) -> None:
    """Raises SettingsError, one line that says how to make a good secret, unless it is fit."""
    problem = weakness(secret)
    if problem is not None:
        raise SettingsError(f"HANDOFF_TOKEN_SECRET {problem}; make one with: {HOW_TO_MAKE}")


def demo_secret_path(database_url: str, environ: Mapping[str, str] | None = None) -> Path | None:
    """Where `serve --demo` keeps the secret it made for this database; None: nowhere (an
    in-memory database lives only as long as its process, and so may its secret).

    A SQLite file keeps it beside itself (`<file>.token-secret`). Any other database (PostgreSQL)
    keeps it under $XDG_STATE_HOME/handoff-desk (default ~/.local/state/handoff-desk), in a file
    named by a digest of the database's URL without its password.
    """
    try:
        url = make_url(database_url)
    except (ArgumentError, ValueError):
        raise SettingsError("HANDOFF_DATABASE_URL is not a database URL") from None
    if url.get_backend_name() == "sqlite":
        if not url.database or url.database == ":memory:" or url.database.startswith("file:"):
            return None
        return Path(url.database + ".token-secret")
    environ = os.environ if environ is None else environ
    state = environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    name = url.set(password=None, drivername=url.get_backend_name()).render_as_string()
    digest = hashlib.sha256(name.encode()).hexdigest()[:16]
    return Path(state) / "handoff-desk" / f"demo-token-secret-{digest}"


def demo_secret(database_url: str, environ: Mapping[str, str] | None = None) -> str:
    """The demo's secret for this database: read back, or made and kept (readable by its owner
    only) the first time, so tokens outlive a restart of the demo."""
    path = demo_secret_path(database_url, environ)
    if path is None:
        return secrets.token_urlsafe(48)
    try:
        return _kept_or_made(path)
    except OSError as error:
        raise SettingsError(
            f"cannot keep the demo's token secret in {path} ({error.strerror}); "
            f"set HANDOFF_TOKEN_SECRET instead, made with: {HOW_TO_MAKE}"
        ) from None


def _kept_or_made(path: Path) -> str:
    try:
        kept = path.read_text().strip()
    except FileNotFoundError:
        kept = ""
    if not weakness(kept):
        return kept
    if path.exists():
        raise SettingsError(f"{path} holds no usable token secret: delete it and start again")
    path.parent.mkdir(parents=True, exist_ok=True)
    made = secrets.token_urlsafe(48)
    draft = path.with_name(f"{path.name}.{os.getpid()}.draft")
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(made + "\n")
    try:
        # Linked whole or not at all: of two demos started at once on one database, the first
        # secret in place wins and the other process reads it.
        os.link(draft, path)
    except FileExistsError:
        return path.read_text().strip()
    finally:
        draft.unlink()
    return made
