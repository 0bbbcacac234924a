"""Paying invoices through the tenant's Stripe (the sandbox for test keys), and Stripe's
payment_intent webhooks.

Why a pay can never create a second PaymentIntent (SPEC 8, 9):

1. The pay runs in the request's transaction with the invoice row locked (`FOR UPDATE` on
   PostgreSQL; the database write lock on SQLite), from before its status is read until the
   outcome is committed. Concurrent pays of one invoice, on any instance, run one after the
   other; the second sees the first's committed outcome (`paid`: 409, nothing sent).
2. The Idempotency-Key sent to Stripe is derived from the invoice and the attempt number
   (`rules.next_payment_key`) and written to the row before the call. It depends only on
   committed state, so whatever happens between Stripe's answer and our commit (a crash, a
   timeout, a lost connection), the retry derives the same key and Stripe answers with the
   intent it already created instead of creating one.
3. A new attempt (a new key) starts only after a committed outcome that charged nothing (a
   decline, a canceled intent); the amount of an open invoice never changes, so a reused key
   always carries the same parameters. A retry with another payment method while the attempt
   may still charge is Stripe's idempotency_error: 409, and nothing is charged.
4. Timeouts, refused connections, 5xx and an open breaker are 503 and roll everything back:
   the invoice is unchanged and the next pay reuses the same key (point 2).
5. The webhook marks an invoice paid only while it is open, under the same row lock, so a
   `payment_intent.succeeded` racing the pay's own answer changes it (and emits
   `invoice.paid`) once.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

import pydantic
from tortoise.transactions import in_transaction

from hadar import clock
from hadar.domain import invoices as rules
from hadar.domain.integrations import Integration, IntegrationKind
from hadar.domain.invoices import INVOICES, Invoice, InvoiceStatus
from hadar.domain.locks import take_write_lock
from hadar.domain.scope import Operation, Scope
from hadar.errors import Conflict, ServiceUnavailable, Unauthorized, ValidationError
from hadar.ids import looks_like
from hadar.providers import signatures
from hadar.providers.inbound.stripe import IntentState, parse_event
from hadar.providers.ports import PaymentIntent, ProviderError
from hadar.services import audit, events, integrations
from hadar.services.invoices import get_invoice, present_invoice
from hadar.services.validation import Strict, parse

log = logging.getLogger("hadar.payments")
PAY = Operation("invoices.pay", INVOICES, mutation=True)


class InvoicePay(Strict):
    """`payment_method` (a Stripe `pm_…` id) confirms the PaymentIntent at once; without it the
    intent waits for the customer (`payment.status: requires_payment_method`)."""

    payment_method: (
        Annotated[str, pydantic.Field(min_length=1, max_length=255, pattern=r"^[A-Za-z0-9_]+$")]
        | None
    ) = None


def _refusal(err: ProviderError) -> Exception:
    if err.kind == "conflict":
        return Conflict(
            "Stripe is still processing this payment attempt, or refused to repeat it with other "
            "parameters while it may still charge; nothing was charged twice",
            field="payment.payment_method",
        )
    if err.kind == "invalid":
        field = "invoice.total" if err.code == "amount_too_small" else "payment.payment_method"
        return ValidationError(f"Stripe refused the payment: {err.title}", field=field)
    return ServiceUnavailable("the payment provider is unavailable; the invoice is unchanged")


def _record(invoice: Invoice, intent: PaymentIntent) -> bool:
    """Store what the intent says; True when it moved the invoice to paid."""
    invoice.payment_intent_id = intent.id or invoice.payment_intent_id
    invoice.payment_status = intent.status
    failed = intent.declined
    invoice.payment_failure_code = intent.failure_code if failed else None
    invoice.payment_failure_message = intent.failure_message if failed else None
    if intent.status != "succeeded":
        return False
    invoice.status = InvoiceStatus.PAID.value
    invoice.paid_at = clock.now()
    return True


async def pay_invoice(*, scope: Scope, invoice_id: str, data: Any) -> Invoice:
    """open -> paid through one PaymentIntent per attempt (see the module docstring); a decline
    or a pending intent leaves it open with `payment`; Stripe unreachable: 503, unchanged."""
    scope.require_write(INVOICES)
    spec = parse(InvoicePay, {} if data is None else data, root="payment")
    account = await integrations.connected(scope=scope, kind=IntegrationKind.STRIPE.value)
    port = integrations.payments_port(scope=scope, account=account)
    async with in_transaction() as conn:  # the request's transaction (a savepoint inside it)
        await take_write_lock(conn)
        invoice = await get_invoice(scope=scope, invoice_id=invoice_id, lock=True)
        rules.check_action(invoice.status, "pay")
        key = rules.next_payment_key(
            invoice.id,
            stored=invoice.payment_idempotency_key,
            payment_status=invoice.payment_status,
        )
        invoice.payment_idempotency_key = key
        await invoice.save(using_db=conn, update_fields=["payment_idempotency_key"])
        try:
            intent = await port.create_payment_intent(
                amount=invoice.total,
                currency=invoice.currency,
                invoice_id=invoice.id,
                tenant=scope.tenant_id,
                description=invoice.number or invoice.id,
                payment_method=spec.payment_method,
                idempotency_key=key,
            )
        except ProviderError as err:
            log.warning("stripe payment of %s failed: %s (%s)", invoice.id, err.kind, err.code)
            raise _refusal(err) from None
        paid = _record(invoice, intent)
        invoice.updated_at = clock.now()
        await invoice.save(using_db=conn)
    await audit.record(
        scope=scope,
        action="invoice.paid" if paid else "invoice.payment_attempted",
        object_id=invoice.id,
    )
    if paid:
        await events.emit(scope=scope, type="invoice.paid", obj=present_invoice(invoice))
    return invoice


async def stripe_integration(*, integration_id: str) -> Integration:
    """The live Stripe integration a webhook URL names; Unauthorized for any other id."""
    row = None
    if looks_like("int", integration_id):
        row = await Integration.filter(id=integration_id, kind=IntegrationKind.STRIPE.value).first()
    if row is None:
        raise Unauthorized("unknown Stripe webhook endpoint")
    return row


async def receive_stripe_event(
    *, integration_id: str, raw_body: bytes, signature: str | None
) -> str:
    """Verify `Stripe-Signature` on the raw body (401, nothing read, when it fails), then apply a
    payment_intent event once; returns what happened (`paid`, `failed`, `ignored`)."""
    row = await stripe_integration(integration_id=integration_id)
    scope = Scope(tenant_id=row.tenant_id, environment=row.environment, role="admin")
    account = await integrations.connected(scope=scope, kind=IntegrationKind.STRIPE.value)
    secret = account.credentials.get("webhook_secret")
    if not signatures.verify_stripe(raw_body=raw_body, header=signature, secret=secret):
        raise Unauthorized("the Stripe-Signature does not sign this body with the webhook secret")
    event = parse_event(raw_body)
    intent = event.intent
    if intent is None or event.type not in (
        "payment_intent.succeeded",
        "payment_intent.payment_failed",
    ):
        return "ignored"
    if intent.metadata.get("tenant") != row.tenant_id:
        return "ignored"  # an intent of this Stripe account that Hadar did not create here
    async with in_transaction() as conn:
        await take_write_lock(conn)
        invoice = (
            await Invoice.filter(
                id=intent.metadata.get("invoice_id", ""),
                tenant_id=row.tenant_id,
                environment=row.environment,
            )
            .select_for_update()
            .first()
        )
        if invoice is None or invoice.status != InvoiceStatus.OPEN:
            return "ignored"  # unknown, already paid (a replay) or void: nothing to change
        if intent.amount != invoice.total or (intent.currency or "").upper() != invoice.currency:
            log.warning("stripe intent %s does not match invoice %s", intent.id, invoice.id)
            return "ignored"
        outcome = _apply(invoice, intent, succeeded=event.type == "payment_intent.succeeded")
        if outcome == "ignored":
            return outcome
        invoice.updated_at = clock.now()
        await invoice.save(using_db=conn)
        await audit.record(scope=scope, action=f"invoice.payment_{outcome}", object_id=invoice.id)
        if outcome == "paid":
            await events.emit(scope=scope, type="invoice.paid", obj=present_invoice(invoice))
    return outcome


def _apply(invoice: Invoice, intent: IntentState, *, succeeded: bool) -> str:
    if succeeded:
        _record(invoice, PaymentIntent(intent.id, "succeeded"))
        return "paid"
    if invoice.payment_intent_id not in (None, intent.id):
        # An earlier attempt's intent failing late says nothing about the current one, which
        # may still charge: recording it would let the next pay start a second attempt.
        return "ignored"
    code = intent.failure_code or "card_declined"
    if (invoice.payment_intent_id, invoice.payment_status, invoice.payment_failure_code) == (
        intent.id,
        "failed",
        code,
    ):
        return "ignored"  # a replay of the failure already recorded
    _record(invoice, PaymentIntent(intent.id, "failed", code, intent.failure_message))
    return "failed"
