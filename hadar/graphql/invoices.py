"""GraphQL twins of the invoice routes (amounts as BigInt fils), and a lead's invoices."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.types import Info

from hadar.domain.invoices import INVOICES
from hadar.domain.invoices import Invoice as InvoiceRow
from hadar.graphql.context import Context
from hadar.graphql.derive import as_body, input_type, object_type
from hadar.graphql.types import Connection, Node, NodeKind, mutation, query
from hadar.services import invoices as service
from hadar.services import payments

Invoice = object_type(service.InvoiceOut, interfaces=(Node,))
InvoiceCreateInput = input_type(service.InvoiceCreate, "InvoiceCreateInput")
InvoiceUpdateInput = input_type(service.InvoiceUpdate, "InvoiceUpdateInput", optional=True)
InvoicePayInput = input_type(payments.InvoicePay, "InvoicePayInput", optional=True)


def invoice_of(row: InvoiceRow) -> Any:
    return Invoice.from_dict(service.present_invoice(row))  # type: ignore[attr-defined]


async def find_invoice(context: Context, invoice_id: str) -> Any:
    """One invoice by id in the caller's sandbox (NotFound otherwise)."""
    return invoice_of(await service.get_invoice(scope=context.scope, invoice_id=invoice_id))


NODES = (NodeKind("inv", Invoice, INVOICES, find_invoice),)


async def lead_invoices(root: Any, info: Info[Context, None]) -> list[Invoice]:
    """The lead's invoices, newest first (at most 100), batched for a page of leads."""
    # Invoices fail closed (SPEC 5) even when reached through a lead.
    await info.context.runtime.guard.require_reachable()
    rows = await info.context.loaders.children(
        InvoiceRow, "lead_id", resource=INVOICES, per_parent=service.LEAD_INVOICES
    ).load(str(root.id))
    return [invoice_of(row) for row in rows]


@strawberry.type
class Query:
    @query(
        service.LIST,
        "Invoices, newest first (REST: GET /api/v1/invoices; first = limit, after = cursor).",
    )
    async def invoices(
        self,
        info: Info[Context, None],
        first: int | None = None,
        after: str | None = None,
        status: str | None = None,
        lead_id: str | None = None,
    ) -> Connection[Invoice]:
        page = await service.list_invoices(
            scope=info.context.scope, limit=first, cursor=after, status=status, lead_id=lead_id
        )
        return Connection.of(page, invoice_of, after=after)

    @query(service.RETRIEVE, "One invoice (REST: GET /api/v1/invoices/{id}).")
    async def invoice(self, info: Info[Context, None], id: strawberry.ID) -> Invoice:
        return await find_invoice(info.context, str(id))


@strawberry.type
class Mutation:
    @mutation(service.CREATE, "Create a draft invoice (REST: POST /api/v1/invoices).")
    async def create_invoice(
        self,
        info: Info[Context, None],
        input: InvoiceCreateInput,
    ) -> Invoice:
        row = await service.create_invoice(scope=info.context.scope, data=as_body(input))
        return invoice_of(row)

    @mutation(service.UPDATE, "Change a draft (REST: PATCH /api/v1/invoices/{id}).")
    async def update_invoice(
        self,
        info: Info[Context, None],
        id: strawberry.ID,
        input: InvoiceUpdateInput,
    ) -> Invoice:
        row = await service.update_invoice(
            scope=info.context.scope, invoice_id=str(id), data=as_body(input)
        )
        return invoice_of(row)

    @mutation(
        service.FINALIZE,
        "draft -> open with the next gap-free number (REST: POST /api/v1/invoices/{id}/finalize).",
    )
    async def finalize_invoice(self, info: Info[Context, None], id: strawberry.ID) -> Invoice:
        row = await service.finalize_invoice(scope=info.context.scope, invoice_id=str(id))
        return invoice_of(row)

    @mutation(payments.PAY, "Pay an open invoice (REST: POST /api/v1/invoices/{id}/pay).")
    async def pay_invoice(
        self,
        info: Info[Context, None],
        id: strawberry.ID,
        input: InvoicePayInput | None = None,
    ) -> Invoice:
        row = await payments.pay_invoice(
            scope=info.context.scope,
            invoice_id=str(id),
            data=as_body(input) if input is not None else None,
        )
        return invoice_of(row)

    @mutation(service.VOID, "draft|open -> void (REST: POST /api/v1/invoices/{id}/void).")
    async def void_invoice(self, info: Info[Context, None], id: strawberry.ID) -> Invoice:
        row = await service.void_invoice(scope=info.context.scope, invoice_id=str(id))
        return invoice_of(row)
