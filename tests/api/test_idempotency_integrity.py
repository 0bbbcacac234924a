"""Only the Idempotency-Key's own uniqueness means "still being processed" (SPEC 6): an
operation that hits a unique constraint of its own under a key answers with its own error.

Once, any IntegrityError raised under a key became 409 "still being processed" with
Retry-After: 1, so a client retried a request that could never succeed, forever.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest
from tortoise.exceptions import IntegrityError

from hadar import clock
from hadar.domain.leads import Lead
from hadar.domain.records import IdempotencyRecord
from hadar.domain.scope import Scope
from hadar.errors import HadarError
from hadar.platform import idempotency
from hadar.platform.guard import Guard
from hadar.platform.idempotency import Outcome
from hadar.platform.store import MemoryStore
from tests.conftest import Workspace, lead_body

LEADS = "/api/v1/leads"
BUSY = "still being processed"


def assert_phone_conflict(body: dict) -> None:
    error = body["error"]
    assert error["code"] == "conflict", body
    assert error["field"] == "lead.phone", body
    assert BUSY not in error["message"], body


async def test_a_patch_onto_another_leads_phone_is_its_own_conflict_under_a_key(
    ws: Workspace,
) -> None:
    taken = lead_body()
    await ws.request("POST", LEADS, json=taken)
    r = await ws.request("POST", LEADS, json=lead_body())
    other = r.json()["data"]["id"]
    key = {"Idempotency-Key": str(uuid.uuid4())}
    r = await ws.request("PATCH", f"{LEADS}/{other}", json={"phone": taken["phone"]}, headers=key)
    assert r.status_code == 409, r.text
    assert_phone_conflict(r.json())
    assert "retry-after" not in r.headers
    # Remembered as what it was: the retry replays the same conflict, it does not run again.
    again = await ws.request(
        "PATCH", f"{LEADS}/{other}", json={"phone": taken["phone"]}, headers=key
    )
    assert again.headers["idempotent-replayed"] == "true" and again.content == r.content


async def test_racing_patches_onto_one_phone_each_answer_with_their_own_outcome(
    ws: Workspace,
) -> None:
    """Concurrent PATCHes of different leads to one new phone, each under its own key: on
    PostgreSQL the losers' pre-checks pass and their UPDATE hits the unique index. Exactly one
    wins; every other answers the phone conflict, never "still being processed"."""
    for _ in range(4):
        ids = []
        for _ in range(4):
            r = await ws.request("POST", LEADS, json=lead_body())
            ids.append(r.json()["data"]["id"])
        phone = lead_body()["phone"]
        answers = await asyncio.gather(
            *(
                ws.request(
                    "PATCH",
                    f"{LEADS}/{lead_id}",
                    json={"phone": phone},
                    headers={"Idempotency-Key": str(uuid.uuid4())},
                )
                for lead_id in ids
            )
        )
        assert sorted(a.status_code for a in answers) == [200, 409, 409, 409], [
            a.text for a in answers
        ]
        for answer in answers:
            if answer.status_code == 409:
                assert_phone_conflict(answer.json())


async def test_an_integrity_error_of_the_operation_is_not_the_keys(ws: Workspace) -> None:
    """Through the idempotency layer itself, with a real unique violation from the database:
    the operation's IntegrityError surfaces as it is, nothing is stored, and the key is free
    again (a retry runs rather than being told the first is still running)."""
    r = await ws.request("POST", LEADS, json=lead_body())
    lead = await Lead.get(id=r.json()["data"]["id"])
    scope = Scope(
        tenant_id=lead.tenant_id, environment=lead.environment, role="admin", key_id="key_x"
    )
    guard = Guard(MemoryStore(), shared=False)
    key = str(uuid.uuid4())
    runs = 0

    async def duplicate() -> Outcome:
        nonlocal runs
        runs += 1
        at = clock.now()
        await Lead.create(
            id=f"lead_{uuid.uuid4().hex[:26].upper()}",
            tenant_id=lead.tenant_id,
            environment=lead.environment,
            name="Twin",
            phone=lead.phone,  # the unique (tenant, environment, phone) of an existing lead
            source="other",
            created_at=at,
            updated_at=at,
        )
        return Outcome(201, b"{}")

    def render(err: HadarError) -> Outcome:
        return Outcome(err.status, err.message.encode())

    for _ in range(2):
        with pytest.raises(IntegrityError):
            await idempotency.perform(
                guard=guard,
                scope=scope,
                key=key,
                method="POST",
                path=LEADS,
                canonical_body=b"{}",
                run=duplicate,
                render_error=render,
            )
    assert runs == 2
    assert await IdempotencyRecord.filter(tenant_id=lead.tenant_id, key=key).count() == 0
    assert await Lead.filter(tenant_id=lead.tenant_id, phone=lead.phone).count() == 1
