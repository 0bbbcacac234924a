"""The schema: Query and Mutation, the hostile-query limits, the parse/validation caches, and
the SDL export that `schema/schema.graphql` is generated from (a test fails when it drifts)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from hadar.graphql.errors import log_unexpected
from hadar.graphql.limits import MAX_ALIASES, MAX_DEPTH, MAX_TOKENS
from hadar.graphql.mutations import Mutation
from hadar.graphql.queries import Query
from hadar.graphql.scalars import SCALARS
from hadar.graphql.types import ApiKey, Lead

SDL_PATH = Path(__file__).resolve().parents[2] / "schema" / "schema.graphql"


class HadarSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        log_unexpected(errors)


def _extensions() -> list[Any]:
    # Factories, so no extension instance is shared between concurrent requests.
    return [
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        lambda: ParserCache(maxsize=256),
        QueryDepthLimiter(max_depth=MAX_DEPTH),
        MaxAliasesLimiter(max_alias_count=MAX_ALIASES),
        lambda: ValidationCache(maxsize=256),
    ]


def build_schema() -> HadarSchema:
    return HadarSchema(
        query=Query,
        mutation=Mutation,
        types=[Lead, ApiKey],
        extensions=_extensions(),
        config=StrawberryConfig(scalar_map=SCALARS),
    )


schema = build_schema()


def export_sdl() -> str:
    """The schema in SDL, as committed in schema/schema.graphql."""
    return schema.as_str() + "\n"


def write_sdl(path: Path = SDL_PATH) -> None:
    path.write_text(export_sdl(), encoding="utf-8")


if __name__ == "__main__":
    write_sdl()
