"""Invoices: commission drafts to a lead, edited until finalize gives them a gap-free number,
then paid (hadar.services.payments) or voided. Amounts are integer fils, never floats."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

import pydantic
from tortoise.transactions import in_transaction

from hadar import clock
from hadar.domain import invoices as rules
from hadar.domain.invoices import INVOICES, Invoice, InvoiceStatus
from hadar.domain.leads import Lead
from hadar.domain.locks import take_write_lock
from hadar.domain.properties import Property
from hadar.domain.scope import Operation, Scope
from hadar.errors import NotFound, ValidationError
from hadar.ids import looks_like, new_id
from hadar.pagination import Page
from hadar.services import audit
from hadar.services.listing import filtered, get_in_scope, scoped
from hadar.services.models import BIGINT, Out, Timestamp, id_of, list_of
from hadar.services.validation import PageQuery, Strict, parse

CREATE = Operation("invoices.create", INVOICES, mutation=True)
LIST = Operation("invoices.list", INVOICES)
RETRIEVE = Operation("invoices.retrieve", INVOICES)
UPDATE = Operation("invoices.update", INVOICES, mutation=True)
FINALIZE = Operation("invoices.finalize", INVOICES, mutation=True)
VOID = Operation("invoices.void", INVOICES, mutation=True)
LEAD_INVOICES = 100  # a lead's invoices shown through GraphQL `Lead.invoices`, newest first

StatusName = Literal["draft", "open", "paid", "void"]
DatePattern = r"^\d{4}-\d\d-\d\d$"
Fils = Annotated[int, pydantic.Field(ge=0, le=rules.MAX_UNIT_AMOUNT), BIGINT]


class InvoiceLineItemIn(Strict):
    """One line: what is charged, how many, and the price of one in fils (1 AED = 100 fils)."""

    description: Annotated[str, pydantic.Field(min_length=1, max_length=rules.MAX_DESCRIPTION)]
    quantity: Annotated[int, pydantic.Field(ge=1, le=rules.MAX_QUANTITY)]
    unit_amount: Fils


Lines = Annotated[list[InvoiceLineItemIn], pydantic.Field(min_length=1, max_length=rules.MAX_LINES)]
DueDate = Annotated[
    str, pydantic.Field(pattern=DatePattern, description="YYYY-MM-DD (the date in Dubai).")
]


def _check_date(value: str | None) -> str | None:
    if value is not None:
        try:
            dt.date.fromisoformat(value)
        except ValueError:
            raise ValueError("must be an ISO 8601 date") from None
    return value


class InvoiceCreate(Strict):
    """A draft invoice to a lead: 1-100 line items in fils; VAT (5 %) and totals are derived."""

    lead_id: Annotated[str, pydantic.Field(min_length=1, max_length=40)]
    property_id: Annotated[str, pydantic.Field(min_length=1, max_length=40)] | None = None
    line_items: Lines
    due_date: DueDate | None = None

    _date = pydantic.field_validator("due_date")(_check_date)


class InvoiceUpdate(Strict):
    """Fields of a draft; null clears property_id or due_date."""

    property_id: Annotated[str, pydantic.Field(min_length=1, max_length=40)] | None = None
    line_items: Lines | None = None
    due_date: DueDate | None = None

    _date = pydantic.field_validator("due_date")(_check_date)


class InvoiceQuery(PageQuery):
    """The filters of GET /invoices (the GraphQL `invoices` field takes the same)."""

    status: StatusName | None = pydantic.Field(default=None, description="Only this status.")
    lead_id: str | None = pydantic.Field(
        default=None, min_length=1, max_length=40, description="Only this lead's invoices."
    )


class InvoiceLineItemOut(Out):
    """A line as invoiced: `amount` is quantity * unit_amount, in fils."""

    description: str
    quantity: int = pydantic.Field(ge=1, le=rules.MAX_QUANTITY)
    unit_amount: Annotated[int, BIGINT] = pydantic.Field(ge=0, description="fils")
    amount: Annotated[int, BIGINT] = pydantic.Field(ge=0, description="fils")


class InvoicePaymentOut(Out):
    """The last payment attempt: Stripe's PaymentIntent status, or `failed` for a decline."""

    status: str
    intent_id: str | None
    failure_code: str | None = pydantic.Field(description="decline_code, else Stripe's code")
    failure_message: str | None


class InvoiceOut(Out):
    """A commission invoice; amounts in integer fils (1 AED = 100 fils)."""

    id: id_of("inv")  # type: ignore[valid-type]
    object: Literal["invoice"]
    number: str | None = pydantic.Field(
        pattern=r"^INV-\d{4}-\d{6,}$", description="given at finalize; null on a draft"
    )
    lead_id: id_of("lead")  # type: ignore[valid-type]
    property_id: id_of("prop") | None  # type: ignore[valid-type]
    line_items: list[InvoiceLineItemOut]
    subtotal: Annotated[int, BIGINT] = pydantic.Field(ge=0, description="fils")
    vat: Annotated[int, BIGINT] = pydantic.Field(ge=0, description="5 % of subtotal, half up")
    total: Annotated[int, BIGINT] = pydantic.Field(ge=0, description="subtotal + vat, fils")
    currency: Literal["AED"]
    status: StatusName
    due_date: str | None = pydantic.Field(pattern=DatePattern)
    finalized_at: Timestamp | None
    paid_at: Timestamp | None
    payment: InvoicePaymentOut | None
    created_at: Timestamp
    updated_at: Timestamp


InvoiceListOut = list_of(InvoiceOut)
INVOICE_EXAMPLE = {
    "lead_id": "lead_01HMNZ8G7Q3V5X2T4R6Y9W0K1B",
    "line_items": [
        {"description": "Commission: Marina Gate 2BR (2 %)", "quantity": 1, "unit_amount": 3600000}
    ],
    "due_date": "2026-06-30",
}


def _apply_lines(invoice: Invoice, raw: list[dict[str, Any]]) -> None:
    lines = rules.line_items(raw)
    invoice.line_items = [line.as_json() for line in lines]
    invoice.subtotal, invoice.vat, invoice.total = rules.totals(lines)


async def _check_property(scope: Scope, property_id: str | None) -> None:
    if property_id is None:
        return
    found = looks_like("prop", property_id) and (
        await scoped(Property, scope).filter(id=property_id).exists()
    )
    if not found:
        raise NotFound(f"property {property_id} does not exist", field="invoice.property_id")


async def create_invoice(*, scope: Scope, data: Any) -> Invoice:
    """A draft for a lead of this tenant and environment; totals derived from its lines."""
    scope.require_write(INVOICES)
    spec = parse(InvoiceCreate, data, root="invoice")
    lead = looks_like("lead", spec.lead_id) and (
        await scoped(Lead, scope).filter(id=spec.lead_id).exists()
    )
    if not lead:
        raise NotFound(f"lead {spec.lead_id} does not exist", field="invoice.lead_id")
    await _check_property(scope, spec.property_id)
    at = clock.now()
    invoice = Invoice(
        id=new_id("inv", at),
        tenant_id=scope.tenant_id,
        environment=scope.environment,
        lead_id=spec.lead_id,
        property_id=spec.property_id,
        due_date=dt.date.fromisoformat(spec.due_date) if spec.due_date else None,
        status=InvoiceStatus.DRAFT.value,
        created_at=at,
        updated_at=at,
    )
    _apply_lines(invoice, [line.model_dump() for line in spec.line_items])
    await invoice.save(force_create=True)
    await audit.record(scope=scope, action="invoice.created", object_id=invoice.id)
    return invoice


async def get_invoice(*, scope: Scope, invoice_id: str, lock: bool = False) -> Invoice:
    """The invoice with `invoice_id` in the caller's tenant and environment, else NotFound."""
    scope.require_read(INVOICES)
    return await get_in_scope(
        Invoice, scope=scope, prefix="inv", object_id=invoice_id, noun="invoice", lock=lock
    )


async def update_invoice(*, scope: Scope, invoice_id: str, data: Any) -> Invoice:
    """Change a draft's lines, property or due date; any other status is a Conflict."""
    scope.require_write(INVOICES)
    spec = parse(InvoiceUpdate, data, root="invoice")
    invoice = await get_invoice(scope=scope, invoice_id=invoice_id, lock=True)
    rules.check_editable(invoice.status)
    given = spec.model_fields_set
    if "line_items" in given:
        if spec.line_items is None:
            raise ValidationError("invoice.line_items may not be null", field="invoice.line_items")
        _apply_lines(invoice, [line.model_dump() for line in spec.line_items])
    if "property_id" in given:
        await _check_property(scope, spec.property_id)
        invoice.property_id = spec.property_id
    if "due_date" in given:
        invoice.due_date = dt.date.fromisoformat(spec.due_date) if spec.due_date else None
    invoice.updated_at = clock.now()
    await invoice.save()
    await audit.record(scope=scope, action="invoice.updated", object_id=invoice.id)
    return invoice


async def finalize_invoice(*, scope: Scope, invoice_id: str) -> Invoice:
    """draft -> open with the next number of (tenant, environment, year): taken from the counter
    row in this transaction, so concurrent finalizes on any instance never share or skip one."""
    scope.require_write(INVOICES)
    async with in_transaction() as conn:  # the request's transaction (a savepoint inside it)
        await take_write_lock(conn)
        invoice = await get_invoice(scope=scope, invoice_id=invoice_id, lock=True)
        invoice.status = rules.check_action(invoice.status, "finalize")
        at = clock.now()
        year = rules.invoice_year(at)
        sequence = await rules.next_invoice_number(
            conn=conn, tenant_id=scope.tenant_id, environment=scope.environment, year=year
        )
        invoice.number = rules.format_number(year, sequence)
        invoice.finalized_at = at
        invoice.updated_at = at
        await invoice.save(using_db=conn)
    await audit.record(scope=scope, action="invoice.finalized", object_id=invoice.id)
    return invoice


async def void_invoice(*, scope: Scope, invoice_id: str) -> Invoice:
    """draft|open -> void; its number, if any, stays taken (a void invoice is still a record)."""
    scope.require_write(INVOICES)
    async with in_transaction() as conn:
        await take_write_lock(conn)
        invoice = await get_invoice(scope=scope, invoice_id=invoice_id, lock=True)
        invoice.status = rules.check_action(invoice.status, "void")
        invoice.updated_at = clock.now()
        await invoice.save(using_db=conn)
    await audit.record(scope=scope, action="invoice.voided", object_id=invoice.id)
    return invoice


async def list_invoices(
    *,
    scope: Scope,
    status: str | None = None,
    lead_id: str | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> Page[Invoice]:
    """Newest first, filtered by status and lead; the cursor is bound to the filters."""
    scope.require_read(INVOICES)
    given = {"status": status, "lead_id": lead_id, "limit": limit, "cursor": cursor}
    return await filtered(Invoice, scope=scope, name="invoices", query=InvoiceQuery, given=given)


def _payment(invoice: Invoice) -> dict[str, Any] | None:
    if invoice.payment_status is None:
        return None
    return {
        "status": invoice.payment_status,
        "intent_id": invoice.payment_intent_id,
        "failure_code": invoice.payment_failure_code,
        "failure_message": invoice.payment_failure_message,
    }


def _stamp(value: dt.datetime | None) -> str | None:
    return clock.isoformat(value) if value is not None else None


def present_invoice(invoice: Invoice) -> dict[str, Any]:
    """The public shape of an invoice (REST body, GraphQL, the `invoice.paid` webhook)."""
    return {
        "id": invoice.id,
        "object": "invoice",
        "number": invoice.number,
        "lead_id": invoice.lead_id,
        "property_id": invoice.property_id,
        "line_items": [
            {**line, "amount": line["quantity"] * line["unit_amount"]}
            for line in invoice.line_items
        ],
        "subtotal": invoice.subtotal,
        "vat": invoice.vat,
        "total": invoice.total,
        "currency": invoice.currency,
        "status": invoice.status,
        "due_date": invoice.due_date.isoformat() if invoice.due_date else None,
        "finalized_at": _stamp(invoice.finalized_at),
        "paid_at": _stamp(invoice.paid_at),
        "payment": _payment(invoice),
        "created_at": clock.isoformat(invoice.created_at),
        "updated_at": clock.isoformat(invoice.updated_at),
    }
