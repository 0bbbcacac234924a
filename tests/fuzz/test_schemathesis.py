"""schemathesis against a live `hadar serve`: every operation, bounded and derandomised.

No 5xx, no response outside its documented schema, status code or content type.
"""

from __future__ import annotations

import json
import re
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.fuzz import LiveServer, live_server

MAX_EXAMPLES = 25
VALID_ID = re.compile(r"^[a-z]+_[0-9A-HJKMNP-TV-Z]{26}$")
VALID_KEY = re.compile(r"^[!-~]([ -~]{0,253}[!-~])?$")
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


class _Alternate:
    def __init__(self) -> None:
        self.flag = False

    def next(self) -> bool:
        self.flag = not self.flag
        return self.flag


STEP = _Alternate()
STATUSES: Counter[tuple[str, int]] = Counter()  # (operation, status) -> cases


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    # A negotiated limit far above what the run sends, so fuzzing never meets a 429.
    # No webhook worker: fuzzed endpoints must never be called. Private URLs are allowed so
    # the webhook routes can be exercised against real endpoints (see `existing`).
    with live_server(
        tmp_path_factory.mktemp("fuzz"),
        rate_limit=1_000_000,
        env={"HADAR_ALLOW_PRIVATE_WEBHOOK_URLS": "1"},
        serve_args=("--no-worker",),
    ) as live:
        served = httpx.get(f"{live.url}/developers/openapi.json").content
        assert served == COMMITTED.read_bytes(), "the served document differs from schema/"
        yield live
    print(f"\nschemathesis: {STATUSES.total()} cases against {live.url}")
    for (label, status), n in sorted(STATUSES.items()):
        print(f"  {label}: {status} x{n}")


# pytest 9 and schemathesis' lazy `from_fixture` loader do not get along, so the document is
# loaded at collection from the committed file; `server` checks the live one is identical.
COMMITTED = Path(__file__).parents[2] / "schema" / "openapi.json"
schema = schemathesis.openapi.from_dict(
    json.loads(COMMITTED.read_text(encoding="utf-8")),
    config=SchemathesisConfig.from_dict(
        {"generation": {"max-examples": MAX_EXAMPLES, "deterministic": True}}
    ),
)


def existing(server: LiveServer, name: str) -> str | None:
    """A fresh resource for path parameter `name`, so id routes act on real rows too."""
    create = {
        "lead_id": ("/api/v1/leads", {"name": "Fuzz", "email": f"{uuid.uuid4().hex}@ex.com"}),
        "key_id": ("/api/v1/api_keys", {"role": "viewer", "expires_in_seconds": 600}),
        "webhook_id": ("/api/v1/webhooks", {"url": "http://127.0.0.1:9/hook", "events": ["*"]}),
    }
    if name not in create:
        return None
    path, body = create[name]
    headers = {"Authorization": f"Bearer {server.token}"}
    r = httpx.post(server.url + path, json=body, headers=headers, timeout=10)
    assert r.status_code == 201, r.text
    return str(r.json()["data"]["id"])


@schema.parametrize()
def test_api(case: Any, server: LiveServer) -> None:
    for name, value in (case.path_parameters or {}).items():
        # Generated ids are well-formed but unknown (404); every other case uses a real row.
        if isinstance(value, str) and VALID_ID.match(value) and STEP.next():
            case.path_parameters[name] = existing(server, name) or value
    key = (case.headers or {}).get("Idempotency-Key")
    if key is not None and VALID_KEY.match(key):
        # Generated keys repeat across cases with different bodies (a 409 every time); a fresh
        # one lets the operation run. Malformed keys are kept: they must answer 400.
        case.headers["Idempotency-Key"] = str(uuid.uuid4())
    response = case.call_and_validate(
        base_url=server.url,
        headers={"Authorization": f"Bearer {server.token}"},
        checks=CHECKS,
        timeout=10,
    )
    STATUSES[(case.operation.label, response.status_code)] += 1
