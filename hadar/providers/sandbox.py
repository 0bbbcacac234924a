"""What test keys use instead of providers: the same ports, no client, no socket.

They are built without an httpx client at all, so they cannot open a connection, and they
answer at once: a WhatsApp send is accepted with a fresh `wamid.sandbox.…` id, a call ends
immediately with a canned transcript and summary, and a payment succeeds unless the payment
method is one of Stripe's magic decline ids.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping, Sequence

from hadar import clock
from hadar.providers.ports import (
    CallReport,
    CallStarted,
    PaymentIntent,
    Sent,
    TemplateSubmission,
    TransientAssistant,
)

PROVIDER = "sandbox"

CANNED_TRANSCRIPT = (
    "AI: Hello, this is your agent from Hadar calling about the property you enquired about.\n"
    "User: Yes, I'm interested. Is it still available?\n"
    "AI: It is. Would Saturday at 11:00 work for a viewing?\n"
    "User: Saturday works, thank you."
)
CANNED_SUMMARY = "Sandbox call: the lead is interested and agreed to a viewing on Saturday 11:00."
CANNED_ENDED_REASON = "customer-ended-call"

# Stripe's test payment methods that decline, with the decline code Stripe gives each.
DECLINES: Mapping[str, tuple[str, str]] = {
    "pm_card_chargeDeclined": ("card_declined", "Your card was declined."),
    "pm_card_chargeDeclinedInsufficientFunds": (
        "insufficient_funds",
        "Your card has insufficient funds.",
    ),
}


class SandboxWhatsApp:
    """Accepts every send; the id is fresh each time, like a real wamid."""

    provider = PROVIDER

    async def send_text(self, *, to: str, text: str) -> Sent:
        """Accept the text."""
        return Sent(PROVIDER, f"wamid.sandbox.{secrets.token_hex(16)}", to.removeprefix("+"))

    async def send_template(
        self, *, to: str, name: str, language: str, parameters: Sequence[str], body_text: str
    ) -> Sent:
        """Accept the template."""
        return await self.send_text(to=to, text=body_text)

    async def submit_template(
        self, *, name: str, language: str, category: str, body: str, examples: Sequence[str]
    ) -> TemplateSubmission:
        """Approve at once: test keys never wait for a review."""
        return TemplateSubmission(PROVIDER, None, "APPROVED")

    async def find_template(self, *, name: str, language: str) -> TemplateSubmission | None:
        """No templates are held here: nothing to find."""
        return None


class SandboxVoice:
    """Every call ends at once, answered by the canned conversation."""

    provider = PROVIDER

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
        """Start and at once end a call; the report rides on the answer."""
        call_id = f"sandbox-call-{secrets.token_hex(12)}"
        report = _report(call_id, metadata)
        return CallStarted(call_id, "ended", report)

    async def get_call(self, *, provider_call_id: str) -> CallReport:
        """Every sandbox call reads back ended with the canned conversation."""
        return _report(provider_call_id, {})


def _report(call_id: str, metadata: Mapping[str, str]) -> CallReport:
    at = clock.now()
    return CallReport(
        provider_call_id=call_id,
        status="ended",
        ended_reason=CANNED_ENDED_REASON,
        summary=CANNED_SUMMARY,
        transcript=CANNED_TRANSCRIPT,
        recording_url=None,
        duration_seconds=0.0,
        started_at=at,
        ended_at=at,
        metadata=dict(metadata),
    )


class SandboxPayments:
    """Never charges. The intent id is derived from the idempotency key, so a retry of the
    same invoice's payment sees the same intent, as with Stripe."""

    provider = PROVIDER

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
        """Succeed, or decline for Stripe's magic decline payment methods."""
        digest = hashlib.sha256(f"{tenant}\x00{idempotency_key}".encode()).hexdigest()
        intent_id = f"pi_sandbox_{digest[:24]}"
        decline = DECLINES.get(payment_method or "")
        if decline is not None:
            return PaymentIntent(intent_id, "failed", decline[0], decline[1])
        return PaymentIntent(intent_id, "succeeded")
