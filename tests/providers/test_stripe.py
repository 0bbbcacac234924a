"""The Stripe adapter against the fake: the form, idempotent retries, declines as results."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from hadar.providers.ports import PaymentIntent, ProviderError
from hadar.providers.stripe import StripePayments
from tests.fakes import FakeStripe, Fault
from tests.fakes.stripe import API_KEY, DECLINES
from tests.providers.conftest import READ_TIMEOUT, fixture

INVOICE = "inv_01J00000000000000000000000"


def adapter(client: httpx.AsyncClient, fake: FakeStripe, key: str = API_KEY) -> StripePayments:
    return StripePayments(client, base_url=fake.url, secret_key=key)


async def pay(
    port: StripePayments,
    *,
    payment_method: str | None = "pm_card_visa",
    key: str = f"{INVOICE}-pay",
    amount: int = 1_312_500,
) -> PaymentIntent:
    return await port.create_payment_intent(
        amount=amount,
        currency="AED",
        invoice_id=INVOICE,
        tenant="t-acme",
        description="INV-2026-000042",
        payment_method=payment_method,
        idempotency_key=key,
    )


async def test_the_intent_is_created_form_encoded_with_bracket_keys(
    http_client: httpx.AsyncClient, stripe_fake: FakeStripe
) -> None:
    intent = await pay(adapter(http_client, stripe_fake))
    (request,) = stripe_fake.requests
    assert (request.method, request.path) == ("POST", "/v1/payment_intents")
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    assert request.headers["idempotency-key"] == f"{INVOICE}-pay"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert request.form == {
        "amount": "1312500",
        "currency": "aed",
        "metadata[invoice_id]": INVOICE,
        "metadata[tenant]": "t-acme",
        "description": "INV-2026-000042",
        "payment_method": "pm_card_visa",
        "confirm": "true",
    }
    assert b"metadata%5Binvoice_id%5D=inv_" in request.body
    assert intent.status == "succeeded" and intent.id in stripe_fake.intents
    assert (intent.failure_code, intent.replayed, intent.declined) == (None, False, False)


async def test_without_a_payment_method_nothing_is_confirmed(
    http_client: httpx.AsyncClient, stripe_fake: FakeStripe
) -> None:
    intent = await pay(adapter(http_client, stripe_fake), payment_method=None)
    form = stripe_fake.requests[0].form or {}
    assert "confirm" not in form and "payment_method" not in form
    assert intent.status == "requires_payment_method"


async def test_a_retry_with_the_same_key_replays_and_charges_once(
    http_client: httpx.AsyncClient, stripe_fake: FakeStripe
) -> None:
    port = adapter(http_client, stripe_fake)
    first = await pay(port)
    second = await pay(port)
    assert second.id == first.id and second.status == "succeeded"
    assert (first.replayed, second.replayed) == (False, True)
    assert stripe_fake.created == 1
    assert len(stripe_fake.requests) == 2


async def test_the_same_key_with_other_parameters_is_a_conflict(
    http_client: httpx.AsyncClient, stripe_fake: FakeStripe
) -> None:
    port = adapter(http_client, stripe_fake)
    await pay(port)
    with pytest.raises(ProviderError) as caught:
        await pay(port, amount=999_999)
    assert (caught.value.kind, caught.value.code) == ("conflict", "idempotency_error")
    assert "same parameters" in caught.value.message
    assert stripe_fake.created == 1
    stripe_fake.fail_next(Fault(status=400, body=fixture("stripe_idempotency_error")))
    with pytest.raises(ProviderError) as captured:
        await pay(port, key="another")
    assert captured.value.kind == "conflict"


@pytest.mark.parametrize(
    ("method", "code"),
    [
        ("pm_card_chargeDeclined", "generic_decline"),
        ("pm_card_chargeDeclinedInsufficientFunds", "insufficient_funds"),
    ],
)
async def test_a_decline_is_a_failed_result_not_an_error(
    http_client: httpx.AsyncClient, stripe_fake: FakeStripe, method: str, code: str
) -> None:
    port = adapter(http_client, stripe_fake)
    intent = await pay(port, payment_method=method)
    assert intent.declined and intent.status == "failed"
    assert intent.failure_code == code
    assert intent.failure_message == DECLINES[method][1]
    assert intent.id in stripe_fake.intents
    again = await pay(port, payment_method=method)
    assert (again.declined, again.replayed, stripe_fake.created) == (True, True, 1)


async def test_a_captured_card_error_and_a_scripted_decline(
    http_client: httpx.AsyncClient, stripe_fake: FakeStripe
) -> None:
    stripe_fake.fail_next(Fault(status=402, body=fixture("stripe_card_error")))
    captured = await pay(adapter(http_client, stripe_fake), key="k1")
    assert (captured.status, captured.failure_code, captured.id) == (
        "failed",
        "insufficient_funds",
        "pi_…",
    )
    stripe_fake.fail_next(
        Fault(status=402, body={"error": {"type": "card_error", "code": "expired_card"}})
    )
    expired = await pay(adapter(http_client, stripe_fake), key="k2")
    assert (expired.failure_code, expired.id) == ("expired_card", None)
    stripe_fake.script_next("decline:lost_card")
    lost = await pay(adapter(http_client, stripe_fake), key="k3")
    assert lost.failure_code == "lost_card"


@pytest.mark.parametrize("outcome", ["requires_action", "processing"])
async def test_requires_action_and_processing_are_results(
    http_client: httpx.AsyncClient, stripe_fake: FakeStripe, outcome: str
) -> None:
    stripe_fake.script_next(outcome)
    intent = await pay(adapter(http_client, stripe_fake))
    assert (intent.status, intent.declined) == (outcome, False)


async def test_invalid_requests_are_invalid(
    http_client: httpx.AsyncClient, stripe_fake: FakeStripe
) -> None:
    with pytest.raises(ProviderError) as caught:
        await pay(adapter(http_client, stripe_fake), amount=150)
    assert (caught.value.kind, caught.value.code) == ("invalid", "amount_too_small")
    assert stripe_fake.created == 0


@pytest.mark.parametrize(
    ("fault", "code", "outage"),
    [
        (
            Fault(status=500, body={"error": {"type": "api_error", "message": "oops"}}),
            "api_error",
            True,
        ),
        (Fault(status=503, body=b"<html>down</html>"), "http_503", True),
        (Fault(status=None, delay=READ_TIMEOUT * 3), "timeout", True),
        (Fault(status=200, body=b"{truncated"), "malformed", True),
        (
            Fault(status=429, body={"error": {"type": "rate_limit_error", "message": "slow"}}),
            "rate_limit_error",
            False,
        ),
    ],
)
async def test_outages_are_unavailable_and_charge_nothing(
    http_client: httpx.AsyncClient, stripe_fake: FakeStripe, fault: Fault, code: str, outage: bool
) -> None:
    stripe_fake.fail_next(fault)
    with pytest.raises(ProviderError) as caught:
        await pay(adapter(http_client, stripe_fake))
    assert (caught.value.kind, caught.value.code, caught.value.outage) == (
        "unavailable",
        code,
        outage,
    )
    assert stripe_fake.created == 0


async def test_a_bad_key_is_unavailable_and_never_quoted(
    http_client: httpx.AsyncClient, stripe_fake: FakeStripe
) -> None:
    with pytest.raises(ProviderError) as caught:
        await pay(adapter(http_client, stripe_fake, key="sk_test_wrong_key_123"))
    assert caught.value.kind == "unavailable" and not caught.value.outage
    assert "sk_test_wrong_key_123" not in str(caught.value)


async def test_concurrent_pays_with_one_key_charge_once(
    http_client: httpx.AsyncClient, stripe_fake: FakeStripe
) -> None:
    stripe_fake.processing_delay = READ_TIMEOUT / 3
    port = adapter(http_client, stripe_fake)
    results = await asyncio.gather(pay(port), pay(port), return_exceptions=True)
    intents = [r for r in results if isinstance(r, PaymentIntent)]
    errors = [r for r in results if isinstance(r, ProviderError)]
    assert len(intents) == 1 and intents[0].status == "succeeded"
    assert [(e.kind, e.code) for e in errors] == [("conflict", "idempotency_key_in_use")]
    assert stripe_fake.created == 1
    replay = await pay(port)
    assert (replay.id, replay.replayed) == (intents[0].id, True)
