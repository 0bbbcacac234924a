"""Invoices (commission invoices to a lead) and their gap-free numbering.

Amounts are integer fils (1 AED = 100 fils) and no float is used anywhere: VAT is 5 % of the
subtotal rounded half up to the fil, `(subtotal * 5 + 50) // 100`. Python integers do not
overflow; the columns are BIGINT (up to 9.2e18 fils).

Numbers (`INV-2026-000001`) are sequential per tenant, environment and year and are given at
finalize by `next_invoice_number`, inside the finalize transaction, so a rolled-back finalize
gives its number back and the sequence has no gaps.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.indexes import Index
from tortoise.models import Model

from hadar import ids
from hadar.domain.leads import Lead
from hadar.domain.properties import Property
from hadar.domain.scope import Resource
from hadar.domain.tenants import Tenant
from hadar.errors import Conflict, ValidationError

CURRENCY = "AED"
VAT_PERCENT = 5
MAX_LINES = 100
MAX_QUANTITY = 10_000
MAX_DESCRIPTION = 500
MAX_UNIT_AMOUNT = 10**15  # fils: 10 trillion AED a unit
# The columns are BIGINT: a total past it is refused on input, never overflowed in the database.
MAX_TOTAL = 2**63 - 1
# Invoices are dated in Dubai (GST, UTC+4 all year): 31 Dec 21:00 UTC is already next year.
GST = timezone(timedelta(hours=4), "GST")


class InvoiceStatus(StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    PAID = "paid"
    VOID = "void"


# action -> (statuses it may start from, status it ends in)
ACTIONS = {
    "finalize": (frozenset({InvoiceStatus.DRAFT}), InvoiceStatus.OPEN),
    "pay": (frozenset({InvoiceStatus.OPEN}), InvoiceStatus.PAID),
    "void": (frozenset({InvoiceStatus.DRAFT, InvoiceStatus.OPEN}), InvoiceStatus.VOID),
}


ids.declare("inv", param="invoice_id")
INVOICES = Resource("invoices", fail_closed=True)


class Invoice(Model):
    id = fields.CharField(primary_key=True, max_length=40)
    tenant: fields.ForeignKeyRelation[Tenant] = fields.ForeignKeyField(
        "hadar.Tenant", related_name="invoices", on_delete=fields.CASCADE
    )
    tenant_id: str
    environment = fields.CharField(max_length=8)
    number = fields.CharField(max_length=32, null=True)
    # RESTRICT: an issued invoice is a tax record and its number is never reused, so deleting
    # a lead that has invoices fails (IntegrityError) and the lead service answers 409.
    lead: fields.ForeignKeyRelation[Lead] = fields.ForeignKeyField(
        "hadar.Lead", related_name="invoices", on_delete=fields.RESTRICT
    )
    lead_id: str
    property: fields.ForeignKeyNullableRelation[Property] = fields.ForeignKeyField(
        "hadar.Property", related_name="invoices", on_delete=fields.SET_NULL, null=True
    )
    property_id: str | None
    line_items: fields.Field[list[dict[str, Any]]] = fields.JSONField(default=list)
    subtotal = fields.BigIntField()
    vat = fields.BigIntField()
    total = fields.BigIntField()
    currency = fields.CharField(max_length=3, default=CURRENCY)
    status = fields.CharField(max_length=8, default=InvoiceStatus.DRAFT.value)
    due_date = fields.DateField(null=True)
    paid_at = fields.DatetimeField(null=True)
    payment_status = fields.CharField(max_length=32, null=True)
    payment_intent_id = fields.CharField(max_length=255, null=True)
    payment_failure_code = fields.CharField(max_length=64, null=True)
    payment_failure_message = fields.CharField(max_length=500, null=True)
    # Stored (from payment_idempotency_key()) before the first Stripe call, so every retry,
    # concurrent pay or replay reuses it and Stripe creates at most one PaymentIntent.
    payment_idempotency_key = fields.CharField(max_length=255, null=True)
    finalized_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "invoices"
        # NULL numbers (drafts) are distinct; a number is never given twice.
        unique_together = (("tenant_id", "environment", "number"),)
        indexes = [
            Index(fields=("tenant_id", "environment", "id")),
            Index(fields=("tenant_id", "environment", "status", "id")),
            Index(fields=("tenant_id", "environment", "lead_id", "id")),
            Index(fields=("payment_intent_id",)),
        ]


class InvoiceCounter(Model):
    id = fields.IntField(primary_key=True)
    tenant_id = fields.CharField(max_length=40)
    environment = fields.CharField(max_length=8)
    year = fields.IntField()
    last_number = fields.IntField()

    class Meta:
        table = "invoice_counters"
        unique_together = (("tenant_id", "environment", "year"),)


@dataclass(frozen=True)
class LineItem:
    description: str
    quantity: int
    unit_amount: int

    @property
    def amount(self) -> int:
        return self.quantity * self.unit_amount

    def as_json(self) -> dict[str, Any]:
        return {
            "description": self.description,
            "quantity": self.quantity,
            "unit_amount": self.unit_amount,
        }


_LINE_KEYS = ("description", "quantity", "unit_amount")


def _integer(value: Any) -> bool:
    # JSON true is a Python int, and 2.0 is no integer count of fils.
    return isinstance(value, int) and not isinstance(value, bool)


def line_items(raw: Any, *, field: str = "invoice.line_items") -> list[LineItem]:
    """Validated line items; ValidationError naming the first bad one (`…[0].quantity`)."""
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_LINES:
        raise ValidationError(f"{field} must be a list of 1 to {MAX_LINES} lines", field=field)
    items = []
    for index, line in enumerate(raw):
        path = f"{field}[{index}]"
        if not isinstance(line, dict):
            raise ValidationError(f"{path} must be an object", field=path)
        for key in line:
            if key not in _LINE_KEYS:
                raise ValidationError(
                    f"{path}.{key} is not a line item field", field=f"{path}.{key}"
                )
        description: Any = line.get("description")
        quantity: Any = line.get("quantity")
        unit_amount: Any = line.get("unit_amount")
        if not isinstance(description, str) or not description.strip():
            raise ValidationError(f"{path}.description is required", field=f"{path}.description")
        if len(description) > MAX_DESCRIPTION:
            raise ValidationError(
                f"{path}.description must be at most {MAX_DESCRIPTION} characters",
                field=f"{path}.description",
            )
        if not _integer(quantity) or not 1 <= quantity <= MAX_QUANTITY:
            raise ValidationError(
                f"{path}.quantity must be an integer from 1 to {MAX_QUANTITY:,}",
                field=f"{path}.quantity",
            )
        if not _integer(unit_amount) or not 0 <= unit_amount <= MAX_UNIT_AMOUNT:
            raise ValidationError(
                f"{path}.unit_amount must be an integer number of fils from 0 to "
                f"{MAX_UNIT_AMOUNT:,}",
                field=f"{path}.unit_amount",
            )
        items.append(LineItem(description, quantity, unit_amount))
    if totals(items)[2] > MAX_TOTAL:
        raise ValidationError(f"{field} add up to a total beyond {MAX_TOTAL:,} fils", field=field)
    return items


def vat(subtotal: int) -> int:
    """5 % of `subtotal` (fils, ≥ 0), rounded half up to the fil: 10 fils → 1, 9 → 0."""
    return (subtotal * VAT_PERCENT + 50) // 100


def totals(lines: list[LineItem]) -> tuple[int, int, int]:
    """(subtotal, vat, total) in fils: the sum of quantity * unit_amount, its VAT, and their sum."""
    subtotal = sum(line.amount for line in lines)
    tax = vat(subtotal)
    return subtotal, tax, subtotal + tax


def format_number(year: int, sequence: int) -> str:
    """`INV-2026-000001`: the year and the sequence, zero-padded to six digits (more if needed)."""
    return f"INV-{year}-{sequence:06d}"


def invoice_year(finalized_at: datetime) -> int:
    """The year an invoice finalized at `finalized_at` is numbered in (the date in Dubai)."""
    return finalized_at.astimezone(GST).year


def check_action(current: str, action: str) -> str:
    """The status `action` (finalize, pay, void) leads to; Conflict naming the current status."""
    sources, target = ACTIONS[action]
    if InvoiceStatus(current) not in sources:
        allowed = " or ".join(sorted(sources))
        raise Conflict(f"the invoice is {current}; only a {allowed} invoice can be {_past[action]}")
    return target.value


_past = {"finalize": "finalized", "pay": "paid", "void": "voided"}


def check_editable(current: str) -> None:
    """Raise Conflict naming the current status unless the invoice is a draft."""
    if current != InvoiceStatus.DRAFT:
        raise Conflict(f"the invoice is {current}; only a draft invoice can be edited")


def payment_idempotency_key(invoice_id: str, attempt: int = 1) -> str:
    """Stripe's Idempotency-Key for attempt `attempt` of paying `invoice_id`.

    Every retry, concurrent pay or replay of one attempt sends the same key, so Stripe creates
    at most one PaymentIntent for it. A new attempt (and key) starts only once the previous
    one is known to have charged nothing (`ends_attempt`): Stripe would otherwise replay the
    old decline for 24 h. Stripe refuses a reused key with other parameters, so the amount and
    currency of an open invoice never change.
    """
    base = f"hadar-invoice-{invoice_id}-pay"
    return base if attempt <= 1 else f"{base}-{attempt}"


def attempt_of(key: str | None) -> int:
    """The attempt number a stored payment key belongs to (0: no attempt yet)."""
    if key is None:
        return 0
    last = key.rsplit("-", 1)[-1]
    return int(last) if last.isdigit() else 1


# Payment statuses after which the attempt's intent can no longer charge: a decline (ours:
# `failed`) or a canceled intent. The next pay is then a new attempt. An intent that waits for
# the customer (requires_payment_method, requires_action, processing) may still charge, so its
# key is kept: a pay with other parameters meanwhile is Stripe's idempotency_error (409).
ENDS_ATTEMPT = frozenset({"failed", "canceled"})


def next_payment_key(invoice_id: str, *, stored: str | None, payment_status: str | None) -> str:
    """The key the next pay of an open invoice sends: the stored attempt's while it may still
    charge (a timeout, a crash before commit, requires_action), else a fresh attempt's."""
    attempt = attempt_of(stored)
    if attempt == 0 or payment_status in ENDS_ATTEMPT:
        attempt += 1
    return payment_idempotency_key(invoice_id, attempt)


_NEXT_NUMBER_SQL = (
    "INSERT INTO invoice_counters (tenant_id, environment, year, last_number) "
    "VALUES ({}, {}, {}, 1) "
    "ON CONFLICT (tenant_id, environment, year) "
    "DO UPDATE SET last_number = invoice_counters.last_number + 1 "
    "RETURNING last_number"
)


async def next_invoice_number(
    *, conn: BaseDBAsyncClient, tenant_id: str, environment: str, year: int
) -> int:
    """The next sequence number for (tenant, environment, year), taken inside `conn`'s transaction.

    One statement that inserts the year's counter at 1 or increments it (never MAX()+1), so no
    two transactions can read the same value: on PostgreSQL the upsert locks the counter row
    until commit (a concurrent finalize, in any process, waits and then sees the committed
    value; a rollback releases the number for the next one), and SQLite runs one writer at a
    time. Call it on the finalize transaction's connection (`async with in_transaction() as
    conn`), after `locks.take_write_lock(conn)` on SQLite so the finalize reads nothing stale.
    """
    marks = ["$1", "$2", "$3"] if conn.capabilities.dialect == "postgres" else ["?"] * 3
    rows = await conn.execute_query_dict(
        _NEXT_NUMBER_SQL.format(*marks), [tenant_id, environment, year]
    )
    return int(rows[0]["last_number"])
