"""Starting the worker: as its own process (`hadar worker`) or inside `hadar serve`'s lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import AsyncIterator

from hadar.settings import Settings
from hadar.webhooks.worker import DEFAULT_LEASE, Worker, WorkerConfig, backoff

log = logging.getLogger("hadar.webhooks")
INPROCESS_ENV = "HADAR_INPROCESS_WORKER"  # set to 1 by `hadar serve` unless --no-worker
RECONCILE_INTERVAL = 60.0  # seconds between sweeps for calls whose report never came


async def reconcile_loop(interval: float = RECONCILE_INTERVAL) -> None:
    """Read back stale voice calls now, then every `interval` seconds, until cancelled."""
    from hadar.services import call_reports

    while True:
        try:
            ended = await call_reports.reconcile_stale()
            if ended:
                log.info("reconciled %d calls whose end-of-call report never arrived", ended)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # One line, no traceback: a database outage is the worker's to report, and its
            # claiming loop already does, once per retry.
            log.warning(
                "reconciling stale calls failed (%s); retrying next interval", type(exc).__name__
            )
        await asyncio.sleep(interval)


@contextlib.asynccontextmanager
async def reconciling(interval: float = RECONCILE_INTERVAL) -> AsyncIterator[None]:
    """Run the call reconciliation beside the worker while the block lasts."""
    task = asyncio.create_task(reconcile_loop(interval), name="hadar-call-reconcile")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def config_from(settings: Settings, **overrides: float | int) -> WorkerConfig:
    """Worker settings from the environment's Settings, with CLI overrides."""
    base = WorkerConfig(
        backoff_scale=settings.webhook_backoff_scale,
        allow_private=settings.allow_private_webhook_urls,
    )
    clean = {k: v for k, v in overrides.items() if v is not None}
    return WorkerConfig(**{**base.__dict__, **clean})


@contextlib.asynccontextmanager
async def inprocess_worker(settings: Settings) -> AsyncIterator[None]:
    """Run a worker beside the app while the lifespan lasts, when HADAR_INPROCESS_WORKER=1."""
    if os.environ.get(INPROCESS_ENV, "").strip() != "1":
        yield
        return
    worker = Worker(config_from(settings))
    task = asyncio.create_task(worker.run())
    log.info("in-process webhook worker %s started", worker.name)
    try:
        async with reconciling():
            yield
    finally:
        worker.stop()
        await task


async def _open_when_reachable(database_url: str, stopping: asyncio.Event) -> bool:
    """Open the database, retrying with capped exponential backoff while it does not answer
    (one log line per retry, no traceback); False when stopped first."""
    from hadar.db import DatabaseUnreachable, open_db

    retry = 0
    while not stopping.is_set():
        try:
            await open_db(database_url)
            return True
        except DatabaseUnreachable as err:
            retry += 1
            delay = backoff(retry)
            log.warning("%s; retry %d in %.0f s", err, retry, delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), delay)
    return False


async def run_worker(
    settings: Settings,
    *,
    concurrency: int | None = None,
    lease: float | None = None,
    poll_interval: float | None = None,
) -> None:
    """`hadar worker`: deliver until SIGTERM or SIGINT, then shut down gracefully."""
    from hadar.db import close_db

    config = config_from(
        settings,
        concurrency=concurrency,  # type: ignore[arg-type]
        lease=lease if lease is not None else DEFAULT_LEASE,
        poll_interval=poll_interval,  # type: ignore[arg-type]
    )
    worker = Worker(config)
    stopping = asyncio.Event()

    def stop() -> None:
        stopping.set()
        worker.stop()

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop)
    if not await _open_when_reachable(settings.database_url, stopping):
        return
    log.info("webhook worker %s started", worker.name)
    # Live call reconciliation reads Vapi: the worker process needs the adapters too.
    from hadar import secretbox
    from hadar.providers import registry
    from hadar.providers.factory import ProviderFactory
    from hadar.services import integrations

    secretbox.configure(settings.secret_key)
    integrations.configure(public_url=settings.public_url)
    providers = ProviderFactory(settings)
    registry.install(providers)
    try:
        async with reconciling():
            await worker.run()
    finally:
        await providers.aclose()
        await close_db()
