"""Template submission: the Meta adapter against the fake Graph API over real loopback HTTP
(`POST /{version}/{waba_id}/message_templates`), and the providers without templates."""

from __future__ import annotations

import httpx
import pytest

from hadar.providers.meta import MetaWhatsApp
from hadar.providers.ports import ProviderError, TemplateSubmission
from hadar.providers.sandbox import SandboxWhatsApp
from hadar.providers.ultramsg import UltraMsgWhatsApp
from tests.fakes import FakeMeta, FakeUltraMsg, Fault
from tests.fakes.meta import BUSINESS_ACCOUNT_ID, PHONE_NUMBER_ID, TOKEN, error_body
from tests.providers.conftest import READ_TIMEOUT

BODY = "Hi {{1}}, your viewing of {{2}} is confirmed."
EXAMPLES = ["agent name", "property name"]


def adapter(
    client: httpx.AsyncClient, fake: FakeMeta, *, waba: str | None = BUSINESS_ACCOUNT_ID
) -> MetaWhatsApp:
    return MetaWhatsApp(
        client,
        base_url=fake.url,
        phone_number_id=PHONE_NUMBER_ID,
        access_token=TOKEN,
        version="v23.0",
        business_account_id=waba,
    )


async def submit(port: MetaWhatsApp, name: str = "viewing_booked_en") -> TemplateSubmission:
    return await port.submit_template(
        name=name, language="en", category="utility", body=BODY, examples=EXAMPLES
    )


async def test_a_template_is_submitted_in_metas_shape(
    http_client: httpx.AsyncClient, meta: FakeMeta
) -> None:
    submitted = await adapter(http_client, meta).submit_template(
        name="viewing_booked_en", language="en", category="utility", body=BODY, examples=EXAMPLES
    )
    (request,) = meta.requests
    assert request.path == f"/v23.0/{BUSINESS_ACCOUNT_ID}/message_templates"
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.json == {
        "name": "viewing_booked_en",
        "language": "en",
        "category": "UTILITY",
        "components": [
            {"type": "BODY", "text": BODY, "example": {"body_text": [EXAMPLES]}},
        ],
    }
    stored = meta.submitted[("viewing_booked_en", "en")]
    assert (submitted.provider, submitted.provider_template_id) == ("meta", stored["id"])
    assert (submitted.status, submitted.category) == ("PENDING", "utility")


@pytest.mark.parametrize(
    "answer,expected",
    [
        (
            {"id": 1192339204654487, "status": "approved", "category": "MARKETING"},
            "1192339204654487",
        ),
        ({"id": "920070352646140", "status": "PENDING"}, "920070352646140"),
    ],
)
async def test_metas_answer_is_read_forgivingly(
    http_client: httpx.AsyncClient, meta: FakeMeta, answer: dict[str, object], expected: str
) -> None:
    meta.fail_next(Fault(status=200, body=answer))
    submitted = await adapter(http_client, meta).submit_template(
        name="x_en", language="en", category="utility", body="Hello", examples=[]
    )
    assert submitted.provider_template_id == expected
    assert submitted.status == str(answer["status"]).upper()


async def test_without_a_business_account_nothing_is_sent(
    http_client: httpx.AsyncClient, meta: FakeMeta
) -> None:
    with pytest.raises(ProviderError) as caught:
        await submit(adapter(http_client, meta, waba=None))
    assert (caught.value.kind, caught.value.field) == ("invalid", "integration.business_account_id")
    assert meta.requests == []


async def test_refusals_keyed_on_the_code_and_subcode(
    http_client: httpx.AsyncClient, meta: FakeMeta
) -> None:
    port = adapter(http_client, meta)
    await submit(port, "taken_en")
    with pytest.raises(ProviderError) as caught:
        await submit(port, "taken_en")  # the fake answers Meta's 100 / 2388024
    assert (caught.value.kind, caught.value.code, caught.value.field) == (
        "conflict",
        100,
        "template.name",
    )
    meta.fail_next(Fault(status=400, body=error_body(100, user_msg="Body has too many emojis.")))
    with pytest.raises(ProviderError) as caught:
        await submit(port)
    assert (caught.value.kind, caught.value.field) == ("invalid", "template")
    assert "too many emojis" in caught.value.message and TOKEN not in caught.value.message


@pytest.mark.parametrize(
    "fault",
    [
        Fault(status=500, body=error_body(131000)),
        Fault(status=502, body="<html>bad gateway</html>"),
        Fault(status=None, delay=READ_TIMEOUT * 4),
        Fault(status=200, body={"status": "PENDING"}),
    ],
    ids=["5xx", "html", "timeout", "no-id"],
)
async def test_outages_are_unavailable_and_count_for_the_breaker(
    http_client: httpx.AsyncClient, meta: FakeMeta, fault: Fault
) -> None:
    meta.fail_next(fault)
    with pytest.raises(ProviderError) as caught:
        await submit(adapter(http_client, meta))
    assert caught.value.kind == "unavailable" and caught.value.outage


async def test_the_fake_refuses_what_meta_refuses(
    http_client: httpx.AsyncClient, meta: FakeMeta
) -> None:
    port = adapter(http_client, meta)
    for body, examples in [
        ("Hi {{name}}", ["x"]),  # named placeholders are not sent as such
        ("Hi {{2}} and {{1}}", ["a", "b"]),  # numbered out of reading order
        ("Hi {{1}}", []),  # no sample
    ]:
        with pytest.raises(ProviderError) as caught:
            await port.submit_template(
                name="bad_en", language="en", category="utility", body=body, examples=examples
            )
        assert caught.value.kind == "invalid"


async def test_ultramsg_and_the_sandbox_approve_without_a_request(
    http_client: httpx.AsyncClient, ultramsg: FakeUltraMsg
) -> None:
    port = UltraMsgWhatsApp(http_client, base_url=ultramsg.url, instance_id="instance1", token="t")
    for submitter in (port, SandboxWhatsApp()):
        submitted = await submitter.submit_template(
            name="a_en", language="en", category="utility", body=BODY, examples=EXAMPLES
        )
        assert (submitted.status, submitted.provider_template_id) == ("APPROVED", None)
    assert ultramsg.requests == []


async def test_a_template_is_read_back_by_name_and_language(
    http_client: httpx.AsyncClient, meta: FakeMeta
) -> None:
    port = adapter(http_client, meta)
    submitted = await submit(port, "viewing_booked_en")
    found = await port.find_template(name="viewing_booked_en", language="en")
    request = meta.requests[-1]
    assert (request.method, request.path) == (
        "GET",
        f"/v23.0/{BUSINESS_ACCOUNT_ID}/message_templates",
    )
    assert request.query["name"] == "viewing_booked_en" and "components" in request.query["fields"]
    assert found is not None and found.body == BODY
    assert found.provider_template_id == submitted.provider_template_id
    assert await port.find_template(name="viewing_booked_en", language="ar") is None
    assert await port.find_template(name="never_made", language="en") is None
    assert (
        await adapter(http_client, meta, waba=None).find_template(name="x", language="en") is None
    )
