"""REST routes for invoices (admins write, every role reads; fail-closed while Redis is down),
the printable PDF, and Stripe's webhook (no API key: signed, metered per integration)."""

from __future__ import annotations

import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from tortoise.transactions import in_transaction

from hadar import observability
from hadar.errors import HadarError
from hadar.platform.runtime import Runtime
from hadar.platform.tracing import current_trace_id
from hadar.rest.endpoint import Call
from hadar.rest.envelope import data_body, error_response, json_response
from hadar.rest.inbound import meter_inbound, raw_body
from hadar.rest.lists import page_body
from hadar.rest.spec import RouteSpec
from hadar.services import invoice_pdf, invoices, payments

log = logging.getLogger("hadar.rest.invoices")


async def create(call: Call) -> tuple[int, Any]:
    invoice = await invoices.create_invoice(scope=call.scope, data=call.body)
    return 201, invoices.present_invoice(invoice)


async def list_(call: Call) -> tuple[int, Any]:
    page = await invoices.list_invoices(
        scope=call.scope, **call.query.model_dump(exclude_none=True)
    )
    return 200, page_body(page, invoices.present_invoice)


async def retrieve(call: Call) -> tuple[int, Any]:
    invoice = await invoices.get_invoice(scope=call.scope, invoice_id=call.params["invoice_id"])
    return 200, invoices.present_invoice(invoice)


async def pdf(call: Call) -> tuple[int, Any]:
    _, document = await invoice_pdf.invoice_pdf(
        scope=call.scope, invoice_id=call.params["invoice_id"]
    )
    return 200, document


async def update(call: Call) -> tuple[int, Any]:
    invoice = await invoices.update_invoice(
        scope=call.scope, invoice_id=call.params["invoice_id"], data=call.body
    )
    return 200, invoices.present_invoice(invoice)


async def finalize(call: Call) -> tuple[int, Any]:
    invoice = await invoices.finalize_invoice(
        scope=call.scope, invoice_id=call.params["invoice_id"]
    )
    return 200, invoices.present_invoice(invoice)


async def pay(call: Call) -> tuple[int, Any]:
    invoice = await payments.pay_invoice(
        scope=call.scope, invoice_id=call.params["invoice_id"], data=call.body
    )
    return 200, invoices.present_invoice(invoice)


async def void(call: Call) -> tuple[int, Any]:
    invoice = await invoices.void_invoice(scope=call.scope, invoice_id=call.params["invoice_id"])
    return 200, invoices.present_invoice(invoice)


async def stripe_inbound(request: Request) -> Response:
    """Stripe's webhook: metered per integration (fail-closed), verified on the raw body."""
    runtime: Runtime = request.app.state.runtime
    integration_id = request.path_params["integration_id"]
    headers: dict[str, str] = {}
    try:
        headers = await meter_inbound(runtime, integration_id, fail_closed=True)
        raw = await raw_body(request, runtime)
        async with in_transaction():
            result = await payments.receive_stripe_event(
                integration_id=integration_id,
                raw_body=raw,
                signature=request.headers.get("stripe-signature"),
            )
    except HadarError as err:
        return error_response(err, headers)
    except Exception as exc:
        log.exception("unhandled error in the Stripe webhook")
        observability.report_internal(exc, current_trace_id() or "")
        return error_response(HadarError(), headers)
    return json_response(200, data_body({"received": True, "result": result}), headers)


TAG = "Invoices"
ROLES = "Admins write; agents and viewers read."
INBOUND = [Route("/invoices/inbound/stripe/{integration_id}", stripe_inbound, methods=["POST"])]
ROUTES = [
    RouteSpec(
        "POST",
        "/invoices",
        create,
        invoices.CREATE,
        "Create a draft invoice",
        TAG,
        body=invoices.InvoiceCreate,
        response=invoices.InvoiceOut,
        status=201,
        errors=("not_found",),  # the lead or property named does not exist here
        description="Amounts are integer fils (1 AED = 100 fils). `subtotal` is the sum of "
        "quantity x unit_amount, `vat` 5 % of it rounded half up to the fil, `total` their sum. "
        + ROLES,
        example=invoices.INVOICE_EXAMPLE,
    ),
    RouteSpec(
        "GET",
        "/invoices",
        list_,
        invoices.LIST,
        "List invoices, newest first",
        TAG,
        query=invoices.InvoiceQuery,
        response=invoices.InvoiceListOut,
        description="Newest first, keyset-paginated; filters `status` and `lead_id`.",
    ),
    RouteSpec(
        "GET",
        "/invoices/{invoice_id}.pdf",
        pdf,
        invoices.RETRIEVE,
        "The printable invoice (PDF)",
        TAG,
        response=invoices.InvoiceOut,
        media_type="application/pdf",
        description="Number, agency and lead, lines, VAT and total under English and Arabic "
        "headings, as `application/pdf`. Errors are JSON envelopes like every route's.",
    ),
    RouteSpec(
        "GET",
        "/invoices/{invoice_id}",
        retrieve,
        invoices.RETRIEVE,
        "Retrieve an invoice",
        TAG,
        response=invoices.InvoiceOut,
    ),
    RouteSpec(
        "PATCH",
        "/invoices/{invoice_id}",
        update,
        invoices.UPDATE,
        "Update a draft invoice",
        TAG,
        body=invoices.InvoiceUpdate,
        response=invoices.InvoiceOut,
        description="Drafts only: any other status is 409 `conflict`. Totals are recomputed.",
        example={"due_date": "2026-07-15"},
    ),
    RouteSpec(
        "POST",
        "/invoices/{invoice_id}/finalize",
        finalize,
        invoices.FINALIZE,
        "Finalize a draft (draft -> open, numbered)",
        TAG,
        response=invoices.InvoiceOut,
        description="Gives the next number of the tenant, environment and year "
        "(`INV-2026-000001`), gap-free and never reused. Any status but draft: 409.",
    ),
    RouteSpec(
        "POST",
        "/invoices/{invoice_id}/pay",
        pay,
        payments.PAY,
        "Pay an open invoice",
        TAG,
        body=payments.InvoicePay,
        response=invoices.InvoiceOut,
        description="Test keys: a sandbox that never charges (`pm_card_chargeDeclined` "
        "declines). Live keys: one Stripe PaymentIntent per attempt, whatever the retries. "
        "A decline or a pending intent answers 200 with the invoice still `open` and "
        "`payment.status`; Stripe unreachable: 503, invoice unchanged. Only open invoices: 409.",
        example={"payment_method": "pm_card_visa"},
    ),
    RouteSpec(
        "POST",
        "/invoices/{invoice_id}/void",
        void,
        invoices.VOID,
        "Void a draft or open invoice",
        TAG,
        response=invoices.InvoiceOut,
        description="A paid or void invoice: 409 `conflict`.",
    ),
]
