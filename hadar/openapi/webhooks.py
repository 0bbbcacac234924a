"""Response models for webhook endpoints and deliveries, as `services.webhooks` presents them."""

from __future__ import annotations

from typing import Annotated, Literal

import pydantic

from hadar.domain.webhooks import ALL_EVENTS, EVENT_TYPES, DeliveryStatus
from hadar.openapi.resources import Out, Pagination, Timestamp, id_of

EventType = Literal[EVENT_TYPES]  # type: ignore[valid-type]
Subscription = Literal[(ALL_EVENTS, *EVENT_TYPES)]  # type: ignore[valid-type]
Status = Literal[tuple(s.value for s in DeliveryStatus)]  # type: ignore[valid-type]


class WebhookEndpoint(Out):
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


class WebhookEndpointWithSecret(WebhookEndpoint):
    secret: Annotated[str, pydantic.Field(pattern="^whsec_")]


class WebhookEndpointDeleted(Out):
    id: id_of("whk")  # type: ignore[valid-type]
    object: Literal["webhook_endpoint"]
    deleted: Literal[True]


class DeliveryAttempt(Out):
    attempted_at: Timestamp
    status_code: int | None = pydantic.Field(description="null when no response came back")
    duration_ms: int = pydantic.Field(ge=0)
    error: str | None
    response_excerpt: str | None


class WebhookDelivery(Out):
    """One event sent to one endpoint, with its attempts (same id on every retry)."""

    id: id_of("dlv")  # type: ignore[valid-type]
    object: Literal["webhook_delivery"]
    webhook_id: id_of("whk")  # type: ignore[valid-type]
    event_id: id_of("evt")  # type: ignore[valid-type]
    event_type: EventType
    status: Status  # type: ignore[valid-type]
    attempt_count: int = pydantic.Field(ge=0)
    next_attempt_at: Timestamp | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: Timestamp | None
    created_at: Timestamp
    attempts: list[DeliveryAttempt]


class WebhookEndpointList(Out):
    items: list[WebhookEndpoint]
    pagination: Pagination


class WebhookDeliveryList(Out):
    items: list[WebhookDelivery]
    pagination: Pagination


MODELS: tuple[type[pydantic.BaseModel], ...] = (
    WebhookEndpointWithSecret,
    WebhookEndpointDeleted,
    WebhookEndpointList,
    WebhookDeliveryList,
)
