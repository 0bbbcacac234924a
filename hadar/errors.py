"""The one error tree. Services raise these; exactly two translators (REST, GraphQL) render them.

HadarError                      500 internal_error
 +-- ValidationError            400 validation_error   (field: dotted path)
 |    +-- PayloadTooLarge       413 validation_error
 +-- Unauthorized               401 unauthorized
 +-- InvalidApiKey              401 invalid_api_key
 +-- Forbidden                  403 forbidden
 +-- NotFound                   404 not_found
 +-- Conflict                   409 conflict
 +-- OutsideWindow              422 outside_24h_window
 +-- DoNotContact               422 do_not_contact
 +-- RateLimited                429 rate_limited
 +-- ServiceUnavailable         503 service_unavailable
"""

from __future__ import annotations


class HadarError(Exception):
    code = "internal_error"
    status = 500
    default_message = "An internal error occurred; send the trace_id to support."
    # True when the operation already did something that must not be undone or repeated (a
    # provider was called: the failed message is kept and the error answer stored under the
    # Idempotency-Key, so a replay never sends twice). False: the transaction rolls back.
    keep_effects = False

    def __init__(
        self,
        message: str | None = None,
        *,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.message = message or self.default_message
        self.field = field
        self.headers = headers or {}
        super().__init__(self.message)


class ValidationError(HadarError):
    code = "validation_error"
    status = 400
    default_message = "The request is invalid."


class PayloadTooLarge(ValidationError):
    status = 413
    default_message = "The request body is too large."


class Unauthorized(HadarError):
    code = "unauthorized"
    status = 401
    default_message = "Missing or malformed Bearer token."


class InvalidApiKey(HadarError):
    code = "invalid_api_key"
    status = 401
    default_message = "The API key is unknown, revoked or expired."


class Forbidden(HadarError):
    code = "forbidden"
    status = 403
    default_message = "This key's role may not perform this action."


class NotFound(HadarError):
    code = "not_found"
    status = 404
    default_message = "The resource does not exist."


class Conflict(HadarError):
    code = "conflict"
    status = 409
    default_message = "The request conflicts with the current state."


class OutsideWindow(HadarError):
    code = "outside_24h_window"
    status = 422
    default_message = "Free-form messages may only be sent within 24 hours of the last inbound."


class DoNotContact(HadarError):
    code = "do_not_contact"
    status = 422
    default_message = "The lead has opted out of this channel."


class RateLimited(HadarError):
    code = "rate_limited"
    status = 429
    default_message = "Rate limit exceeded; honour Retry-After and back off."


class ServiceUnavailable(HadarError):
    code = "service_unavailable"
    status = 503
    default_message = "A dependency is unavailable; try again shortly."
