"""Admission of a request on any surface: authenticate the key, then meter it.

Failed authentication is metered per client address, so guessing keys is limited too.
"""

from __future__ import annotations

from hadar.domain.scope import Scope
from hadar.errors import InvalidApiKey, RateLimited, Unauthorized
from hadar.platform.runtime import Runtime
from hadar.platform.store import Verdict
from hadar.services import keys


def rate_headers(verdict: Verdict) -> dict[str, str]:
    return verdict.headers()


async def meter(runtime: Runtime, key: str, limit: int, *, fail_closed: bool) -> dict[str, str]:
    """Count one request; RateLimited (carrying the headers) when over budget."""
    verdict = await runtime.guard.meter(key, limit, fail_closed=fail_closed)
    headers = rate_headers(verdict)
    if not verdict.allowed:
        raise RateLimited(
            f"rate limit of {verdict.limit} requests a minute exceeded; retry after "
            f"{verdict.retry_after} s",
            headers=headers,
        )
    return headers


async def meter_anonymous(runtime: Runtime, client: str) -> dict[str, str]:
    """Meter a request that carries no valid key by its client address."""
    return await meter(runtime, f"ip:{client}", runtime.anon_limit, fail_closed=False)


async def admit(
    runtime: Runtime, *, authorization: str | None, client: str, fail_closed: bool
) -> tuple[Scope, dict[str, str]]:
    """The caller's scope and its rate-limit headers, or the auth/limit error to answer with."""
    try:
        scope = await keys.authenticate(header=authorization, secret=runtime.settings.secret_key)
    except (Unauthorized, InvalidApiKey) as err:
        err.headers.update(await meter_anonymous(runtime, client))
        raise
    headers = await meter(runtime, f"key:{scope.key_id}", scope.rate_limit, fail_closed=fail_closed)
    return scope, headers
