"""Secrets an operator hands the desk stay secret: no command that signs tokens starts without a
strong token secret (only the demo makes its own, once per database), and no password of a URL
or query string reaches the output or the logs."""

from __future__ import annotations

HOW_TO_MAKE = "python3 -c 'import secrets; print(secrets.token_urlsafe(48))'"


PASSWORD = "s3cret-pw"
