"""Invoice arithmetic in integer fils (VAT half up, beyond 32 bits), line item limits, number
format, the draft/open/paid/void state machine and the Stripe idempotency key."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from hadar.domain.invoices import (
    ACTIONS,
    LineItem,
    attempt_of,
    check_action,
    check_editable,
    format_number,
    invoice_year,
    line_items,
    next_payment_key,
    payment_idempotency_key,
    totals,
    vat,
)
from hadar.errors import Conflict, ValidationError


def line(quantity: int = 1, unit_amount: int = 100, description: str = "Commission") -> Any:
    return {"description": description, "quantity": quantity, "unit_amount": unit_amount}


@pytest.mark.parametrize(
    ("subtotal", "expected"),
    [
        (0, 0),
        (1, 0),  # 0.05 fils
        (9, 0),  # 0.45 fils rounds down
        (10, 1),  # exactly 0.5 fils rounds up
        (11, 1),
        (29, 1),  # 1.45
        (30, 2),  # 1.5 rounds up
        (100, 5),
        (199_990, 10_000),  # 9,999.5 rounds up
        (199_989, 9_999),  # 9,999.45 rounds down
    ],
)
def test_vat_is_five_percent_rounded_half_up_to_the_fil(subtotal: int, expected: int) -> None:
    assert vat(subtotal) == expected


def test_totals_of_one_fil() -> None:
    assert totals([LineItem("x", 1, 1)]) == (1, 0, 1)


def test_totals_sum_quantity_times_unit_amount() -> None:
    items = [LineItem("Commission 2%", 1, 3_600_000_00), LineItem("Admin fee", 3, 1_050)]
    subtotal = 360_000_000 + 3_150
    assert totals(items) == (subtotal, vat(subtotal), subtotal + vat(subtotal))
    assert totals(items) == (360_003_150, 18_000_158, 378_003_308)


def test_totals_beyond_32_bits_are_exact() -> None:
    # 100 lines of 10,000 x 10^12 fils: 10^18 fils, far past 2^32 and exact to the fil.
    items = [LineItem("Tower", 10_000, 10**12 + 1) for _ in range(100)]
    subtotal = 100 * 10_000 * (10**12 + 1)
    assert subtotal > 2**63 // 10
    assert totals(items) == (subtotal, (subtotal * 5 + 50) // 100, subtotal + vat(subtotal))
    assert all(isinstance(v, int) for v in totals(items))


def test_valid_line_items() -> None:
    assert line_items([line(2, 500)]) == [LineItem("Commission", 2, 500)]


def test_hundred_lines_at_every_limit_are_accepted() -> None:
    raw = [line(10_000, 0, "d" * 500) for _ in range(99)] + [line(1, 10**15, "x")]
    items = line_items(raw)
    assert len(items) == 100
    assert totals(items)[0] == 10**15


def field_of(raw: Any) -> str | None:
    try:
        line_items(raw)
    except ValidationError as exc:
        return exc.field
    return None


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ([], "invoice.line_items"),
        ([line()] * 101, "invoice.line_items"),
        ("not a list", "invoice.line_items"),
        ([line(), "x"], "invoice.line_items[1]"),
        ([line(0)], "invoice.line_items[0].quantity"),
        ([line(10_001)], "invoice.line_items[0].quantity"),
        ([line(-1)], "invoice.line_items[0].quantity"),
        ([line(), line(1.0)], "invoice.line_items[1].quantity"),
        ([line(True)], "invoice.line_items[0].quantity"),
        ([line("2")], "invoice.line_items[0].quantity"),
        ([line(1, -1)], "invoice.line_items[0].unit_amount"),
        ([line(1, 10.5)], "invoice.line_items[0].unit_amount"),
        ([line(1, False)], "invoice.line_items[0].unit_amount"),
        ([line(description="")], "invoice.line_items[0].description"),
        ([line(description="   ")], "invoice.line_items[0].description"),
        ([line(description="d" * 501)], "invoice.line_items[0].description"),
        ([{"quantity": 1, "unit_amount": 1}], "invoice.line_items[0].description"),
        ([{**line(), "tax": 5}], "invoice.line_items[0].tax"),
    ],
)
def test_invalid_line_items_name_the_field(raw: Any, field: str) -> None:
    assert field_of(raw) == field


def test_exactly_100_lines_pass_and_101_fail() -> None:
    assert field_of([line()] * 100) is None
    assert field_of([line()] * 101) == "invoice.line_items"


def test_number_format() -> None:
    assert format_number(2026, 1) == "INV-2026-000001"
    assert format_number(2026, 42) == "INV-2026-000042"
    assert format_number(2027, 999_999) == "INV-2027-999999"
    assert format_number(2027, 1_000_000) == "INV-2027-1000000"


def test_the_number_year_is_the_date_in_dubai() -> None:
    assert invoice_year(datetime(2026, 12, 31, 19, 59, 59, tzinfo=UTC)) == 2026
    assert invoice_year(datetime(2026, 12, 31, 20, 0, 0, tzinfo=UTC)) == 2027


ALL = ("draft", "open", "paid", "void")
ALLOWED = {("draft", "finalize"): "open", ("open", "pay"): "paid"} | {
    (s, "void"): "void" for s in ("draft", "open")
}


@pytest.mark.parametrize("current", ALL)
@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_every_move_allowed_or_refused_naming_the_current_status(current: str, action: str) -> None:
    if (current, action) in ALLOWED:
        assert check_action(current, action) == ALLOWED[(current, action)]
        return
    with pytest.raises(Conflict) as info:
        check_action(current, action)
    assert f"the invoice is {current}" in info.value.message


def test_only_drafts_are_editable() -> None:
    check_editable("draft")
    for status in ("open", "paid", "void"):
        with pytest.raises(Conflict) as info:
            check_editable(status)
        assert status in info.value.message


def test_idempotency_key_is_derived_from_the_invoice_alone() -> None:
    key = payment_idempotency_key("inv_01JABCDEFGHJKMNPQRSTVWXYZ0")
    assert key == payment_idempotency_key("inv_01JABCDEFGHJKMNPQRSTVWXYZ0")
    assert "inv_01JABCDEFGHJKMNPQRSTVWXYZ0" in key
    assert key != payment_idempotency_key("inv_01JABCDEFGHJKMNPQRSTVWXYZ1")
    assert len(key) <= 255


INV = "inv_01JABCDEFGHJKMNPQRSTVWXYZ0"


@pytest.mark.parametrize(
    ("stored", "status", "expected"),
    [
        (None, None, f"hadar-invoice-{INV}-pay"),  # the first attempt
        # A timeout or crash rolled back: nothing committed, the same key again.
        (f"hadar-invoice-{INV}-pay", None, f"hadar-invoice-{INV}-pay"),
        # The intent may still charge (the customer is confirming): keep its key.
        (f"hadar-invoice-{INV}-pay", "requires_action", f"hadar-invoice-{INV}-pay"),
        (f"hadar-invoice-{INV}-pay", "processing", f"hadar-invoice-{INV}-pay"),
        (f"hadar-invoice-{INV}-pay", "requires_payment_method", f"hadar-invoice-{INV}-pay"),
        # Committed outcomes that charged nothing start the next attempt.
        (f"hadar-invoice-{INV}-pay", "failed", f"hadar-invoice-{INV}-pay-2"),
        (f"hadar-invoice-{INV}-pay-2", "canceled", f"hadar-invoice-{INV}-pay-3"),
        (f"hadar-invoice-{INV}-pay-9", "failed", f"hadar-invoice-{INV}-pay-10"),
    ],
)
def test_the_next_payment_key_changes_only_after_an_attempt_that_charged_nothing(
    stored: str | None, status: str | None, expected: str
) -> None:
    assert next_payment_key(INV, stored=stored, payment_status=status) == expected
    assert attempt_of(expected) == int(expected.rsplit("-", 1)[-1]) if expected[-1] != "y" else 1
