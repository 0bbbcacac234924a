"""What the services send to providers and get back: Protocols, frozen results, one error.

Nothing here imports httpx, Starlette or Redis, so the service layer may import it freely.
A port is one small Protocol per capability; the adapters (meta.py, ultramsg.py, vapi.py,
stripe.py) and the sandboxes (sandbox.py) implement them.

Errors: every provider failure is a `ProviderError` whose `kind` is one of `ERROR_KINDS`:

    kind             meaning                                             service maps it to
    unavailable      unreachable, timed out, 5xx, malformed answer, or   503 service_unavailable
                     refused for reasons the request cannot fix (rate
                     limit, expired token, UltraMsg disconnected, an
                     open circuit breaker)
    invalid          the provider rejected what we sent (Meta 132000,    400 validation_error
                     132001, 132012, 100; Vapi 400; Stripe               (`field` when known)
                     invalid_request_error)
    outside_window   Meta 131047: free-form text outside the 24 h        422 outside_24h_window
                     customer-service window
    conflict         Stripe idempotency_error or 409: the same key was   409 conflict
                     used with other parameters or is still in flight;
                     Meta: a template of that name and language exists

`outage` is True only for what the circuit breaker counts: timeouts, refused connections,
5xx and malformed answers (the provider itself is unwell), never for a clean refusal.

A Stripe decline is not an error: it is a `PaymentIntent` with `status == "failed"`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol

ErrorKind = Literal["unavailable", "invalid", "outside_window", "conflict"]
ERROR_KINDS: frozenset[str] = frozenset({"unavailable", "invalid", "outside_window", "conflict"})


class ProviderError(Exception):
    """A provider call that did not produce a result. `code` is the provider's own (Meta's
    integer `error.code`, Stripe's `code`, or ours: `timeout`, `connect_error`, `network_error`,
    `http_<status>`, `malformed`, `circuit_open`); `title` is short and safe to store on a
    message (`error: {code, title}`); `message` is a human sentence. None carries a credential."""

    def __init__(
        self,
        *,
        kind: ErrorKind,
        provider: str,
        code: int | str | None = None,
        title: str = "",
        message: str = "",
        field: str | None = None,
        outage: bool = False,
        status_code: int | None = None,
    ) -> None:
        assert kind in ERROR_KINDS, kind
        self.kind: ErrorKind = kind
        self.provider = provider
        self.code = code
        self.title = title or kind
        self.message = message or self.title
        self.field = field
        self.outage = outage
        self.status_code = status_code
        super().__init__(f"{provider} {kind} ({code}): {self.message}")

    def as_stored(self) -> dict[str, int | str | None]:
        """The `{code, title}` a message keeps about why it failed."""
        return {"code": self.code, "title": self.title}


# --- WhatsApp -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Sent:
    """An accepted send. Acceptance is not delivery: Meta reports failures later as statuses."""

    provider: str
    provider_message_id: str
    recipient_id: str | None = None  # Meta's `wa_id`, which may differ from the number sent to


@dataclass(frozen=True, slots=True)
class TemplateSubmission:
    """A template the provider accepted for review. `status` is Meta's spelling (`APPROVED`,
    `PENDING`, `REJECTED`); providers without templates (UltraMsg, the sandbox) answer
    `APPROVED` with no id, since they send the rendered text and nobody reviews it. `category`
    is the one the provider assigned (Meta may re-categorise), None when it said nothing."""

    provider: str
    provider_template_id: str | None
    status: str
    category: str | None = None
    body: str | None = None  # the BODY text as the provider holds it, when read back


class WhatsAppPort(Protocol):
    """Sends one WhatsApp message to an E.164 number (`+971501234567`), and submits templates."""

    provider: str

    async def submit_template(
        self, *, name: str, language: str, category: str, body: str, examples: Sequence[str]
    ) -> TemplateSubmission:
        """`body` in positional form (`{{1}}`, `{{2}}`, ...), `examples` one sample value per
        placeholder in number order; `category` as Hadar spells it (`utility`)."""
        ...

    async def find_template(self, *, name: str, language: str) -> TemplateSubmission | None:
        """The account's template of this name and language as the provider holds it (with its
        `body`), or None: how a submission whose answer was lost is recognised on retry."""
        ...

    async def send_text(self, *, to: str, text: str) -> Sent: ...

    async def send_template(
        self, *, to: str, name: str, language: str, parameters: Sequence[str], body_text: str
    ) -> Sent:
        """`parameters` in the template's placeholder order; `body_text` is the rendered
        template, for providers without templates (UltraMsg)."""
        ...


# --- Voice (Vapi) ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TransientAssistant:
    """An assistant described inline on the call, for integrations that name none."""

    first_message: str
    agent_prompt: str
    voice_id: str | None = None  # an ElevenLabs voice; None: the adapter's default voice


@dataclass(frozen=True, slots=True)
class CallReport:
    """What is known about a call: from `GET /call/{id}` or an end-of-call-report. `status`
    and `ended_reason` are Vapi's own values (`in-progress`, `customer-ended-call`, ...)."""

    provider_call_id: str
    status: str
    ended_reason: str | None = None
    summary: str | None = None
    transcript: str | None = None
    recording_url: str | None = None
    duration_seconds: float | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CallStatusUpdate:
    """A `status-update` server message: queued, ringing, in-progress, forwarding, ended."""

    provider_call_id: str
    status: str
    ended_reason: str | None = None
    at: datetime | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CallStarted:
    """A call the provider accepted. The sandbox ends calls at once and attaches the report."""

    provider_call_id: str
    status: str
    report: CallReport | None = None


class VoicePort(Protocol):
    """Places outbound calls and reads them back."""

    provider: str

    async def create_call(
        self,
        *,
        to: str,
        name: str | None,
        assistant_id: str | None,
        assistant: TransientAssistant | None,
        server_url: str | None,
        metadata: Mapping[str, str],
    ) -> CallStarted:
        """Exactly one of `assistant_id` and `assistant`; `metadata` carries correlation ids
        (`call_id`, `lead_id`, `tenant`) and comes back on every server message."""
        ...

    async def get_call(self, *, provider_call_id: str) -> CallReport: ...


# --- Payments (Stripe) ----------------------------------------------------------------------

PaymentStatus = Literal[
    "requires_payment_method",
    "requires_confirmation",
    "requires_action",
    "processing",
    "requires_capture",
    "canceled",
    "succeeded",
    "failed",  # ours: a card decline (Stripe's 402 card_error)
]


@dataclass(frozen=True, slots=True)
class PaymentIntent:
    """The outcome of one create-and-maybe-confirm. `id` may be None only for a decline
    whose error names no intent. `failure_code` is the decline_code when Stripe gives one,
    else its code (`card_declined`)."""

    id: str | None
    status: str
    failure_code: str | None = None
    failure_message: str | None = None
    replayed: bool = False  # Stripe answered from its idempotency store

    @property
    def declined(self) -> bool:
        """True for a card decline (the invoice stays open with payment.status failed)."""
        return self.status == "failed"


class PaymentsPort(Protocol):
    """Creates (and, with a payment method, confirms) one PaymentIntent per invoice."""

    provider: str

    async def create_payment_intent(
        self,
        *,
        amount: int,
        currency: str,
        invoice_id: str,
        tenant: str,
        description: str,
        payment_method: str | None,
        idempotency_key: str,
    ) -> PaymentIntent:
        """`amount` in fils; the same `idempotency_key` never charges twice."""
        ...
