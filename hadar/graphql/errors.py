"""The GraphQL translator of HadarError: the documented code, field and trace id go in
`extensions`; anything that is not a HadarError is logged and shown only as internal_error.

Errors of the request as a whole (401, 429, 503, an idempotency conflict) answer with their
HTTP status and a GraphQL body whose `data` is null; errors of the document (parse, limits,
validation, variables) and of fields answer 200.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from graphql import GraphQLError

from hadar import observability  # observability
from hadar.errors import HadarError, ValidationError
from hadar.platform.tracing import current_trace_id

log = logging.getLogger("hadar.graphql")


class DocumentError(ValidationError):
    """The document (or its variables) cannot run: answered as a GraphQL error with 200."""


def extensions(code: str, field: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {"code": code}
    if field is not None:
        out["field"] = field
    out["trace_id"] = current_trace_id()
    return out


def hadar_error_of(error: GraphQLError) -> HadarError:
    """The HadarError behind a GraphQL error. An error without a path arose before execution
    (parse, validation, variable coercion): validation_error with graphql-core's message.
    A resolver's HadarError is itself; anything else a resolver raised is internal."""
    original = error.original_error
    if isinstance(original, HadarError):
        return original
    if not error.path:
        return DocumentError(error.message)
    return HadarError()


def format_error(error: GraphQLError) -> dict[str, Any]:
    err = hadar_error_of(error)
    out: dict[str, Any] = {"message": err.message}
    if error.locations:
        out["locations"] = [{"line": loc.line, "column": loc.column} for loc in error.locations]
    if error.path:
        out["path"] = error.path
    out["extensions"] = extensions(err.code, err.field)
    return out


def log_unexpected(errors: list[GraphQLError]) -> None:
    """Log, with traceback, the errors that are bugs (a resolver raised something that is not
    ours). Errors before execution echo the caller's variables, personal data included: they
    are answers, never logged."""
    for error in errors:
        original = error.original_error
        if error.path and original is not None and not isinstance(original, HadarError):
            log.error(
                "unhandled error in %s (trace_id=%s)",
                ".".join(str(p) for p in error.path),
                current_trace_id(),
                exc_info=original,
            )
            observability.report_internal(original, current_trace_id())  # observability


def request_error_body(err: HadarError) -> bytes:
    """The body of a request-level failure: no data, one error."""
    error = {"message": err.message, "extensions": extensions(err.code, err.field)}
    return orjson.dumps({"data": None, "errors": [error]})
