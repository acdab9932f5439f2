"""schema.graphql at the repository root is the running schema."""

from pathlib import Path

from spirit_tours.schema.build import sdl

SCHEMA_FILE = Path(__file__).parent.parent / "schema.graphql"


def test_schema_graphql_matches_the_running_schema() -> None:
    assert SCHEMA_FILE.read_text() == sdl(), "schema.graphql is stale: run `make schema`"
