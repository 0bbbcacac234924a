"""HADAR_LOG_FORMAT=json: one JSON object a line, each carrying the trace id the client saw (or,
during a webhook attempt, the delivery id), with no personal data or secret in any line."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from typing import Any

import pytest

from hadar.domain.tenants import ApiKey
from hadar.domain.webhooks import Delivery
from hadar.observability import logs
from hadar.services import leads as lead_service
from hadar.webhooks.worker import Worker, WorkerConfig
from tests.conftest import Workspace, lead_body
from tests.observability.conftest import Lines, Sink, access_lines

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


async def test_every_request_line_carries_the_trace_id_the_client_saw(
    ws: Workspace, json_log: Lines
) -> None:
    key = await ApiKey.get(id=ws.key_ids[("test", "admin")])
    responses = [
        await ws.request("POST", "/api/v1/leads", json=lead_body()),
        await ws.request("GET", "/api/v1/leads?limit=2"),
        await ws.request(
            "POST", "/graphql", json={"query": "{ leads(first: 1) { edges { cursor } } }"}
        ),
        await ws.client.get("/no/such/route"),
        await ws.request(
            "GET", "/api/v1/leads", headers={"traceparent": f"00-{TRACE}-00f067aa0ba902b7-01"}
        ),
    ]
    lines = json_log()
    assert all(isinstance(line, dict) for line in lines)  # every line parsed as one JSON object
    access = access_lines(lines)
    assert [line["trace_id"] for line in access] == [r.headers["x-trace-id"] for r in responses]
    assert access[-1]["trace_id"] == TRACE
    assert [(line["method"], line["route"], line["status"]) for line in access] == [
        ("POST", "/api/v1/leads", 201),
        ("GET", "/api/v1/leads", 200),
        ("POST", "/graphql", 200),
        ("GET", "<unmatched>", 404),
        ("GET", "/api/v1/leads", 200),
    ]
    for line, response in zip(access, responses, strict=True):
        assert line["level"] == "INFO" and isinstance(line["duration_ms"], float)
        assert line["timestamp"].endswith("+00:00")
        authenticated = response.request.headers.get("authorization") is not None
        assert (line["tenant"], line["key_id"]) == (
            (key.tenant_id, key.id) if authenticated else (None, None)
        )


async def test_an_internal_error_is_logged_once_with_its_trace_id_and_scrubbed_traceback(
    ws: Workspace, json_log: Lines, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(**kw: Any) -> Any:
        raise RuntimeError("could not store aisha.khan@example.com / +971501112233")

    monkeypatch.setattr(lead_service, "create_lead", broken)
    r = await ws.request("POST", "/api/v1/leads", json=lead_body())
    assert r.status_code == 500 and r.json()["error"]["code"] == "internal_error"
    (error,) = [line for line in json_log() if line["level"] == "ERROR"]
    assert error["trace_id"] == r.headers["x-trace-id"] == r.json()["error"]["trace_id"]
    assert error["logger"] == "hadar.pipeline"
    assert "RuntimeError: could not store [redacted] / [redacted]" in error["traceback"]
    assert "aisha.khan" not in json.dumps(json_log()) and "501112233" not in json.dumps(json_log())


async def test_a_webhook_attempt_logs_under_its_delivery_id(
    ws: Workspace, json_log: Lines, sink: Sink
) -> None:
    await Delivery.filter(status="pending").delete()  # only this test's delivery is due
    r = await ws.request(
        "POST", "/api/v1/webhooks", json={"url": f"{sink.url}/hooks", "events": ["*"]}
    )
    assert r.status_code == 201, r.text
    await ws.request("POST", "/api/v1/leads", json=lead_body())
    worker = Worker(WorkerConfig(allow_private=True, timeout=2.0))
    try:
        assert await worker.run_once() == 1
    finally:
        await worker.shutdown()
    (_, headers, _) = sink.received[0]
    (line,) = [line for line in json_log() if line["logger"] == "hadar.webhooks"]
    assert line["trace_id"] == headers["X-Hadar-Delivery"]
    assert line["message"].endswith(": succeeded") and sink.url not in line["message"]


def test_redaction_covers_message_arguments_and_tracebacks(json_log: Lines) -> None:
    log = logging.getLogger("hadar.test")
    token = "hdr_live_" + "a1B2" * 8
    log.warning("key %s for %s", token, {"email": "Omar@Example.AE", "phone": "+971 55 987 6543"})
    try:
        raise ValueError("Authorization: Bearer " + token)
    except ValueError:
        log.exception("secret whsec_abcdefghijklmnop leaked")
    text = json.dumps(json_log())
    for secret in (token, "a1B2a1B2", "Omar@", "987 6543", "whsec_abcdefghijklmnop"):
        assert secret not in text
    first, second = json_log()
    assert (
        first["message"]
        == "key hdr_live_[redacted] for {'email': '[redacted]', 'phone': '[redacted]'}"
    )
    assert "Authorization: [redacted]" in second["traceback"]


def test_text_format_names_the_trace_id() -> None:
    record = logging.LogRecord(
        "hadar.x", logging.INFO, __file__, 1, "hello %s", ("+971501234567",), None
    )
    handler = logs.install_filters(logging.NullHandler(), "text")
    assert handler.filter(record)
    line = handler.format(record)
    assert line.endswith("INFO hadar.x trace_id=- hello [redacted]")


def test_serve_logging_config_routes_uvicorn_through_our_json_handler() -> None:
    """What `hadar serve` hands uvicorn, applied in a fresh interpreter: uvicorn's error logger
    writes JSON through our handler, its access logger writes nothing, httpx stays quiet."""
    script = """
import logging, logging.config
from hadar.observability.logs import logging_config
logging.config.dictConfig(logging_config("json"))
logging.getLogger("uvicorn.error").info("Started server process", extra={"color_message": "x"})
logging.getLogger("uvicorn.access").info('127.0.0.1 - "GET /x?token=abc HTTP/1.1" 200')
logging.getLogger("httpx").info("HTTP Request: POST https://api.ultramsg.com/x?token=abc")
logging.getLogger("tortoise.db_client").debug("INSERT ... ['+971501234567']")
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, timeout=60, check=True
    )
    (line,) = [json.loads(text) for text in done.stderr.decode().splitlines()]
    assert "color_message" not in line
    assert (line["logger"], line["message"], line["trace_id"]) == (
        "uvicorn.error",
        "Started server process",
        None,
    )
