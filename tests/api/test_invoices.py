"""Invoices through the API: integer fils and VAT half up, the draft/open/paid/void moves,
gap-free numbers, the sandbox pay, role rules, filters, GraphQL twins and the PDF."""

from __future__ import annotations

import asyncio
import io
import unicodedata
from typing import Any

import orjson
import pytest
from pypdf import PdfReader

from hadar import clock
from hadar.domain.invoices import invoice_year
from hadar.domain.webhooks import Event
from tests.api.parity import Twin, created
from tests.conftest import Workspace, lead_body

YEAR = invoice_year(clock.now())  # invoices are dated in Dubai (UTC+4)


def line(quantity: int = 1, unit_amount: int = 100, description: str = "Commission") -> Any:
    return {"description": description, "quantity": quantity, "unit_amount": unit_amount}


async def new_lead(ws: Workspace, env: str = "test", **over: Any) -> str:
    r = await ws.request("POST", "/api/v1/leads", env=env, json=lead_body(**over))
    assert r.status_code == 201, r.text
    return str(r.json()["data"]["id"])


async def draft(ws: Workspace, lines: list[Any] | None = None, **over: Any) -> Any:
    lead = over.pop("lead_id", None) or await new_lead(ws)
    body = {"lead_id": lead, "line_items": lines or [line(1, 3_600_000)], **over}
    r = await ws.request("POST", "/api/v1/invoices", json=body)
    assert r.status_code == 201, r.text
    return r.json()["data"]


async def move(ws: Workspace, invoice_id: str, action: str, **kw: Any) -> Any:
    return await ws.request("POST", f"/api/v1/invoices/{invoice_id}/{action}", **kw)


@pytest.mark.parametrize(
    ("lines", "subtotal", "vat"),
    [
        ([line(1, 1)], 1, 0),  # 0.05 fils rounds down
        ([line(1, 9)], 9, 0),  # 0.45 fils
        ([line(1, 10)], 10, 1),  # exactly 0.5 fils rounds up
        ([line(1, 30)], 30, 2),  # 1.5 rounds up
        ([line(3, 3), line(1, 1)], 10, 1),  # VAT on the subtotal, not per line
        ([line(1, 0)], 0, 0),
    ],
)
async def test_vat_is_five_percent_of_the_subtotal_half_up(
    ws: Workspace, lines: list[Any], subtotal: int, vat: int
) -> None:
    data = await draft(ws, lines)
    assert (data["subtotal"], data["vat"], data["total"]) == (subtotal, vat, subtotal + vat)
    assert data["currency"] == "AED" and data["status"] == "draft" and data["number"] is None
    assert data["line_items"][0]["amount"] == lines[0]["quantity"] * lines[0]["unit_amount"]


async def test_100_lines_at_the_limits_total_beyond_32_bits_exactly(ws: Workspace) -> None:
    top = 10**12
    data = await draft(ws, [line(10_000, top, "x" * 500)] * 100)
    subtotal = 100 * 10_000 * top
    assert data["subtotal"] == subtotal > 2**32
    assert data["vat"] == subtotal // 20 and data["total"] == subtotal + subtotal // 20
    got = await ws.request("GET", f"/api/v1/invoices/{data['id']}")
    assert got.json()["data"]["total"] == data["total"]  # BIGINT round trip, no float
    gql = await ws.request(
        "POST",
        "/graphql",
        json={"query": f'{{ invoice(id: "{data["id"]}") {{ total lineItems {{ unitAmount }} }} }}'},
    )
    assert gql.json()["data"]["invoice"]["total"] == data["total"]
    assert gql.json()["data"]["invoice"]["lineItems"][0]["unitAmount"] == top


@pytest.mark.parametrize(
    ("lines", "field"),
    [
        ([line(1, 1)] * 101, "invoice.line_items"),
        ([], "invoice.line_items"),
        ([line(0, 1)], "invoice.line_items[0].quantity"),
        ([line(10_001, 1)], "invoice.line_items[0].quantity"),
        ([line(1, 1), line(1, -1)], "invoice.line_items[1].unit_amount"),
        ([line(1, 10.5)], "invoice.line_items[0].unit_amount"),
        ([line(1, 10**15 + 1)], "invoice.line_items[0].unit_amount"),
        ([line(10_000, 10**15)] * 100, "invoice.line_items"),  # a total beyond BIGINT
        ([line(1, True)], "invoice.line_items[0].unit_amount"),
        ([line(1, 1, "")], "invoice.line_items[0].description"),
        ([{**line(), "vat": 1}], "invoice.line_items[0].vat"),
    ],
)
async def test_bad_lines_are_400_naming_the_field(
    ws: Workspace, lines: list[Any], field: str
) -> None:
    lead = await new_lead(ws)
    r = await ws.request("POST", "/api/v1/invoices", json={"lead_id": lead, "line_items": lines})
    assert r.status_code == 400, r.text
    assert r.json()["error"] == {**r.json()["error"], "code": "validation_error", "field": field}


async def test_an_unknown_or_foreign_lead_is_404_naming_the_field(ws: Workspace) -> None:
    foreign = await new_lead(ws, env="live")
    for lead in (foreign, "lead_01HMNZ0000000000000000000Z", "nope"):
        r = await ws.request(
            "POST", "/api/v1/invoices", json={"lead_id": lead, "line_items": [line()]}
        )
        assert r.status_code == 404 and r.json()["error"]["field"] == "invoice.lead_id"


async def test_every_state_move(ws: Workspace) -> None:
    data = await draft(ws)
    inv = data["id"]
    r = await ws.request(
        "PATCH",
        f"/api/v1/invoices/{inv}",
        json={"line_items": [line(2, 50)], "due_date": "2026-07-15"},
    )
    assert r.status_code == 200
    assert (r.json()["data"]["subtotal"], r.json()["data"]["due_date"]) == (100, "2026-07-15")
    r = await ws.request("PATCH", f"/api/v1/invoices/{inv}", json={"due_date": "2026-02-30"})
    assert r.json()["error"]["field"] == "invoice.due_date"
    r = await move(ws, inv, "pay")
    assert r.status_code == 409 and "the invoice is draft" in r.json()["error"]["message"]
    r = await move(ws, inv, "finalize")
    opened = r.json()["data"]
    assert r.status_code == 200 and opened["status"] == "open"
    assert opened["number"] == f"INV-{YEAR}-000001" and opened["finalized_at"]
    for action, path in (("finalize", "finalize"), ("PATCH", None)):
        if path:
            r = await move(ws, inv, path)
        else:
            r = await ws.request("PATCH", f"/api/v1/invoices/{inv}", json={"due_date": None})
        assert r.status_code == 409, action
        assert r.json()["error"]["message"].startswith("the invoice is open")
    r = await move(ws, inv, "pay")
    paid = r.json()["data"]
    assert r.status_code == 200 and paid["status"] == "paid" and paid["paid_at"]
    assert paid["payment"]["status"] == "succeeded"
    assert paid["payment"]["intent_id"].startswith("pi_sandbox_")
    for action in ("pay", "void", "finalize"):
        r = await move(ws, inv, action)
        assert r.status_code == 409 and "the invoice is paid" in r.json()["error"]["message"]
    # draft -> void, open -> void; nothing leaves void.
    other = await draft(ws)
    assert (await move(ws, other["id"], "void")).json()["data"]["status"] == "void"
    r = await move(ws, other["id"], "finalize")
    assert r.status_code == 409 and "the invoice is void" in r.json()["error"]["message"]
    third = await draft(ws)
    numbered = (await move(ws, third["id"], "finalize")).json()["data"]["number"]
    assert numbered == f"INV-{YEAR}-000002"
    voided = (await move(ws, third["id"], "void")).json()["data"]
    assert (voided["status"], voided["number"]) == ("void", numbered)  # a number stays taken
    fourth = await draft(ws)
    assert (await move(ws, fourth["id"], "finalize")).json()["data"]["number"].endswith("000003")


async def test_paying_emits_invoice_paid_once(ws: Workspace) -> None:
    await ws.subscribe()  # events are recorded only for a subscriber
    inv = (await draft(ws))["id"]
    await move(ws, inv, "finalize")
    assert (await move(ws, inv, "pay")).status_code == 200
    assert (await move(ws, inv, "pay")).status_code == 409
    mine = await Event.filter(type="invoice.paid", payload__contains=inv).all()
    assert len(mine) == 1
    assert orjson.loads(mine[0].payload)["data"]["object"]["status"] == "paid"


async def test_a_sandbox_decline_keeps_the_invoice_open_then_another_card_pays(
    ws: Workspace,
) -> None:
    inv = (await draft(ws))["id"]
    await move(ws, inv, "finalize")
    r = await move(ws, inv, "pay", json={"payment_method": "pm_card_chargeDeclined"})
    assert r.status_code == 200
    data = r.json()["data"]
    assert data["status"] == "open" and data["paid_at"] is None
    assert data["payment"]["status"] == "failed"
    assert data["payment"]["failure_code"] == "card_declined"
    r = await move(ws, inv, "pay", json={"payment_method": "pm_card_visa"})
    assert r.json()["data"]["status"] == "paid"
    assert r.json()["data"]["payment"]["failure_code"] is None
    r = await move(ws, inv, "pay", json={"payment_method": 7})
    assert r.status_code == 400 and r.json()["error"]["field"] == "payment.payment_method"


async def test_concurrent_finalizes_never_share_or_skip_a_number(ws: Workspace) -> None:
    ids = [(await draft(ws))["id"] for _ in range(12)]
    answers = await asyncio.gather(*(move(ws, i, "finalize") for i in ids))
    numbers = sorted(a.json()["data"]["number"] for a in answers)
    assert numbers == [f"INV-{YEAR}-{n:06d}" for n in range(1, 13)]


async def test_numbers_are_per_environment(ws: Workspace) -> None:
    lead = await new_lead(ws, env="live")
    body = {"lead_id": lead, "line_items": [line()]}
    r = await ws.request("POST", "/api/v1/invoices", env="live", json=body)
    live = r.json()["data"]["id"]
    r = await ws.request("POST", f"/api/v1/invoices/{live}/finalize", env="live")
    assert r.json()["data"]["number"] == f"INV-{YEAR}-000001"
    test = (await draft(ws))["id"]
    assert (await move(ws, test, "finalize")).json()["data"]["number"] == f"INV-{YEAR}-000001"
    r = await ws.request("GET", f"/api/v1/invoices/{live}")
    assert r.status_code == 404  # the test sandbox does not see live invoices


async def test_roles_admins_write_agents_and_viewers_read(ws: Workspace) -> None:
    data = await draft(ws)
    body = {"lead_id": data["lead_id"], "line_items": [line()]}
    for role in ("agent", "viewer"):
        r = await ws.request("POST", "/api/v1/invoices", role=role, json=body)
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
        r = await ws.request("POST", f"/api/v1/invoices/{data['id']}/finalize", role=role)
        assert r.status_code == 403
        r = await ws.request("GET", f"/api/v1/invoices/{data['id']}", role=role)
        assert r.status_code == 200
        assert (await ws.request("GET", "/api/v1/invoices", role=role)).status_code == 200


async def test_filters_and_newest_first(ws: Workspace) -> None:
    lead = await new_lead(ws)
    first = await draft(ws, lead_id=lead)
    second = await draft(ws, lead_id=lead)
    await draft(ws)
    await move(ws, second["id"], "finalize")
    r = await ws.request("GET", "/api/v1/invoices", params={"lead_id": lead})
    assert [i["id"] for i in r.json()["data"]["items"]] == [second["id"], first["id"]]
    r = await ws.request("GET", "/api/v1/invoices", params={"lead_id": lead, "status": "draft"})
    assert [i["id"] for i in r.json()["data"]["items"]] == [first["id"]]
    r = await ws.request("GET", "/api/v1/invoices", params={"status": "unpaid"})
    assert r.status_code == 400 and r.json()["error"]["field"] == "status"
    page = await ws.request("GET", "/api/v1/invoices", params={"limit": 1, "lead_id": lead})
    cursor = page.json()["data"]["pagination"]["next_cursor"]
    r = await ws.request("GET", "/api/v1/invoices", params={"limit": 1, "cursor": cursor})
    assert r.status_code == 400 and r.json()["error"]["field"] == "cursor"  # bound to filters
    r = await ws.request("GET", "/api/v1/invoices", params={"cursor": "\u00e9t\u00e9.\u00e9"})
    assert r.status_code == 400 and r.json()["error"]["field"] == "cursor"  # not a 500


async def gql(ws: Workspace, query: str, role: str = "admin", **variables: Any) -> Any:
    r = await ws.request(
        "POST", "/graphql", role=role, json={"query": query, "variables": variables}
    )
    return r.json()


async def test_graphql_twins_node_and_lead_invoices_batched(ws: Workspace) -> None:
    lead = await new_lead(ws)
    created = await gql(
        ws,
        "mutation($i: InvoiceCreateInput!) { createInvoice(input: $i) { id status total } }",
        i={"leadId": lead, "lineItems": [{"description": "Fee", "quantity": 2, "unitAmount": 15}]},
    )
    inv = created["data"]["createInvoice"]
    assert (inv["status"], inv["total"]) == ("draft", 32)  # 30 + 1.5 half up
    done = await gql(ws, "mutation($id: ID!) { finalizeInvoice(id: $id) { number } }", id=inv["id"])
    assert done["data"]["finalizeInvoice"]["number"].startswith(f"INV-{YEAR}-")
    paid = await gql(
        ws,
        'mutation($id: ID!) { payInvoice(id: $id, input: {paymentMethod: "pm_card_chargeDeclined"})'
        " { status payment { status failureCode } } }",
        id=inv["id"],
    )
    assert paid["data"]["payInvoice"] == {
        "status": "open",
        "payment": {"status": "failed", "failureCode": "card_declined"},
    }
    node = await gql(
        ws, "query($id: ID!) { node(id: $id) { ... on Invoice { id status } } }", id=inv["id"]
    )
    assert node["data"]["node"] == {"id": inv["id"], "status": "open"}
    await draft(ws, lead_id=lead)
    other = await new_lead(ws)
    await draft(ws, lead_id=other)
    listed = await gql(
        ws, "{ leads(first: 10) { edges { node { id invoices { id leadId } } } } }", role="viewer"
    )
    by_lead = {e["node"]["id"]: e["node"]["invoices"] for e in listed["data"]["leads"]["edges"]}
    assert len(by_lead[lead]) == 2 and {i["leadId"] for i in by_lead[lead]} == {lead}
    assert len(by_lead[other]) == 1
    denied = await gql(
        ws, "mutation($id: ID!) { voidInvoice(id: $id) { id } }", role="agent", id=inv["id"]
    )
    assert denied["errors"][0]["extensions"]["code"] == "forbidden"


def _pdf_text(content: bytes) -> str:
    reader = PdfReader(io.BytesIO(content))
    return "\n".join(page.extract_text() for page in reader.pages)


async def test_the_printable_invoice_pdf(ws: Workspace) -> None:
    lead = await new_lead(ws, name="Aisha Khan")
    data = await draft(ws, [line(1, 3_600_000, "Commission Marina Gate"), line(2, 5)], lead_id=lead)
    await move(ws, data["id"], "finalize")
    r = await ws.request("GET", f"/api/v1/invoices/{data['id']}.pdf", role="viewer")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    assert r.content.startswith(b"%PDF")
    raw = _pdf_text(r.content)
    text = unicodedata.normalize("NFKC", raw)  # Arabic presentation forms -> letters
    for expected in (
        f"INV-{YEAR}-",
        "Tax invoice",
        "Aisha Khan",
        "Commission Marina Gate",
        "AED 36,000.10",  # subtotal 3,600,010 fils
        "AED 1,800.01",  # VAT 180,000.5 fils, half up
        "AED 37,800.11",
    ):
        assert expected in text, expected
    # The Arabic headings are drawn shaped (joined presentation forms, not isolated letters)
    # and read back in logical order.
    assert "فاتورة ضريبية" in text and "الإجمالي" in text
    assert any("\ufe70" <= char <= "\ufeff" for char in raw)
    r = await ws.request("GET", "/api/v1/invoices/inv_01HMNZ0000000000000000000Z.pdf")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


async def test_a_lead_with_invoices_cannot_be_deleted(ws: Workspace) -> None:
    data = await draft(ws)
    r = await ws.request("DELETE", f"/api/v1/leads/{data['lead_id']}")
    assert r.status_code == 409 and r.json()["error"]["code"] == "conflict"
    assert (await ws.request("GET", f"/api/v1/invoices/{data['id']}")).status_code == 200


PARITY_LINES = [{"description": "Commission", "quantity": 1, "unit_amount": 3600000}]


async def _invoices_setup(ws: Workspace, ids: dict[str, str]) -> dict[str, str]:
    """A draft to edit, finalize or void, and an open invoice to pay."""
    invoice = {"lead_id": ids["lead"], "line_items": PARITY_LINES}
    inv, inv_open = [(await created(ws, "/api/v1/invoices", invoice))["id"] for _ in range(2)]
    await created(ws, f"/api/v1/invoices/{inv_open}/finalize")
    return {"inv": inv, "inv_open": inv_open}


# The twins of the invoice mutations, for tests/api/test_operation_parity.py.
PARITY = {
    "invoices.create": Twin(
        lambda ids: (
            "POST",
            "/api/v1/invoices",
            {"lead_id": ids["lead"], "line_items": PARITY_LINES},
        ),
        lambda ids: (
            "mutation($i: InvoiceCreateInput!) { createInvoice(input: $i) { id total } }",
            {
                "i": {
                    "leadId": ids["lead"],
                    "lineItems": [
                        {"description": "Commission", "quantity": 1, "unitAmount": 3600000}
                    ],
                }
            },
        ),
    ),
    "invoices.update": Twin(
        lambda ids: ("PATCH", f"/api/v1/invoices/{ids['inv']}", {"due_date": "2026-07-15"}),
        lambda ids: (
            'mutation($id: ID!) { updateInvoice(id: $id, input: {dueDate: "2026-07-15"}) '
            "{ id dueDate } }",
            {"id": ids["inv"]},
        ),
        setup=_invoices_setup,
    ),
    "invoices.finalize": Twin(
        lambda ids: ("POST", f"/api/v1/invoices/{ids['inv']}/finalize", None),
        lambda ids: (
            "mutation($id: ID!) { finalizeInvoice(id: $id) { id number } }",
            {"id": ids["inv"]},
        ),
        setup=_invoices_setup,
    ),
    "invoices.pay": Twin(
        lambda ids: ("POST", f"/api/v1/invoices/{ids['inv_open']}/pay", None),
        lambda ids: (
            "mutation($id: ID!) { payInvoice(id: $id) { id status payment { status } } }",
            {"id": ids["inv_open"]},
        ),
        setup=_invoices_setup,
    ),
    "invoices.void": Twin(
        lambda ids: ("POST", f"/api/v1/invoices/{ids['inv']}/void", None),
        lambda ids: (
            "mutation($id: ID!) { voidInvoice(id: $id) { id status } }",
            {"id": ids["inv"]},
        ),
        setup=_invoices_setup,
    ),
}
