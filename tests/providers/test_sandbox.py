"""The sandboxes test keys use: the same ports, answered at once, and no socket ever opened
(every way to connect fails the test while they run; a control shows the guard does bite)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from hadar.providers.ports import PaymentsPort, TransientAssistant, VoicePort, WhatsAppPort
from hadar.providers.sandbox import (
    CANNED_SUMMARY,
    CANNED_TRANSCRIPT,
    SandboxPayments,
    SandboxVoice,
    SandboxWhatsApp,
)


class NetworkUsed(OSError):
    """An OSError, like a real refusal, so no client layer mistakes it for a bug and hides it;
    the fixture's list of attempts is what the test checks."""


@pytest.fixture
async def no_network(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[list[str]]:
    attempts: list[str] = []

    def refuse(name: str) -> Any:
        def fail(*args: Any, **kwargs: Any) -> Any:
            attempts.append(name)
            raise NetworkUsed(f"{name} called by a sandbox")

        return fail

    monkeypatch.setattr(socket.socket, "connect", refuse("socket.connect"))
    monkeypatch.setattr(socket.socket, "connect_ex", refuse("socket.connect_ex"))
    monkeypatch.setattr(socket, "create_connection", refuse("socket.create_connection"))
    monkeypatch.setattr(socket, "getaddrinfo", refuse("socket.getaddrinfo"))
    for target in {asyncio.BaseEventLoop, type(asyncio.get_running_loop())}:
        monkeypatch.setattr(target, "create_connection", refuse("loop.create_connection"))
        monkeypatch.setattr(target, "sock_connect", refuse("loop.sock_connect"))
        monkeypatch.setattr(target, "getaddrinfo", refuse("loop.getaddrinfo"))
    yield attempts
    assert attempts == [], attempts


async def test_the_guard_catches_a_real_connection_attempt(monkeypatch: pytest.MonkeyPatch) -> None:
    attempts: list[str] = []
    loop = asyncio.get_running_loop()

    async def refuse(*args: Any, **kwargs: Any) -> Any:
        attempts.append("loop.create_connection")
        raise NetworkUsed("connect")

    monkeypatch.setattr(type(loop), "create_connection", refuse)
    async with httpx.AsyncClient() as client:
        with pytest.raises(httpx.ConnectError):
            await client.get("http://127.0.0.1:9/")
    assert attempts  # so the guard below is not vacuous


async def test_whatsapp_sandbox_accepts_with_fresh_wamids(no_network: list[str]) -> None:
    port: WhatsAppPort = SandboxWhatsApp()
    one = await port.send_text(to="+971501234567", text="مرحبا 👋")
    two = await port.send_template(
        to="+971501234567",
        name="viewing_confirmation_en",
        language="en",
        parameters=["Sara", "Marina", "Sat"],
        body_text="Hi",
    )
    assert one.provider == two.provider == "sandbox"
    assert one.provider_message_id.startswith("wamid.sandbox.")
    assert one.provider_message_id != two.provider_message_id


async def test_voice_sandbox_ends_the_call_at_once_with_a_canned_conversation(
    no_network: list[str],
) -> None:
    port: VoicePort = SandboxVoice()
    started = await port.create_call(
        to="+971501234567",
        name="Sara",
        assistant_id=None,
        assistant=TransientAssistant(first_message="Hi", agent_prompt="Be kind."),
        server_url="https://hadar.example/hook",
        metadata={"call_id": "call_1"},
    )
    assert started.status == "ended" and started.report is not None
    report = started.report
    assert (report.status, report.transcript, report.summary) == (
        "ended",
        CANNED_TRANSCRIPT,
        CANNED_SUMMARY,
    )
    assert report.ended_reason == "customer-ended-call" and report.metadata == {"call_id": "call_1"}
    again = await port.get_call(provider_call_id=started.provider_call_id)
    assert (again.status, again.transcript) == ("ended", CANNED_TRANSCRIPT)


async def test_payments_sandbox_declines_only_stripes_decline_method(no_network: list[str]) -> None:
    port: PaymentsPort = SandboxPayments()

    async def pay(method: str | None, key: str = "inv_1-pay") -> Any:
        return await port.create_payment_intent(
            amount=105_000,
            currency="aed",
            invoice_id="inv_1",
            tenant="t",
            description="INV-1",
            payment_method=method,
            idempotency_key=key,
        )

    declined = await pay("pm_card_chargeDeclined")
    assert (declined.status, declined.failure_code, declined.declined) == (
        "failed",
        "card_declined",
        True,
    )
    for method in ("pm_card_visa", None, "pm_anything"):
        ok = await pay(method, key=f"k-{method}")
        assert (ok.status, ok.declined, ok.failure_code) == ("succeeded", False, None)
    first, second = await pay("pm_card_visa", key="same"), await pay("pm_card_visa", key="same")
    assert first.id == second.id  # one intent per idempotency key, as with Stripe
