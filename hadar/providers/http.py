"""The one shared httpx client, and the request helper every adapter goes through.

The helper turns transport failures into `ProviderError(kind="unavailable", outage=True)` and
hands back the status, headers and decoded JSON (or None when the body is not JSON), so each
adapter only interprets its provider's answer. It never logs a request: bodies carry personal
data and headers carry credentials.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from hadar.providers.ports import ProviderError

CONNECT_TIMEOUT = 3.0
READ_TIMEOUT = 10.0
MAX_ANSWER_BYTES = 1_048_576  # a provider's answer is small; more is a misbehaving server


def new_client(
    *, connect: float = CONNECT_TIMEOUT, read: float = READ_TIMEOUT
) -> httpx.AsyncClient:
    """The client every adapter shares: connect 3 s, read 10 s, no redirects (a redirected
    API call is a misconfiguration, never a reason to resend a charge elsewhere), no proxy
    settings from the environment."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(read, connect=connect, write=read, pool=connect),
        follow_redirects=False,
        trust_env=False,
        limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
        headers={"User-Agent": "Hadar/1.0"},
    )


@dataclass(frozen=True, slots=True)
class Answer:
    """A provider's answer: status, headers, and the JSON body or None."""

    status: int
    headers: httpx.Headers
    body: Any

    @property
    def ok(self) -> bool:
        """A 2xx answer."""
        return 200 <= self.status < 300


def scrub(text: str, secrets: Iterable[str]) -> str:
    """`text` with every credential replaced, for provider text that might echo one."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[redacted]")
    return text


async def call(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    provider: str,
    headers: Mapping[str, str] | None = None,
    json: Any = None,
    data: Mapping[str, str] | None = None,
) -> Answer:
    """Send one request; transport failures raise the provider's `unavailable` error."""
    content: bytes | None = None
    sent_headers = dict(headers or {})
    if json is not None:
        # orjson writes UTF-8 as is, so Arabic and emoji reach the provider byte for byte.
        content = orjson.dumps(json)
        sent_headers["Content-Type"] = "application/json"
    try:
        request = client.build_request(
            method, url, content=content, data=data, headers=sent_headers
        )
        status, answer_headers, raw = await _exchange(client, request)
    except httpx.TimeoutException:
        raise _failure(provider, "timeout", "The provider did not answer in time.") from None
    except httpx.ConnectError:
        raise _failure(provider, "connect_error", "The provider refused the connection.") from None
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        # Only the exception's type: its text may quote the URL, which may hold a credential.
        detail = type(exc).__name__
        raise _failure(provider, "network_error", f"Network error ({detail}).") from None
    try:
        body: Any = orjson.loads(raw) if raw else None
    except orjson.JSONDecodeError:
        body = None
    return Answer(status=status, headers=answer_headers, body=body)


async def _exchange(
    client: httpx.AsyncClient, request: httpx.Request
) -> tuple[int, httpx.Headers, bytes | None]:
    """Send and read at most MAX_ANSWER_BYTES; a longer answer reads as None (malformed)."""
    response = await client.send(request, stream=True, follow_redirects=False)
    try:
        raw = bytearray()
        async for chunk in response.aiter_bytes():
            raw += chunk
            if len(raw) > MAX_ANSWER_BYTES:
                return response.status_code, response.headers, None
        return response.status_code, response.headers, bytes(raw)
    finally:
        await response.aclose()


def _failure(provider: str, code: str, message: str) -> ProviderError:
    return ProviderError(
        kind="unavailable", provider=provider, code=code, title=message, outage=True
    )


def malformed(provider: str, answer: Answer) -> ProviderError:
    """The error for an answer we cannot read: counts as an outage."""
    return ProviderError(
        kind="unavailable",
        provider=provider,
        code="malformed",
        title=f"The provider sent an unreadable answer (HTTP {answer.status}).",
        outage=True,
        status_code=answer.status,
    )


def http_failure(provider: str, answer: Answer, title: str | None = None) -> ProviderError:
    """The error for a non-2xx answer with nothing more specific to say; 5xx is an outage."""
    return ProviderError(
        kind="unavailable",
        provider=provider,
        code=f"http_{answer.status}",
        title=title or f"The provider answered HTTP {answer.status}.",
        outage=answer.status >= 500,
        status_code=answer.status,
    )


def text_of(value: Any, limit: int = 300) -> str:
    """A provider's free text, flattened and bounded (never a structure into a title)."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else orjson.dumps(value).decode()
    return " ".join(text.split())[:limit]
