"""Persistence: models, engine and session factory, migrations, and the statements that need care."""
