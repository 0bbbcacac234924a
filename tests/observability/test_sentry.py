"""HADAR_SENTRY_DSN: every internal_error reaches Sentry tagged with the trace id the client saw,
with nothing personal in the envelope; without a DSN the SDK is never started."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from hadar.observability import report_breaker_open
from hadar.observability.sentry import flush, shutdown_sentry
from hadar.services import leads as lead_service
from tests.conftest import Workspace
from tests.observability.conftest import AppFactory, Sink

EMAIL, PHONE = "layla.haddad@example.org", "+971525550142"


def events(sink: Sink) -> list[dict[str, Any]]:
    """The event items of every envelope the fake ingestion endpoint received."""
    found = []
    for path, _, body in sink.received:
        assert path == "/api/1/envelope/"
        lines = body.split(b"\n")
        for header, payload in zip(lines[1::2], lines[2::2], strict=False):
            if json.loads(header).get("type") == "event":
                found.append(json.loads(payload))
    return found


# Module-level, so the source lines Sentry sends around the raise hold no test values.
async def failing_create(**kw: Any) -> Any:
    raise RuntimeError(f"duplicate key for {kw['data']['email']}")


async def failing_list(**kw: Any) -> Any:
    raise RuntimeError("resolver exploded")


@pytest.fixture
def sentry_sink(sink: Sink) -> Iterator[tuple[Sink, str]]:
    try:
        yield sink, f"http://public@127.0.0.1:{sink.port}/1"
    finally:
        shutdown_sentry()


async def test_an_internal_error_arrives_with_its_trace_id_and_no_personal_data(
    app_with: AppFactory, sentry_sink: tuple[Sink, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    sink, dsn = sentry_sink
    client = await app_with(sentry_dsn=dsn)
    ws = Workspace(client, f"t-{uuid.uuid4().hex[:12]}")
    token = await ws.key()

    monkeypatch.setattr(lead_service, "create_lead", failing_create)
    idempotency = f"idem-{uuid.uuid4()}"
    body = {"name": "Layla Haddad", "phone": PHONE, "email": EMAIL, "notes": "body-marker-7731"}
    r = await ws.request(
        "POST",
        "/api/v1/leads",
        json=body,
        headers={"Idempotency-Key": idempotency, "Cookie": "session=cookie-marker-5521"},
    )
    assert r.status_code == 500 and r.json()["error"]["code"] == "internal_error"
    flush()

    (event,) = events(sink)
    assert event["tags"]["trace_id"] == r.headers["x-trace-id"] == r.json()["error"]["trace_id"]
    assert event["tags"]["error_code"] == "internal_error"
    assert (
        event["tags"]["tenant"].startswith("ten_")
        and event["tags"]["key_id"] == ws.key_ids[("test", "admin")]
    )
    (exception,) = event["exception"]["values"]
    assert exception["type"] == "RuntimeError"
    assert exception["value"] == "duplicate key for [redacted]"
    assert event["request"] == {"method": "POST", "url": "http://hadar.test/api/v1/leads"}
    assert "user" not in event
    raw = b"".join(received for _, _, received in sink.received).decode()
    for secret in (token, token[9:], EMAIL, "layla", PHONE, PHONE[1:], "Layla Haddad", idempotency):
        assert secret not in raw
    for marker in ("body-marker-7731", "cookie-marker-5521", "bearer", "authorization"):
        assert marker not in raw.lower()


async def test_graphql_internal_errors_and_breaker_openings_are_reported(
    app_with: AppFactory, sentry_sink: tuple[Sink, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    sink, dsn = sentry_sink
    client = await app_with(sentry_dsn=dsn)
    ws = Workspace(client, f"t-{uuid.uuid4().hex[:12]}")

    monkeypatch.setattr(lead_service, "list_lead_rows", failing_list)
    r = await ws.request("POST", "/graphql", json={"query": "{ leads { edges { cursor } } }"})
    (error,) = r.json()["errors"]
    assert error["extensions"]["code"] == "internal_error"
    report_breaker_open("ten_01ABC", "meta")
    flush()
    reported, breaker = events(sink)
    assert (
        reported["tags"]["trace_id"] == error["extensions"]["trace_id"] == r.headers["x-trace-id"]
    )
    assert reported["exception"]["values"][0]["value"] == "resolver exploded"
    assert breaker["tags"] == {
        "tenant": "ten_01ABC",
        "provider": "meta",
        "error_code": "service_unavailable",
    }
    assert breaker["level"] == "error"
    assert "meta circuit breaker opened" in json.dumps(breaker)


def test_without_a_dsn_nothing_is_started_or_patched(tmp_path: Any) -> None:
    script = """
import threading
import sentry_sdk
from starlette.applications import Starlette
from starlette import routing
from hadar.app import create_app
from hadar.observability import report_internal
from hadar.settings import Settings
create_app(Settings(database_url="sqlite://:memory:", secret_key="s" * 32))
report_internal(RuntimeError("x"), "t")
print(sentry_sdk.get_client().is_active(), Starlette.__call__.__name__,
      routing.request_response.__name__, sorted(t.name for t in threading.enumerate()))
"""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HADAR_", "SENTRY_"))}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, cwd=tmp_path, capture_output=True, timeout=60
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    assert done.stdout.decode().split() == [
        "False",
        "__call__",
        "request_response",
        "['MainThread']",
    ]
