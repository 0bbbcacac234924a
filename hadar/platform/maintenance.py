"""Background housekeeping run inside `hadar serve`: purge expired idempotency records.

Records past their 24 hours are already ignored (and deleted) when their key is looked up;
this loop removes the ones nobody asks about again, so the table stays bounded. Every
instance runs it; the DELETE is idempotent, so several instances purging at once is harmless.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from hadar.platform import idempotency

log = logging.getLogger("hadar.maintenance")
PURGE_INTERVAL = 600.0  # seconds


async def purge_loop(interval: float = PURGE_INTERVAL) -> None:
    """Purge now, then every `interval` seconds, until cancelled; errors are logged, not fatal."""
    while True:
        try:
            purged = await idempotency.purge_expired()
            if purged:
                log.info("purged %d expired idempotency records", purged)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("purging expired idempotency records failed; retrying next interval")
        await asyncio.sleep(interval)


@contextlib.asynccontextmanager
async def running(interval: float = PURGE_INTERVAL) -> AsyncIterator[asyncio.Task[None]]:
    """Run the purge loop for the lifetime of the block (the app's lifespan)."""
    task = asyncio.create_task(purge_loop(interval), name="hadar-maintenance")
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
