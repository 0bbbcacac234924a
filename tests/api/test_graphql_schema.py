"""schema/schema.graphql is generated from the code; this fails when the two drift apart.
Regenerate with `.venv/bin/python -m hadar.graphql.schema`. (That every REST operation has a
GraphQL twin is tests/api/test_operation_parity.py's, derived from the route table.)"""

from __future__ import annotations

from hadar.graphql.schema import SDL_PATH, export_sdl


def test_committed_sdl_matches_the_code() -> None:
    committed = SDL_PATH.read_text(encoding="utf-8")
    assert committed == export_sdl(), (
        "schema/schema.graphql is stale: run `.venv/bin/python -m hadar.graphql.schema`"
    )
