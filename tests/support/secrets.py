"""Secrets an operator hands the desk stay secret: what its tests share (the whole story:
tests/api/test_secrets.py)."""

from __future__ import annotations

HOW_TO_MAKE = "python3 -c 'import secrets; print(secrets.token_urlsafe(48))'"


PASSWORD = "s3cret-pw"
