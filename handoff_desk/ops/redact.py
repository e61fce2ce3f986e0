"""Secrets kept out of what the desk prints: a URL is shown with its password masked, and each
log line is scrubbed of the secrets the settings hold, for the lines nobody thought of (a
driver's error message, a traceback that quotes a URL).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit, urlunsplit

if TYPE_CHECKING:
    from handoff_desk.settings import Settings

MASK = "***"

# A shorter secret would be scrubbed out of ordinary words in every line; such a password is a
# problem of its own, and the URLs the desk prints are masked where they are printed anyway.
_SHORTEST = 4


def mask_url(url: str) -> str:
    """The URL with its password (if any) replaced by ***: postgresql://, redis://, smtp://..."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:  # not a URL one can take apart: nothing of it is shown
        return f"<unparseable URL, {len(url)} characters>"
    if password is None:
        return url
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user = userinfo.split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}:{MASK}@{hostport}"))


def url_password(url: str) -> str | None:
    try:
        return urlsplit(url).password
    except ValueError:
        return None


def settings_secrets(settings: Settings) -> tuple[str, ...]:
    """What the settings hold that no log line may show: the passwords of their URLs (as
    written and decoded), the token secret, the assessor's API key."""
    found = [settings.token_secret, settings.openai_api_key]
    for url in (settings.database_url, settings.broadcast_url, settings.smtp_url):
        password = url_password(url)
        if password:
            found += [password, unquote(password)]
    return tuple(found)


class Redactor:
    """Replaces each secret, as written and as JSON would escape it, with ***."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        forms: set[str] = set()
        for secret in secrets:
            if secret and len(secret) >= _SHORTEST:
                forms |= {secret, json.dumps(secret, ensure_ascii=False)[1:-1]}
        # Longest first: a secret that contains another is replaced whole.
        self._forms = sorted(forms, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for form in self._forms:
            if form in text:
                text = text.replace(form, MASK)
        return text
