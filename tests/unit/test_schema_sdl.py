"""schema.graphql is what the server serves; regenerate it with `handoff-desk export-schema`."""

from pathlib import Path

from schema.schema import schema

SDL = Path(__file__).parents[2] / "schema.graphql"


def test_exported_sdl_matches_the_running_schema():
    assert SDL.read_text() == schema.as_str() + "\n", (
        "schema.graphql is stale: run `.venv/bin/handoff-desk export-schema`"
    )
