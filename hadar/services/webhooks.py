"""Webhook endpoints (admin only): register, filter events, rotate secrets; inspect and retry
deliveries. Delivery itself is `hadar.webhooks.worker`'s job."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

import pydantic

from hadar import clock, secretbox
from hadar.domain.scope import Operation, Scope
from hadar.domain.webhooks import (
    ALL_EVENTS,
    EVENT_TYPES,
    WEBHOOKS,
    Delivery,
    DeliveryAttempt,
    DeliveryStatus,
    WebhookEndpoint,
    secret_context,
)
from hadar.errors import Conflict, ValidationError
from hadar.ids import new_id
from hadar.pagination import Page
from hadar.services import audit
from hadar.services.listing import binding, get_in_scope, newest_first, scoped
from hadar.services.models import Out, Timestamp, deleted, id_of, list_of
from hadar.services.validation import PageQuery, Strict, parse
from hadar.webhooks import signing, urls

ROTATION_OVERLAP = timedelta(hours=24)
Url = Annotated[str, pydantic.Field(min_length=1, max_length=2048)]
Description = Annotated[str, pydantic.Field(max_length=500)]
EventList = Annotated[list[str], pydantic.Field(min_length=1, max_length=len(EVENT_TYPES) + 1)]


def _check_events(value: list[str] | None) -> list[str] | None:
    if value is None:
        return None
    for name in value:
        if name != ALL_EVENTS and name not in EVENT_TYPES:
            known = ", ".join(EVENT_TYPES)
            raise ValueError(f"has unknown event {name!r}; use '*' or one of {known}")
    return list(dict.fromkeys(value))


class WebhookCreate(Strict):
    url: Url
    events: EventList
    description: Description | None = None
    enabled: bool = True

    _events = pydantic.field_validator("events")(_check_events)


class WebhookUpdate(Strict):
    url: Url | None = None
    events: EventList | None = None
    description: Description | None = None
    enabled: bool | None = None

    _events = pydantic.field_validator("events")(_check_events)


CREATE = Operation("webhooks.create", WEBHOOKS, mutation=True, shown_once=("secret",))
LIST = Operation("webhooks.list", WEBHOOKS)
RETRIEVE = Operation("webhooks.retrieve", WEBHOOKS)
UPDATE = Operation("webhooks.update", WEBHOOKS, mutation=True)
DELETE = Operation("webhooks.delete", WEBHOOKS, mutation=True)
ROTATE_SECRET = Operation("webhooks.rotate_secret", WEBHOOKS, mutation=True, shown_once=("secret",))
LIST_DELIVERIES = Operation("webhooks.deliveries", WEBHOOKS)
RETRY_DELIVERY = Operation("webhooks.retry_delivery", WEBHOOKS, mutation=True)

EventType = Literal[EVENT_TYPES]  # type: ignore[valid-type]
Subscription = Literal[(ALL_EVENTS, *EVENT_TYPES)]  # type: ignore[valid-type]
DeliveryStatusName = Literal[tuple(s.value for s in DeliveryStatus)]  # type: ignore[valid-type]


class WebhookEndpointOut(Out):
    """Where Hadar POSTs signed events; the secret is shown on create and rotation only."""

    id: id_of("whk")  # type: ignore[valid-type]
    object: Literal["webhook_endpoint"]
    url: str
    events: list[Subscription] = pydantic.Field(description="`*` subscribes to every event")
    description: str | None
    enabled: bool
    previous_secret_expires_at: Timestamp | None = pydantic.Field(
        description="while set, the pre-rotation secret signs too (a second `v1=`)"
    )
    created_at: Timestamp
    updated_at: Timestamp


class WebhookEndpointWithSecretOut(WebhookEndpointOut):
    """An endpoint with its signing secret: shown once (null on an idempotent replay)."""

    secret: Annotated[str, pydantic.Field(pattern="^whsec_")] | None


class DeliveryAttemptOut(Out):
    attempted_at: Timestamp
    status_code: int | None = pydantic.Field(description="null when no response came back")
    duration_ms: int = pydantic.Field(ge=0)
    error: str | None
    response_excerpt: str | None


class WebhookDeliveryOut(Out):
    """One event sent to one endpoint, with its attempts (same id on every retry)."""

    id: id_of("dlv")  # type: ignore[valid-type]
    object: Literal["webhook_delivery"]
    webhook_id: id_of("whk")  # type: ignore[valid-type]
    event_id: id_of("evt")  # type: ignore[valid-type]
    event_type: EventType
    status: DeliveryStatusName  # type: ignore[valid-type]
    attempt_count: int = pydantic.Field(ge=0)
    next_attempt_at: Timestamp | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: Timestamp | None
    created_at: Timestamp
    attempts: list[DeliveryAttemptOut]


WebhookEndpointListOut = list_of(WebhookEndpointOut)
WebhookDeliveryListOut = list_of(WebhookDeliveryOut)
WebhookEndpointDeletedOut = deleted("whk", "webhook_endpoint")


async def _check_url(scope: Scope, url: str, allow_private: bool) -> None:
    try:
        await urls.resolve_target(url, environment=scope.environment, allow_private=allow_private)
    except urls.UnsafeUrl as err:
        raise ValidationError(f"webhook.url {err}", field="webhook.url") from None


def _seal(endpoint_id: str, column: str, plaintext: str) -> str:
    return secretbox.seal(plaintext, context=secret_context(endpoint_id, column))


def _unseal(endpoint: WebhookEndpoint, column: str) -> str | None:
    sealed = getattr(endpoint, column)
    if sealed is None:
        return None
    return secretbox.unseal(sealed, context=secret_context(endpoint.id, column))


def current_secret(endpoint: WebhookEndpoint) -> str:
    """The endpoint's current signing secret in plain text (stored sealed)."""
    secret = _unseal(endpoint, "secret")
    assert secret is not None, "secret is NOT NULL"
    return secret


async def create_endpoint(*, scope: Scope, data: Any, allow_private: bool) -> WebhookEndpoint:
    """Register an endpoint; live ones must be https, and no URL may reach a private address."""
    scope.require_write(WEBHOOKS)
    spec = parse(WebhookCreate, data, root="webhook")
    await _check_url(scope, spec.url, allow_private)
    at = clock.now()
    endpoint_id = new_id("whk", at)
    endpoint = await WebhookEndpoint.create(
        id=endpoint_id,
        tenant_id=scope.tenant_id,
        environment=scope.environment,
        url=spec.url,
        description=spec.description,
        events=spec.events,
        enabled=spec.enabled,
        secret=_seal(endpoint_id, "secret", signing.new_secret()),
        created_at=at,
        updated_at=at,
    )
    await audit.record(scope=scope, action="webhook_endpoint.created", object_id=endpoint.id)
    return endpoint


async def get_endpoint(*, scope: Scope, endpoint_id: str) -> WebhookEndpoint:
    """The endpoint with `endpoint_id` in the caller's tenant and environment, else NotFound."""
    scope.require_read(WEBHOOKS)
    return await get_in_scope(
        WebhookEndpoint, scope=scope, prefix="whk", object_id=endpoint_id, noun="webhook"
    )


async def list_endpoints(
    *, scope: Scope, limit: int | None = None, cursor: str | None = None
) -> Page[WebhookEndpoint]:
    """The tenant's endpoints in the caller's environment, newest first."""
    scope.require_read(WEBHOOKS)
    spec = parse(PageQuery, {"limit": limit, "cursor": cursor}, root="")
    return await newest_first(
        scoped(WebhookEndpoint, scope),
        binding=binding(scope, "webhooks"),
        limit=spec.limit,
        cursor=spec.cursor,
    )


async def update_endpoint(
    *, scope: Scope, endpoint_id: str, data: Any, allow_private: bool
) -> WebhookEndpoint:
    """Change url, events, description or enabled; a new URL is checked like a new endpoint."""
    scope.require_write(WEBHOOKS)
    spec = parse(WebhookUpdate, data, root="webhook")
    endpoint = await get_endpoint(scope=scope, endpoint_id=endpoint_id)
    given = spec.model_fields_set
    for name in ("url", "events", "enabled"):
        if name in given and getattr(spec, name) is None:
            raise ValidationError(f"webhook.{name} may not be null", field=f"webhook.{name}")
    if spec.url is not None and spec.url != endpoint.url:
        await _check_url(scope, spec.url, allow_private)
    for name in ("url", "events", "description", "enabled"):
        if name in given:
            setattr(endpoint, name, getattr(spec, name))
    endpoint.updated_at = clock.now()
    await endpoint.save()
    await audit.record(scope=scope, action="webhook_endpoint.updated", object_id=endpoint.id)
    return endpoint


async def delete_endpoint(*, scope: Scope, endpoint_id: str) -> str:
    """Delete the endpoint and its pending and past deliveries; returns its id."""
    scope.require_write(WEBHOOKS)
    endpoint = await get_endpoint(scope=scope, endpoint_id=endpoint_id)
    await endpoint.delete()
    await audit.record(scope=scope, action="webhook_endpoint.deleted", object_id=endpoint_id)
    return endpoint_id


async def rotate_secret(*, scope: Scope, endpoint_id: str) -> WebhookEndpoint:
    """A new secret; the current one keeps signing beside it for 24 hours."""
    scope.require_write(WEBHOOKS)
    endpoint = await get_endpoint(scope=scope, endpoint_id=endpoint_id)
    at = clock.now()
    endpoint.previous_secret = _seal(endpoint.id, "previous_secret", current_secret(endpoint))
    endpoint.previous_secret_expires_at = at + ROTATION_OVERLAP
    endpoint.secret = _seal(endpoint.id, "secret", signing.new_secret())
    endpoint.updated_at = at
    await endpoint.save()
    await audit.record(scope=scope, action="webhook_endpoint.secret_rotated", object_id=endpoint.id)
    return endpoint


def signing_secrets(endpoint: WebhookEndpoint) -> list[str]:
    """The secrets that sign now, unsealed: the previous one while its overlap lasts, then the
    current one. secretbox.UnsealError when a stored secret does not open."""
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret and expires is not None and expires > clock.now():
        previous = _unseal(endpoint, "previous_secret")
        assert previous is not None
        return [previous, current_secret(endpoint)]
    return [current_secret(endpoint)]


async def list_deliveries(
    *, scope: Scope, endpoint_id: str, limit: int | None = None, cursor: str | None = None
) -> tuple[Page[Delivery], dict[str, list[DeliveryAttempt]]]:
    """The endpoint's deliveries, newest first, with every attempt of each (oldest first)."""
    endpoint = await get_endpoint(scope=scope, endpoint_id=endpoint_id)
    spec = parse(PageQuery, {"limit": limit, "cursor": cursor}, root="")
    query = Delivery.filter(endpoint_id=endpoint.id).select_related("event")
    bound = binding(scope, "webhook_deliveries", {"endpoint": endpoint.id})
    page = await newest_first(query, binding=bound, limit=spec.limit, cursor=spec.cursor)
    attempts: dict[str, list[DeliveryAttempt]] = {d.id: [] for d in page.items}
    if attempts:
        found = await DeliveryAttempt.filter(delivery_id__in=list(attempts)).order_by("id")
        for attempt in found:
            attempts[attempt.delivery_id].append(attempt)
    return page, attempts


async def retry_delivery(*, scope: Scope, delivery_id: str) -> Delivery:
    """Schedule the delivery again now with a fresh retry schedule; refused while in flight."""
    scope.require_write(WEBHOOKS)
    delivery = await get_in_scope(
        Delivery, scope=scope, prefix="dlv", object_id=delivery_id, noun="webhook_delivery"
    )
    await delivery.fetch_related("event")
    at = clock.now()
    if delivery.lease_until is not None and delivery.lease_until > at:
        raise Conflict(f"webhook_delivery {delivery_id} is being attempted right now; retry later")
    delivery.status = DeliveryStatus.PENDING.value
    delivery.failures = 0
    delivery.next_attempt_at = at
    delivery.lease_until = None
    delivery.claimed_by = None
    delivery.updated_at = at
    await delivery.save()
    await audit.record(scope=scope, action="webhook_delivery.retried", object_id=delivery.id)
    return delivery


def present_endpoint(endpoint: WebhookEndpoint, *, show_secret: bool = False) -> dict[str, Any]:
    """The public shape of an endpoint; the secret only on create and rotation."""
    expires = endpoint.previous_secret_expires_at
    out: dict[str, Any] = {
        "id": endpoint.id,
        "object": "webhook_endpoint",
        "url": endpoint.url,
        "events": endpoint.events,
        "description": endpoint.description,
        "enabled": endpoint.enabled,
        "previous_secret_expires_at": (
            clock.isoformat(expires) if expires is not None and expires > clock.now() else None
        ),
        "created_at": clock.isoformat(endpoint.created_at),
        "updated_at": clock.isoformat(endpoint.updated_at),
    }
    if show_secret:
        out["secret"] = current_secret(endpoint)
    return out


def present_attempt(attempt: DeliveryAttempt) -> dict[str, Any]:
    return {
        "attempted_at": clock.isoformat(attempt.attempted_at),
        "status_code": attempt.status_code,
        "duration_ms": attempt.duration_ms,
        "error": attempt.error,
        "response_excerpt": attempt.response_excerpt,
    }


def present_delivery(
    delivery: Delivery, attempts: list[DeliveryAttempt] | None = None
) -> dict[str, Any]:
    """The public shape of a delivery, with its attempts when given."""
    pending = delivery.status == DeliveryStatus.PENDING.value
    return {
        "id": delivery.id,
        "object": "webhook_delivery",
        "webhook_id": delivery.endpoint_id,
        "event_id": delivery.event_id,
        "event_type": delivery.event.type,
        "status": delivery.status,
        "attempt_count": delivery.attempt_count,
        "next_attempt_at": clock.isoformat(delivery.next_attempt_at) if pending else None,
        "last_status_code": delivery.last_status_code,
        "last_error": delivery.last_error,
        "delivered_at": clock.isoformat(delivery.delivered_at) if delivery.delivered_at else None,
        "created_at": clock.isoformat(delivery.created_at),
        "attempts": [present_attempt(a) for a in attempts or []],
    }
