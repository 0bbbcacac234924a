"""Migration 0004 on the session database (SQLite, or PostgreSQL when HADAR_TEST_DATABASE_URL is
set): the uniqueness rules the services rely on, PostgreSQL's booking exclusion constraints,
candidate narrowing in SQL, and gap-free invoice numbers under concurrent finalizes."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
from tortoise import Tortoise
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from hadar.domain.bookings import AGENT_CONSTRAINT, PROPERTY_CONSTRAINT, Booking
from hadar.domain.conversations import Conversation, Message
from hadar.domain.integrations import Integration
from hadar.domain.invoices import next_invoice_number
from hadar.domain.leads import Lead
from hadar.domain.locks import take_write_lock
from hadar.domain.matching import LeadWish, candidate_filter
from hadar.domain.properties import Property
from hadar.domain.rows import fetch_sql
from hadar.domain.templates import Template
from hadar.domain.tenants import Tenant
from hadar.ids import new_id
from hadar.settings import Settings

NOW = datetime(2026, 5, 16, 8, 0, tzinfo=UTC)


def on_postgres() -> bool:
    return Tortoise.get_connection("default").capabilities.dialect == "postgres"


@dataclass
class World:
    tenant: Tenant
    lead: Lead
    env: str = "test"

    def scoped(self, **kw: Any) -> dict[str, Any]:
        return {"tenant_id": self.tenant.id, "environment": self.env, **kw}


async def make_world() -> World:
    tenant = await Tenant.create(
        id=new_id("ten", NOW), slug=f"s-{uuid.uuid4().hex[:12]}", name="Agency", created_at=NOW
    )
    lead = await Lead.create(
        id=new_id("lead", NOW),
        tenant_id=tenant.id,
        environment="test",
        name="Aisha Khan",
        phone=f"+97150{uuid.uuid4().int % 10_000_000:07d}",
        source="bayut",
        created_at=NOW,
        updated_at=NOW,
    )
    return World(tenant, lead)


async def conversation(w: World, channel: str = "whatsapp") -> Conversation:
    return await Conversation.create(
        id=new_id("conv", NOW), **w.scoped(lead_id=w.lead.id, channel=channel),
        created_at=NOW, updated_at=NOW,
    )  # fmt: skip


async def message(w: World, conv: Conversation, provider: str, pmid: str | None) -> Message:
    return await Message.create(
        id=new_id("msg", NOW),
        **w.scoped(conversation_id=conv.id, lead_id=w.lead.id),
        direction="inbound",
        kind="text",
        text="hello",
        status="delivered",
        provider=provider,
        provider_message_id=pmid,
        created_at=NOW,
        status_changed_at=NOW,
    )


async def prop(w: World, reference: str, env: str = "test", **kw: Any) -> Property:
    fields = {"title": "Marina Vista 2BR", "type": "apartment", "price_aed": 2_000_000,
              "purpose": "sale", "bedrooms": 2, **kw}  # fmt: skip
    return await Property.create(
        id=new_id("prop", NOW), tenant_id=w.tenant.id, environment=env, reference=reference,
        created_at=NOW, updated_at=NOW, **fields,
    )  # fmt: skip


async def test_migration_0004_is_recorded() -> None:
    rows = await fetch_sql("SELECT name FROM tortoise_migrations WHERE app = {}", ["hadar"])
    assert "0004_resources" in {r["name"] for r in rows}


async def test_one_conversation_per_lead_and_channel() -> None:
    w = await make_world()
    await conversation(w, "whatsapp")
    await conversation(w, "voice")
    with pytest.raises(IntegrityError):
        await conversation(w, "whatsapp")
    assert await Conversation.filter(lead_id=w.lead.id).count() == 2


async def test_a_conversation_shows_its_window() -> None:
    w = await make_world()
    conv = await conversation(w)
    assert conv.window_expires_at is None
    conv.last_inbound_at = NOW
    await conv.save()
    stored = await Conversation.get(id=conv.id)
    assert stored.window_expires_at == datetime(2026, 5, 17, 8, 0, tzinfo=UTC)


async def test_a_provider_message_id_is_stored_once() -> None:
    w = await make_world()
    conv = await conversation(w)
    await message(w, conv, "meta", "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQ=")
    with pytest.raises(IntegrityError):
        await message(w, conv, "meta", "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQ=")
    # The same id from another provider, and outbound rows without an id yet, are fine.
    await message(w, conv, "ultramsg", "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQ=")
    await message(w, conv, "meta", None)
    await message(w, conv, "meta", None)
    assert await Message.filter(conversation_id=conv.id).count() == 4


async def test_a_property_reference_is_unique_per_sandbox() -> None:
    w = await make_world()
    await prop(w, "MV-2BR-001")
    with pytest.raises(IntegrityError):
        await prop(w, "MV-2BR-001")
    await prop(w, "MV-2BR-001", env="live")
    other = await make_world()
    await prop(other, "MV-2BR-001")


async def test_a_template_name_and_language_are_unique_per_sandbox() -> None:
    w = await make_world()

    async def template(language: str) -> Template:
        return await Template.create(
            id=new_id("tpl", NOW), **w.scoped(), name="viewing_confirmation", language=language,
            category="utility", status="approved", body="Hi {{agent_name}}",
            variables=["agent_name"], created_at=NOW, updated_at=NOW,
        )  # fmt: skip

    await template("en")
    await template("ar")
    with pytest.raises(IntegrityError):
        await template("en")


async def integration(w: World, kind: str, provider: str, key: str | None) -> Integration:
    return await Integration.create(
        id=new_id("int", NOW), tenant_id=w.tenant.id, environment="live", kind=kind,
        provider=provider, credentials="sealed", route_key=key, created_at=NOW, updated_at=NOW,
    )  # fmt: skip


async def test_one_integration_per_kind_and_a_phone_number_id_routes_to_one_tenant() -> None:
    w, other = await make_world(), await make_world()
    pnid = str(uuid.uuid4().int % 10**15)
    await integration(w, "whatsapp", "meta", pnid)
    await integration(w, "stripe", "stripe", None)
    with pytest.raises(IntegrityError):
        await integration(w, "whatsapp", "ultramsg", "1150")
    # Another workspace claiming the same phone_number_id would receive the first one's messages.
    with pytest.raises(IntegrityError):
        await integration(other, "whatsapp", "meta", pnid)
    await integration(other, "stripe", "stripe", None)
    found = await Integration.get(provider="meta", route_key=pnid, environment="live")
    assert found.tenant_id == w.tenant.id


async def test_candidate_criteria_narrow_in_sql() -> None:
    w = await make_world()
    rows = [
        ("in", 2_200_000, 2, "available"),
        ("over", 2_200_001, 2, "available"),
        ("beds_low", 1_000_000, 1, "available"),
        ("beds_far", 1_000_000, 4, "available"),
        ("no_beds", 1_000_000, None, "available"),
        ("sold", 1_000_000, 2, "sold"),
    ]
    for ref, price, beds, status in rows:
        await prop(w, ref, price_aed=price, bedrooms=beds, status=status)
    wish = LeadWish(budget_aed=2_000_000, bedrooms=2, area=None, handover_horizon=None)
    found = await Property.filter(**w.scoped(), **candidate_filter(wish)).values_list(
        "reference", flat=True
    )
    assert sorted(found) == ["beds_low", "in"]


# ----------------------------------------------------------- booking exclusion ----


async def booking(w: World, p: Property, agent: str, start: str, end: str,
                  status: str = "scheduled") -> Booking:  # fmt: skip
    day = "2026-05-20T{}:00+04:00"
    return await Booking.create(
        id=new_id("bkg", NOW), **w.scoped(lead_id=w.lead.id, property_id=p.id), agent=agent,
        starts_at=datetime.fromisoformat(day.format(start)),
        ends_at=datetime.fromisoformat(day.format(end)),
        status=status, created_at=NOW, updated_at=NOW,
    )  # fmt: skip


needs_postgres = pytest.mark.skipif(
    not os.environ.get("HADAR_TEST_DATABASE_URL"),
    reason="exclusion constraints are PostgreSQL's; SQLite serialises in the service",
)


@needs_postgres
async def test_postgres_refuses_an_overlapping_active_booking_of_the_same_agent() -> None:
    w = await make_world()
    p1, p2 = await prop(w, "P1"), await prop(w, "P2")
    await booking(w, p1, "sara@agency.ae", "10:00", "11:00")
    with pytest.raises(IntegrityError) as info:
        await booking(w, p2, "sara@agency.ae", "10:30", "11:30")
    assert AGENT_CONSTRAINT in str(info.value)
    # Touching (11:00 end, 11:00 start) is no overlap; another agent is free at 10:30.
    await booking(w, p2, "sara@agency.ae", "11:00", "11:30")
    await booking(w, p2, "omar@agency.ae", "09:00", "09:30")


@needs_postgres
async def test_postgres_refuses_an_overlapping_active_booking_of_the_same_property() -> None:
    w = await make_world()
    p1 = await prop(w, "P1")
    await booking(w, p1, "sara@agency.ae", "10:00", "11:00", status="confirmed")
    with pytest.raises(IntegrityError) as info:
        await booking(w, p1, "omar@agency.ae", "10:59", "12:00")
    assert PROPERTY_CONSTRAINT in str(info.value)
    await booking(w, p1, "omar@agency.ae", "09:30", "10:00")


@needs_postgres
async def test_inactive_bookings_hold_no_slot() -> None:
    w = await make_world()
    p1 = await prop(w, "P1")
    first = await booking(w, p1, "sara@agency.ae", "10:00", "11:00")
    for status in ("cancelled", "completed", "no_show"):
        await booking(w, p1, "sara@agency.ae", "10:00", "11:00", status=status)
    first.status = "cancelled"
    await first.save()
    second = await booking(w, p1, "sara@agency.ae", "10:15", "10:45")
    # Re-activating the cancelled one would overlap the new one: refused on UPDATE too.
    first.status = "scheduled"
    with pytest.raises(IntegrityError):
        await first.save()
    assert (await Booking.get(id=second.id)).status == "scheduled"


@needs_postgres
async def test_the_exclusion_is_per_tenant_and_environment() -> None:
    w, other = await make_world(), await make_world()
    p1, p2 = await prop(w, "P1"), await prop(other, "P1")
    await booking(w, p1, "sara@agency.ae", "10:00", "11:00")
    await booking(other, p2, "sara@agency.ae", "10:00", "11:00")


needs_sqlite = pytest.mark.skipif(
    bool(os.environ.get("HADAR_TEST_DATABASE_URL")), reason="SQLite's write lock"
)


def other_process_can_write(settings: Settings) -> bool:
    """Whether a second connection (as another process would) can start writing right now."""
    path = settings.database_url.removeprefix("sqlite://").split("?")[0]
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        other.close()


@needs_sqlite
async def test_sqlite_transactions_hold_the_write_lock_from_the_start(settings: Settings) -> None:
    async with in_transaction() as conn:
        await Tenant.filter(id="nobody").count()
        # A deferred BEGIN that has only read leaves another process free to write ...
        assert other_process_can_write(settings)
        await take_write_lock(conn)
        # ... until take_write_lock, which holds SQLite's write lock until the commit.
        assert not other_process_can_write(settings)
    assert other_process_can_write(settings)


# ---------------------------------------------------------- invoice numbering ----

N = 30


async def test_invoice_numbers_under_concurrent_finalize_transactions() -> None:
    tenant_id, year = f"ten_{uuid.uuid4().hex}", 2026

    async def finalize(fail: bool = False) -> int:
        async with in_transaction() as conn:
            number = await next_invoice_number(
                conn=conn, tenant_id=tenant_id, environment="live", year=year
            )
            await asyncio.sleep(0.005)  # hold the transaction open while others queue
            if fail:
                raise RuntimeError("finalize failed after taking a number")
            return number

    with pytest.raises(RuntimeError):
        await finalize(fail=True)
    numbers = await asyncio.gather(*(finalize() for _ in range(N)))
    assert sorted(numbers) == list(range(1, N + 1))
    # Another year and another environment count on their own.
    async with in_transaction() as conn:
        assert await next_invoice_number(conn=conn, tenant_id=tenant_id, environment="live",
                                         year=2027) == 1  # fmt: skip
        assert await next_invoice_number(conn=conn, tenant_id=tenant_id, environment="test",
                                         year=year) == 1  # fmt: skip


class RawPostgres:
    """Just enough of a Tortoise client over one asyncpg connection: its own transaction."""

    class capabilities:  # lower case: mirrors the attribute Tortoise clients have
        dialect = "postgres"

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def execute_query_dict(self, sql: str, values: Sequence[Any]) -> list[dict[str, Any]]:
        return [dict(r) for r in await self.conn.fetch(sql, *values)]


@needs_postgres
async def test_invoice_numbers_over_30_separate_postgres_connections(settings: Settings) -> None:
    dsn = "postgresql://" + settings.database_url.split("://", 1)[1]
    conns = [await asyncpg.connect(dsn) for _ in range(N)]
    tenant_id = f"ten_{uuid.uuid4().hex}"
    ready = asyncio.Barrier(N)

    async def finalize(conn: asyncpg.Connection, index: int) -> int:
        async with conn.transaction():
            await ready.wait()  # every transaction is open before any takes a number
            number = await next_invoice_number(
                conn=RawPostgres(conn),  # type: ignore[arg-type]
                tenant_id=tenant_id,
                environment="live",
                year=2026,
            )
            await asyncio.sleep(0.002 * (index % 5))
            if index == 7:
                raise RuntimeError("this finalize rolls back and gives its number back")
            return number

    try:
        results = await asyncio.gather(
            *(finalize(c, i) for i, c in enumerate(conns)), return_exceptions=True
        )
    finally:
        await asyncio.gather(*(c.close() for c in conns))
    numbers = [r for r in results if isinstance(r, int)]
    assert len(numbers) == N - 1
    assert sorted(numbers) == list(range(1, N)), "distinct and without a gap"
    rows = await fetch_sql(
        "SELECT last_number FROM invoice_counters WHERE tenant_id = {}", [tenant_id]
    )
    assert rows == [{"last_number": N - 1}]
