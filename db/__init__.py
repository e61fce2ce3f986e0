"""Persistence: models, engine and sessions, migrations, and the statements that need care."""
