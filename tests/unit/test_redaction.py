"""The redaction net: what it scrubs, and what it must leave readable."""

from __future__ import annotations

import pytest

from hadar.observability.redaction import scrub, scrub_value

TOKEN = "hdr_test_" + "0123456789abcdefghijABCDEFGHIJKL"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"key {TOKEN} used", "key hdr_test_[redacted] used"),
        ("typo hdr_live_abc123", "typo hdr_live_[redacted]"),
        ("secret whsec_Zm9vYmFyYmF6cXV4", "secret whsec_[redacted]"),
        (f"Authorization: Bearer {TOKEN}", "Authorization: [redacted]"),
        ('{"authorization": "Basic dXNlcjpwYXNz"}', '{"authorization": "[redacted]"}'),
        ("sent Bearer abcdef123456 upstream", "sent Bearer [redacted] upstream"),
        ("lead Aisha.Khan+dxb@Example.COM merged", "lead [redacted] merged"),
        ("from 971501234567@c.us", "from [redacted]"),
        ("call +971501234567 now", "call [redacted] now"),
        ("call +971 50 123 4567 now", "call [redacted] now"),
        ("GET /x?e=aisha%40example.com&p=%2B971501234567", "GET /x?e=[redacted]&p=[redacted]"),
    ],
)
def test_secrets_and_people_are_scrubbed(text: str, expected: str) -> None:
    assert scrub(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "GET /api/v1/leads/{lead_id} 200 3.1ms tenant=ten_01M8SYJTMXXFPDCFTM4JPAV6TY key=-",
        "trace_id=4bf92f35-77b3-4da6-a3ce-929d0e0e4736 at 2026-05-15T08:42:11.103+04:00",
        "delivery dlv_01HMNZ8Q of lead.created to whk_01HMNZ: retrying",
        "purged 51 expired idempotency records; limit 1000 +5%",
    ],
)
def test_ordinary_lines_are_left_alone(text: str) -> None:
    assert scrub(text) == text


def test_nested_values_are_scrubbed_and_keep_their_shape() -> None:
    value = {"a": ["x@y.ae", ("+971501234567", 3)], "n": None, "ok": "fine"}
    assert scrub_value(value) == {"a": ["[redacted]", ("[redacted]", 3)], "n": None, "ok": "fine"}
