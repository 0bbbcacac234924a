"""Sentry, when HADAR_SENTRY_DSN is set: every internal_error (tagged with its trace id, so the
event and the logs are one search apart) and every provider circuit-breaker opening.

Nothing personal leaves: no default PII, no local variables, request bodies never read, and
`before_send` keeps only the request's method and path, drops the user, then runs the same
redaction net as the logs over the whole event. Without a DSN the SDK is never initialised: no
integration patched, no thread started, every report a no-op.
"""

from __future__ import annotations

import logging
from typing import Any

import sentry_sdk
from sentry_sdk.integrations.atexit import AtexitIntegration
from sentry_sdk.integrations.dedupe import DedupeIntegration
from sentry_sdk.integrations.excepthook import ExcepthookIntegration
from sentry_sdk.integrations.starlette import StarletteIntegration

from hadar.observability.context import current_caller
from hadar.observability.redaction import scrub, scrub_value

log = logging.getLogger("hadar.sentry")
_dsn: str | None = None


def before_send(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
    """The event without request data or user, every remaining string scrubbed."""
    request = event.pop("request", None)
    if isinstance(request, dict):
        kept: dict[str, Any] = {}
        if isinstance(request.get("method"), str):
            kept["method"] = request["method"]
        if isinstance(request.get("url"), str):  # path only: the query string is dropped
            kept["url"] = scrub(request["url"].split("?", 1)[0])
        event["request"] = kept
    event.pop("user", None)
    meta = event.get("_meta")
    if isinstance(meta, dict):  # annotations about the request fields dropped above
        meta.pop("request", None)
        meta.pop("user", None)
    for value in (event.get("exception") or {}).get("values") or ():
        for frame in (value.get("stacktrace") or {}).get("frames") or ():
            frame.pop("vars", None)
    cleaned: dict[str, Any] = scrub_value(event)
    return cleaned


def _before_breadcrumb(crumb: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
    cleaned: dict[str, Any] = scrub_value(crumb)
    return cleaned


def configure_sentry(dsn: str | None) -> bool:
    """Initialise Sentry once per process for `dsn`; False (and nothing done) without one.
    Call it before the routes are built: the Starlette integration wraps them as they are."""
    global _dsn
    if not dsn:
        return False
    if _dsn == dsn and sentry_sdk.get_client().is_active():
        return True
    sentry_sdk.init(
        dsn=dsn,
        # No PII by default: sentry-sdk 2.7x deprecates `send_default_pii=False` (warning) and is
        # off unless asked; leaving it unset also keeps its own EventScrubber on.
        include_local_variables=False,
        max_request_body_size="never",
        # Only what we chose: no logging events (internal errors are captured explicitly, with
        # their trace id), no httpx/redis breadcrumbs carrying URLs or keys.
        default_integrations=False,
        auto_enabling_integrations=False,
        integrations=[
            StarletteIntegration(transaction_style="url"),
            DedupeIntegration(),
            AtexitIntegration(),
            ExcepthookIntegration(),
        ],
        auto_session_tracking=False,
        before_send=before_send,  # type: ignore[arg-type]
        before_breadcrumb=_before_breadcrumb,  # type: ignore[arg-type]
    )
    _dsn = dsn
    log.info("Sentry reporting on")
    return True


def shutdown_sentry(timeout: float = 2.0) -> None:
    """Flush what is queued and detach the client (tests, and a clean process exit)."""
    global _dsn
    client = sentry_sdk.get_client()
    if client.is_active():
        client.close(timeout=timeout)
    sentry_sdk.get_global_scope().set_client(None)
    _dsn = None


def flush(timeout: float = 2.0) -> None:
    sentry_sdk.get_client().flush(timeout=timeout)


def _tag_caller(scope: sentry_sdk.Scope) -> None:
    caller = current_caller()
    if caller is not None and caller.tenant_id:
        scope.set_tag("tenant", caller.tenant_id)
        if caller.key_id:
            scope.set_tag("key_id", caller.key_id)


def report_internal(exc: BaseException, trace_id: str | None) -> None:
    """Report an unexpected exception (answered as internal_error) with its trace id tag."""
    if _dsn is None:
        return
    with sentry_sdk.new_scope() as scope:
        scope.set_tag("trace_id", trace_id or "-")
        scope.set_tag("error_code", "internal_error")
        _tag_caller(scope)
        sentry_sdk.capture_exception(exc)


def report_breaker_open(tenant: str, provider: str) -> None:
    """Report that `provider`'s circuit breaker opened for `tenant` (sends answer 503 now)."""
    if _dsn is None:
        return
    with sentry_sdk.new_scope() as scope:
        scope.set_tag("tenant", tenant)
        scope.set_tag("provider", provider)
        scope.set_tag("error_code", "service_unavailable")
        scope.fingerprint = ["provider-breaker-open", provider]
        sentry_sdk.capture_message(
            f"{provider} circuit breaker opened for tenant {tenant}", level="error"
        )
