"""The shared client: the documented timeouts, and redirects never followed."""

from __future__ import annotations

import httpx
import pytest

from hadar.providers.http import MAX_ANSWER_BYTES, new_client
from hadar.providers.meta import MetaWhatsApp
from hadar.providers.ports import ProviderError
from tests.fakes import FakeMeta, Fault
from tests.fakes.meta import PHONE_NUMBER_ID, TOKEN


async def test_the_client_has_the_documented_timeouts_and_no_redirects() -> None:
    async with new_client() as client:
        assert client.timeout.connect == 3.0
        assert client.timeout.read == 10.0
        assert client.follow_redirects is False


async def test_a_redirect_is_a_failure_and_is_not_followed(
    http_client: httpx.AsyncClient, meta: FakeMeta
) -> None:
    meta.fail_next(Fault(status=307, body={}, headers={"location": f"{meta.url}/elsewhere"}))
    port = MetaWhatsApp(
        http_client, base_url=meta.url, phone_number_id=PHONE_NUMBER_ID, access_token=TOKEN
    )
    with pytest.raises(ProviderError) as caught:
        await port.send_text(to="+971501234567", text="hi")
    assert (caught.value.kind, caught.value.code) == ("unavailable", "http_307")
    assert len(meta.requests) == 1


async def test_an_oversized_answer_is_malformed_not_read_whole(
    http_client: httpx.AsyncClient, meta: FakeMeta
) -> None:
    huge = b'{"messages": [{"id": "wamid.x"}], "pad": "' + b"x" * (MAX_ANSWER_BYTES + 10) + b'"}'
    meta.fail_next(Fault(status=200, body=huge))
    port = MetaWhatsApp(
        http_client, base_url=meta.url, phone_number_id=PHONE_NUMBER_ID, access_token=TOKEN
    )
    with pytest.raises(ProviderError) as caught:
        await port.send_text(to="+971501234567", text="hi")
    assert (caught.value.code, caught.value.outage) == ("malformed", True)
