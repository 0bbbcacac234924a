"""The UltraMsg adapter against the fake: form-encoded sends, and HTTP 200 that is not success."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from hadar.providers.ports import ProviderError
from hadar.providers.ultramsg import UltraMsgWhatsApp
from tests.fakes import FakeUltraMsg, Fault
from tests.fakes.ultramsg import INSTANCE, MISSING_FIELDS, STOPPED, TOKEN, WRONG_TOKEN
from tests.providers.conftest import READ_TIMEOUT, fixture

TO = "+971501234567"


def adapter(client: httpx.AsyncClient, fake: FakeUltraMsg, token: str = TOKEN) -> UltraMsgWhatsApp:
    return UltraMsgWhatsApp(client, base_url=fake.url, instance_id=INSTANCE, token=token)


async def test_text_is_posted_form_encoded_with_token_to_and_body(
    http_client: httpx.AsyncClient, ultramsg: FakeUltraMsg
) -> None:
    sent = await adapter(http_client, ultramsg).send_text(to=TO, text="Hello from Hadar")
    (request,) = ultramsg.requests
    assert (request.method, request.path) == ("POST", f"/{INSTANCE}/messages/chat")
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert request.form == {"token": TOKEN, "to": TO, "body": "Hello from Hadar"}
    assert (sent.provider, sent.provider_message_id) == ("ultramsg", "44898")


async def test_a_template_goes_as_its_rendered_text(
    http_client: httpx.AsyncClient, ultramsg: FakeUltraMsg
) -> None:
    await adapter(http_client, ultramsg).send_template(
        to=TO,
        name="viewing_confirmation_en",
        language="en",
        parameters=["Sara"],
        body_text="Hi, Sara will show you Marina Vista on Saturday.",
    )
    assert ultramsg.sent == [{"to": TO, "body": "Hi, Sara will show you Marina Vista on Saturday."}]


async def test_arabic_and_emoji_are_sent_byte_exact(
    http_client: httpx.AsyncClient, ultramsg: FakeUltraMsg
) -> None:
    text = "إلغاء الموعد؟ لا، أراك السبت 🙏🏼🇦🇪"
    await adapter(http_client, ultramsg).send_text(to=TO, text=text)
    request = ultramsg.requests[0]
    assert request.form is not None and request.form["body"] == text
    assert request.body == urlencode({"token": TOKEN, "to": TO, "body": text}).encode("ascii")


@pytest.mark.parametrize(
    "answer",
    [
        {"sent": "true", "message": "ok", "id": 44897},
        {"sent": True, "message": "ok", "id": "44897"},
    ],
)
async def test_success_is_sent_true_with_an_id(
    http_client: httpx.AsyncClient, ultramsg: FakeUltraMsg, answer: dict[str, Any]
) -> None:
    ultramsg.answer_next(answer)
    sent = await adapter(http_client, ultramsg).send_text(to=TO, text="hi")
    assert sent.provider_message_id == "44897"
    assert fixture("ultramsg_sent")["sent"] == "true"


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (WRONG_TOKEN, "Wrong token"),
        ({"error": "Instance not found"}, "Instance not found"),
        (STOPPED, "Stopped due to non-payment"),
        (MISSING_FIELDS, "to is required; body is required"),
        ({"sent": "false", "message": "WhatsApp not connected"}, "WhatsApp not connected"),
        ({"sent": "queued", "message": "ok", "id": 1}, "sent=queued"),
        ({"sent": "true", "message": "ok", "id": ""}, "sent=true"),
        ({"sent": "true", "message": "ok"}, "sent=true"),
        ({}, "sent=missing"),
    ],
)
async def test_http_200_failures_are_unavailable_with_the_providers_text(
    http_client: httpx.AsyncClient, ultramsg: FakeUltraMsg, answer: dict[str, Any], reason: str
) -> None:
    ultramsg.answer_next(answer)
    with pytest.raises(ProviderError) as caught:
        await adapter(http_client, ultramsg).send_text(to=TO, text="hi")
    error = caught.value
    assert (error.kind, error.provider, error.outage) == ("unavailable", "ultramsg", False)
    assert reason in error.title


async def test_the_fakes_own_checks_fail_a_wrong_token_and_a_disconnected_phone(
    http_client: httpx.AsyncClient, ultramsg: FakeUltraMsg
) -> None:
    with pytest.raises(ProviderError) as wrong:
        await adapter(http_client, ultramsg, token="nope").send_text(to=TO, text="hi")
    assert "Wrong token" in wrong.value.title
    ultramsg.connected = False
    with pytest.raises(ProviderError) as offline:
        await adapter(http_client, ultramsg).send_text(to=TO, text="hi")
    assert "not connected" in offline.value.title
    assert ultramsg.sent == []


async def test_5xx_timeout_and_garbage_are_outages(
    http_client: httpx.AsyncClient, ultramsg: FakeUltraMsg
) -> None:
    ultramsg.fail_next(Fault(status=503, body="Service Unavailable"))
    ultramsg.fail_next(Fault(status=None, delay=READ_TIMEOUT * 3))
    ultramsg.fail_next(Fault(status=200, body=b"<html>maintenance</html>"))
    codes = []
    for _ in range(3):
        with pytest.raises(ProviderError) as caught:
            await adapter(http_client, ultramsg).send_text(to=TO, text="hi")
        assert caught.value.outage
        codes.append(caught.value.code)
    assert codes == ["http_503", "timeout", "malformed"]


async def test_the_token_never_appears_in_an_error(
    http_client: httpx.AsyncClient, ultramsg: FakeUltraMsg
) -> None:
    ultramsg.answer_next({"error": f"token {TOKEN} is not valid for this instance"})
    with pytest.raises(ProviderError) as caught:
        await adapter(http_client, ultramsg).send_text(to=TO, text="hi")
    assert TOKEN not in str(caught.value) and TOKEN not in caught.value.title
    assert "[redacted]" in caught.value.title
