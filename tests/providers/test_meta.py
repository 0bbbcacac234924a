"""The Meta Cloud API adapter against the fake Graph API over real loopback HTTP."""

from __future__ import annotations

import httpx
import pytest

from hadar.providers.inbound.meta import parse_webhook
from hadar.providers.meta import MetaWhatsApp
from hadar.providers.ports import ProviderError
from tests.fakes import FakeMeta, Fault
from tests.fakes.meta import PHONE_NUMBER_ID, TOKEN
from tests.providers.conftest import READ_TIMEOUT, fixture

TO = "+971501234567"


def adapter(client: httpx.AsyncClient, fake: FakeMeta, token: str = TOKEN) -> MetaWhatsApp:
    return MetaWhatsApp(
        client,
        base_url=fake.url,
        phone_number_id=PHONE_NUMBER_ID,
        access_token=token,
        version="v23.0",
    )


async def test_text_is_sent_in_meta_shape_and_the_wamid_comes_back(
    http_client: httpx.AsyncClient, meta: FakeMeta
) -> None:
    sent = await adapter(http_client, meta).send_text(to=TO, text="Hi Sara")
    (request,) = meta.requests
    assert request.method == "POST"
    assert request.path == f"/v23.0/{PHONE_NUMBER_ID}/messages"
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.json == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "971501234567",
        "type": "text",
        "text": {"body": "Hi Sara", "preview_url": False},
    }
    assert sent.provider == "meta"
    assert sent.provider_message_id in meta.sent
    assert sent.provider_message_id.startswith("wamid.")
    assert sent.recipient_id == "971501234567"


async def test_template_parameters_go_in_placeholder_order(
    http_client: httpx.AsyncClient, meta: FakeMeta
) -> None:
    await adapter(http_client, meta).send_template(
        to=TO,
        name="viewing_confirmation_en",
        language="en",
        parameters=["Sara", "Marina Vista 2BR", "Saturday 11:00 GST"],
        body_text="unused by Meta",
    )
    assert meta.requests[0].json["template"] == {
        "name": "viewing_confirmation_en",
        "language": {"code": "en"},
        "components": [
            {
                "type": "body",
                "parameters": [
                    {"type": "text", "text": "Sara"},
                    {"type": "text", "text": "Marina Vista 2BR"},
                    {"type": "text", "text": "Saturday 11:00 GST"},
                ],
            }
        ],
    }
    assert meta.requests[0].json["type"] == "template"


async def test_arabic_and_emoji_reach_meta_byte_exact(
    http_client: httpx.AsyncClient, meta: FakeMeta
) -> None:
    text = "مرحبا سارة، الشقة في دبي مارينا ما زالت متاحة 🏙️✨ 👍🏽"
    await adapter(http_client, meta).send_text(to=TO, text=text)
    raw = meta.requests[0].body
    assert text.encode("utf-8") in raw  # UTF-8 as is, not \u escapes
    assert meta.requests[0].json["text"]["body"] == text


async def test_a_real_meta_answer_is_read(http_client: httpx.AsyncClient, meta: FakeMeta) -> None:
    meta.fail_next(Fault(status=200, body=fixture("meta_send_response")))
    sent = await adapter(http_client, meta).send_text(to=TO, text="hi")
    assert sent.provider_message_id == "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJCOTY3NDc0NDFDRUI3NTA0Q0UA"
    assert sent.recipient_id == "16505551234"


@pytest.mark.parametrize(
    ("code", "status", "kind"),
    [
        (131047, 400, "outside_window"),
        (132000, 400, "invalid"),
        (132001, 404, "invalid"),
        (132012, 400, "invalid"),
        (100, 400, "invalid"),
        (130429, 429, "unavailable"),
        (130429, 400, "unavailable"),
        (131056, 400, "unavailable"),
        (131000, 500, "unavailable"),
        (131016, 503, "unavailable"),
        (190, 401, "unavailable"),
        (131047, 500, "outside_window"),  # the code decides, never the status
    ],
)
async def test_meta_errors_map_on_the_code_not_the_status(
    http_client: httpx.AsyncClient, meta: FakeMeta, code: int, status: int, kind: str
) -> None:
    meta.fail_with(code, status=status)
    with pytest.raises(ProviderError) as caught:
        await adapter(http_client, meta).send_text(to=TO, text="hi")
    error = caught.value
    assert (error.kind, error.provider, error.code) == (kind, "meta", code)
    assert error.as_stored()["code"] == code
    assert error.title and not error.title.startswith("(#")
    assert error.field == ("message.text" if kind == "invalid" else None)


async def test_template_errors_name_the_template_field(
    http_client: httpx.AsyncClient, meta: FakeMeta
) -> None:
    port = adapter(http_client, meta)
    with pytest.raises(ProviderError) as unknown:
        await port.send_template(
            to=TO, name="lead_stage_final_call", language="en", parameters=[], body_text=""
        )
    assert (unknown.value.kind, unknown.value.code) == ("invalid", 132001)
    assert unknown.value.field == "message.template"
    assert "does not exist" in unknown.value.message
    with pytest.raises(ProviderError) as count:
        await port.send_template(
            to=TO, name="viewing_confirmation_en", language="en", parameters=["a"], body_text=""
        )
    assert (count.value.code, count.value.field) == (132000, "message.template")


@pytest.mark.parametrize("name", ["meta_error_132000", "meta_error_132001", "meta_error_131056"])
async def test_captured_meta_errors_are_read(
    http_client: httpx.AsyncClient, meta: FakeMeta, name: str
) -> None:
    body = fixture(name)
    meta.fail_next(Fault(status=400, body=body))
    with pytest.raises(ProviderError) as caught:
        await adapter(http_client, meta).send_text(to=TO, text="hi")
    assert caught.value.code == body["error"]["code"]
    assert body["error"]["error_data"]["details"] in caught.value.message


async def test_an_expired_token_is_unavailable_and_not_an_outage(
    http_client: httpx.AsyncClient, meta: FakeMeta
) -> None:
    with pytest.raises(ProviderError) as caught:
        await adapter(http_client, meta, token="EAAG-expired").send_text(to=TO, text="hi")
    assert (caught.value.kind, caught.value.code, caught.value.outage) == (
        "unavailable",
        190,
        False,
    )


async def test_5xx_timeouts_refusals_and_garbage_are_outages(
    http_client: httpx.AsyncClient, meta: FakeMeta
) -> None:
    port = adapter(http_client, meta)
    meta.fail_next(Fault(status=502, body="<html>Bad gateway</html>"))
    meta.fail_next(Fault(status=None, delay=READ_TIMEOUT * 3))
    meta.fail_next(Fault(status=200, body=b"\x00not json"))
    meta.fail_next(Fault(status=200, body={"messages": []}))
    codes = []
    for _ in range(4):
        with pytest.raises(ProviderError) as caught:
            await port.send_text(to=TO, text="hi")
        assert caught.value.kind == "unavailable" and caught.value.outage
        codes.append(caught.value.code)
    assert codes == ["http_502", "timeout", "malformed", "malformed"]
    await meta.stop()
    with pytest.raises(ProviderError) as refused:
        await port.send_text(to=TO, text="hi")
    assert (refused.value.code, refused.value.outage) == ("connect_error", True)


async def test_the_token_never_appears_in_an_error(
    http_client: httpx.AsyncClient, meta: FakeMeta
) -> None:
    body = {"error": {"code": 190, "message": f"Invalid token {TOKEN}", "type": "OAuthException"}}
    meta.fail_next(Fault(status=401, body=body))
    with pytest.raises(ProviderError) as caught:
        await adapter(http_client, meta).send_text(to=TO, text="hi")
    error = caught.value
    for text in (str(error), error.title, error.message, repr(adapter(http_client, meta))):
        assert TOKEN not in text


async def test_131047_usually_comes_later_as_a_failed_status(
    http_client: httpx.AsyncClient, meta: FakeMeta
) -> None:
    meta.outside_window.add("971501234567")
    sent = await adapter(http_client, meta).send_text(to=TO, text="late reply")
    (status,) = parse_webhook(
        meta.status_webhook(sent.provider_message_id, "failed", error_code=131047)
    ).statuses
    assert (status.wamid, status.status) == (sent.provider_message_id, "failed")
    assert (status.errors[0].code, status.errors[0].title) == (131047, "Re-engagement message")
    meta.window_errors_sync = True
    with pytest.raises(ProviderError) as caught:
        await adapter(http_client, meta).send_text(to=TO, text="late reply")
    assert (caught.value.kind, caught.value.code) == ("outside_window", 131047)
    assert "24 hours" in caught.value.message
