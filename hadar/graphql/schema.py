"""The schema: Query and Mutation, the hostile-query limits, the parse/validation caches, and
the SDL export that `schema/schema.graphql` is generated from (a test fails when it drifts)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import strawberry
from graphql import ASTValidationRule, GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    MaxTokensLimiter,
    ParserCache,
    ValidationCache,
)
from strawberry.extensions.max_aliases import create_validator as aliases_rule
from strawberry.extensions.query_depth_limiter import create_validator as depth_rule
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from hadar.graphql.errors import log_unexpected
from hadar.graphql.execution import FastPathExecutionContext
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


# The depth and alias rules (what QueryDepthLimiter and MaxAliasesLimiter install) are built
# once: ValidationCache keys on the rule classes, and those limiters mint new classes per
# instance, which would make every request a cache miss.
LIMIT_RULES: list[type[ASTValidationRule]] = [
    depth_rule(MAX_DEPTH, None, None),
    aliases_rule(MAX_ALIASES),
]


def _extensions() -> list[Any]:
    # Factories, so no extension instance is shared between concurrent requests.
    return [
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        lambda: ParserCache(maxsize=256),
        lambda: AddValidationRules(LIMIT_RULES),
        lambda: ValidationCache(maxsize=256),
    ]


def build_schema() -> HadarSchema:
    return HadarSchema(
        query=Query,
        mutation=Mutation,
        types=[Lead, ApiKey],
        extensions=_extensions(),
        config=StrawberryConfig(scalar_map=SCALARS),
        execution_context_class=FastPathExecutionContext,
    )


schema = build_schema()


def export_sdl() -> str:
    """The schema in SDL, as committed in schema/schema.graphql."""
    return schema.as_str() + "\n"


def write_sdl(path: Path = SDL_PATH) -> None:
    path.write_text(export_sdl(), encoding="utf-8")


if __name__ == "__main__":
    write_sdl()
