"""The suite-wide leak check itself: it is on, it sees through our filters, and it finds a value
in the spellings a leak takes."""

from __future__ import annotations

import json
import logging

from tests import leakcheck


def test_the_suite_capture_is_on_and_writes_what_our_filters_let_through() -> None:
    assert leakcheck._handler is not None and leakcheck._handler in logging.getLogger().handlers
    logging.getLogger("hadar.probe").debug("probe for %s", "+971509998877")
    leakcheck._handler.flush()
    text = leakcheck.PATH.read_text("utf-8")
    messages = [json.loads(line)["message"] for line in text.splitlines()]
    assert "probe for [redacted]" in messages and "509998877" not in text


def test_a_value_is_found_in_every_spelling_a_leak_takes() -> None:
    token = "hdr_test_" + "Zx9" * 10 + "Q1"
    lines = [
        '{"message": "ok"}',
        f'{{"message": "body only {token[9:]}"}}',
        '{"message": "wa id 971509998877 replied"}',
        '{"message": "GET /x?e=Sara%40Agency.ae"}',
    ]
    found = leakcheck.offending_lines(lines, {token, "+971509998877", "sara@agency.ae"})
    assert found == [
        '{"message": "body only <TEST VALUE>"}',
        '{"message": "wa id <TEST VALUE> replied"}',
        '{"message": "GET /x?e=<TEST VALUE>"}',
    ]
