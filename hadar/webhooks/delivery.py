"""One HTTP attempt: check the target again, POST the signed raw body, keep a short excerpt.

Redirects are never followed (a 3xx is a failed attempt), the whole attempt is bounded by one
timeout, and the connection goes to the address the SSRF check approved (Host and TLS SNI
still name the endpoint's host, so certificates verify as usual).
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict

import httpx

from hadar.webhooks import urls
from hadar.webhooks.queue import AttemptResult

EXCERPT_BYTES = 500
DEFAULT_TIMEOUT = 10.0


def new_client(timeout: float = DEFAULT_TIMEOUT) -> httpx.AsyncClient:
    """The one shared client a worker sends with: explicit timeouts, no redirects, no proxies
    from the environment (a proxy would bypass the address check)."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
        follow_redirects=False,
        trust_env=False,
        limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
        headers={"User-Agent": "Hadar-Webhooks/1.0"},
    )


class Clients:
    """A worker's connection pools, one per endpoint host.

    A pinned request goes to the approved address, and httpx pools connections by the address
    a request goes to. With one pool, two hosts behind one address (a CDN, a shared host)
    would share a connection whose TLS session was opened with the other host's name, so one
    tenant's event could reach another's server. A pool per host keeps every connection to
    the host it was opened for; the least recently used pools close past `most`.
    """

    def __init__(self, timeout: float = DEFAULT_TIMEOUT, most: int = 256) -> None:
        self._timeout = timeout
        self._most = most
        self._pools: OrderedDict[str, httpx.AsyncClient] = OrderedDict()

    async def for_host(self, host: str) -> httpx.AsyncClient:
        """The pool of `host` (its name as the endpoint's URL spells it, case-folded)."""
        key = host.lower()
        client = self._pools.get(key)
        if client is not None:
            self._pools.move_to_end(key)
            return client
        client = self._pools[key] = new_client(self._timeout)
        while len(self._pools) > self._most:
            _, oldest = self._pools.popitem(last=False)
            await oldest.aclose()
        return client

    async def aclose(self) -> None:
        pools, self._pools = list(self._pools.values()), OrderedDict()
        for client in pools:
            await client.aclose()


def _host_header(target: urls.Target) -> str:
    host = f"[{target.host}]" if ":" in target.host else target.host
    default = 443 if target.url.scheme == "https" else 80
    return host if target.port == default else f"{host}:{target.port}"


async def _send(
    client: httpx.AsyncClient, target: urls.Target, body: bytes, headers: dict[str, str]
) -> tuple[int, str]:
    request = client.build_request(
        "POST",
        urls.pinned_url(target),
        content=body,
        headers={**headers, "Host": _host_header(target), "Content-Type": "application/json"},
        extensions={"sni_hostname": target.host} if target.addresses else None,
    )
    response = await client.send(request, stream=True, follow_redirects=False)
    try:
        excerpt = b""
        async for chunk in response.aiter_bytes():
            excerpt += chunk
            if len(excerpt) >= EXCERPT_BYTES:
                break
        return response.status_code, excerpt[:EXCERPT_BYTES].decode("utf-8", errors="replace")
    finally:
        await response.aclose()


async def attempt(
    client: httpx.AsyncClient,
    *,
    url: str,
    environment: str,
    allow_private: bool,
    body: bytes,
    headers: dict[str, str],
    timeout: float = DEFAULT_TIMEOUT,  # noqa: ASYNC109 (bounds resolve + send together)
    resolver: urls.Resolver = urls.system_resolver,
) -> AttemptResult:
    """POST `body` to `url` once; never raises for network trouble, reports it instead."""
    started = time.monotonic()

    def elapsed() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        async with asyncio.timeout(timeout):
            target = await urls.resolve_target(
                url, environment=environment, allow_private=allow_private, resolver=resolver
            )
            status, excerpt = await _send(client, target, body, headers)
    except urls.UnsafeUrl as err:
        return AttemptResult(None, elapsed(), error=f"refused: url {err}")
    except (TimeoutError, httpx.TimeoutException):
        return AttemptResult(None, elapsed(), error=f"timeout after {timeout:g}s")
    except httpx.ConnectError as err:
        return AttemptResult(None, elapsed(), error=f"connection failed: {err}"[:500])
    except httpx.HTTPError as err:
        return AttemptResult(None, elapsed(), error=f"{type(err).__name__}: {err}"[:500])
    error = None if 200 <= status < 300 else f"HTTP {status}"
    return AttemptResult(status, elapsed(), error=error, response_excerpt=excerpt or None)
