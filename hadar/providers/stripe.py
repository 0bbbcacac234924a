"""Stripe PaymentIntents in AED: `POST {base}/v1/payment_intents`, form-encoded, bracket keys.

The `Idempotency-Key` is the caller's (derived from the invoice, persisted before the first
call): Stripe replays the first answer for it, so a retry never charges twice. A 402
card_error is a decline, which is a result (`status="failed"`), not an exception.
"""

from __future__ import annotations

from typing import Any

import httpx

from hadar.providers import http
from hadar.providers.ports import PaymentIntent, ProviderError

PROVIDER = "stripe"


class StripePayments:
    """The payments port over one tenant's Stripe account."""

    provider = PROVIDER

    def __init__(self, client: httpx.AsyncClient, *, base_url: str, secret_key: str) -> None:
        self._client = client
        self._url = f"{base_url.rstrip('/')}/v1/payment_intents"
        self._key = secret_key

    def __repr__(self) -> str:
        return f"StripePayments(url={self._url!r})"  # never the key

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
        """Create (and with a payment method, confirm) the invoice's PaymentIntent."""
        form = {
            "amount": str(amount),
            "currency": currency.lower(),  # Stripe wants lowercase ISO codes
            "metadata[invoice_id]": invoice_id,
            "metadata[tenant]": tenant,
            "description": description,
        }
        if payment_method:
            form["payment_method"] = payment_method
            form["confirm"] = "true"
        answer = await http.call(
            self._client,
            "POST",
            self._url,
            provider=PROVIDER,
            headers={"Authorization": f"Bearer {self._key}", "Idempotency-Key": idempotency_key},
            data=form,
        )
        replayed = answer.headers.get("Idempotent-Replayed", "").lower() == "true"
        if answer.ok:
            return _intent(answer, replayed=replayed)
        return _declined(answer, replayed=replayed, secrets=[self._key])


def _intent(answer: http.Answer, *, replayed: bool) -> PaymentIntent:
    body = answer.body if isinstance(answer.body, dict) else {}
    intent_id, status = body.get("id"), body.get("status")
    if not isinstance(intent_id, str) or not isinstance(status, str):
        raise http.malformed(PROVIDER, answer)
    failure = body.get("last_payment_error")
    code, message = _failure(failure) if isinstance(failure, dict) else (None, None)
    return PaymentIntent(intent_id, status, code, message, replayed)


def _failure(error: dict[str, Any]) -> tuple[str | None, str | None]:
    code = error.get("decline_code") or error.get("code")
    message = error.get("message")
    return (
        http.text_of(code) or None,
        http.text_of(message) or None,
    )


def _declined(answer: http.Answer, *, replayed: bool, secrets: list[str]) -> PaymentIntent:
    """A 402 card_error as a result; anything else raises the matching ProviderError."""
    body = answer.body if isinstance(answer.body, dict) else {}
    error = body.get("error")
    if not isinstance(error, dict):
        if answer.body is None and answer.status < 500:
            raise http.malformed(PROVIDER, answer)
        raise http.http_failure(PROVIDER, answer)
    kind_of = error.get("type")
    if answer.status == 402 or kind_of == "card_error":
        intent = error.get("payment_intent")
        intent_id = intent.get("id") if isinstance(intent, dict) else None
        code, message = _failure(error)
        return PaymentIntent(
            intent_id if isinstance(intent_id, str) else None,
            "failed",
            code or "card_declined",
            http.scrub(message or "The card was declined.", secrets),
            replayed,
        )
    raise error_from(answer, error, secrets=secrets)


def error_from(answer: http.Answer, error: dict[str, Any], *, secrets: list[str]) -> ProviderError:
    """Stripe's error object -> ProviderError: idempotency trouble is a conflict, a request
    Stripe validated and refused is invalid, everything else (401, 429, 5xx) unavailable."""
    kind_of = error.get("type")
    code = http.text_of(error.get("code")) or http.text_of(kind_of) or f"http_{answer.status}"
    message = http.scrub(http.text_of(error.get("message")), secrets)
    if kind_of == "idempotency_error" or answer.status == 409:
        return ProviderError(
            kind="conflict",
            provider=PROVIDER,
            code="idempotency_error" if kind_of == "idempotency_error" else code,
            title="Stripe refused the idempotency key for this payment.",
            message=message or "The idempotency key was used with other parameters.",
            status_code=answer.status,
        )
    if kind_of == "invalid_request_error" and answer.status == 400:
        return ProviderError(
            kind="invalid",
            provider=PROVIDER,
            code=code,
            title=message or "Stripe refused the payment request.",
            message=message,
            status_code=answer.status,
        )
    return ProviderError(
        kind="unavailable",
        provider=PROVIDER,
        code=code,
        title=message or f"Stripe answered HTTP {answer.status}.",
        outage=answer.status >= 500,
        status_code=answer.status,
    )
