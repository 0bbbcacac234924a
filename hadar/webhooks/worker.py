"""The webhook delivery worker: claim due deliveries, attempt them concurrently, record results.

Run it alone (`hadar worker`, as many processes as you like) or inside `hadar serve`. Claims are
leases, so a worker that dies mid-attempt loses nothing: its deliveries become due again when
the lease passes. `stop()` (SIGTERM) stops claiming, lets in-flight attempts finish within a
grace period, and hands back whatever is still unfinished.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import socket
import time
import uuid
from dataclasses import dataclass

import httpx

from hadar import (
    observability,  # observability
    secretbox,
)
from hadar.domain.webhooks import Delivery
from hadar.platform.tracing import set_trace_id  # observability
from hadar.services.webhooks import signing_secrets
from hadar.webhooks import delivery, queue, signing, urls

log = logging.getLogger("hadar.webhooks")

DEFAULT_LEASE = 30.0  # > the 10 s attempt timeout; a dead worker's claims return within it
BACKOFF_CAP = 30.0  # seconds between retries while the database is down, at most


def backoff(retry: int) -> float:
    """Seconds to wait before retry number `retry`: 1, 2, 4, 8, 16, then 30 at most."""
    return float(min(BACKOFF_CAP, 2 ** (retry - 1)))


@dataclass(frozen=True)
class WorkerConfig:
    backoff_scale: float = 1.0
    allow_private: bool = False
    concurrency: int = 16
    lease: float = DEFAULT_LEASE
    poll_interval: float = 0.2
    timeout: float = delivery.DEFAULT_TIMEOUT
    grace: float | None = None  # how long shutdown waits for in-flight attempts (timeout + 1)


class Worker:
    def __init__(
        self,
        config: WorkerConfig,
        *,
        client: httpx.AsyncClient | None = None,
        resolver: urls.Resolver = urls.system_resolver,
        name: str | None = None,
    ) -> None:
        self.config = config
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._client = client
        self._owns_client = client is None
        self._resolver = resolver
        self._stopping = asyncio.Event()
        self._wake = asyncio.Event()
        self._inflight: dict[str, asyncio.Task[None]] = {}  # claim token -> attempt
        self._claims = 0

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = delivery.new_client(self.config.timeout)
        return self._client

    def stop(self) -> None:
        """Stop claiming; `run` then drains in-flight attempts and returns."""
        self._stopping.set()
        self._wake.set()

    async def run_once(self) -> int:
        """Claim what is due (up to `concurrency`), attempt it all, wait; returns how many."""
        started = await self._claim_and_start(self.config.concurrency)
        if self._inflight:
            await asyncio.gather(*self._inflight.values(), return_exceptions=True)
        return started

    async def run(self) -> None:
        """Deliver until stop(); then finish or release what is in flight and close."""
        failures = 0
        try:
            while not self._stopping.is_set():
                free = self.config.concurrency - len(self._inflight)
                started = 0
                try:
                    # A task of its own, so a context of its own: when the connection is cut
                    # mid-claim Tortoise can leave a dead transaction in the context, which
                    # would otherwise poison every later claim and the final close.
                    started = await asyncio.create_task(self._claim_and_start(free))
                    failures = 0
                except Exception as exc:
                    # Usually the database is down: one line per retry, backing off, rather
                    # than a traceback every poll (the traceback stays at debug level).
                    failures += 1
                    delay = backoff(failures)
                    reason = (str(exc).strip().splitlines() or [""])[0]
                    log.warning(
                        "webhook worker %s: claiming failed (%s: %s); retry %d in %.0f s",
                        *(self.name, type(exc).__name__, reason, failures, delay),
                    )
                    log.debug("claiming failed", exc_info=True)
                    await self._wait(delay)
                    continue
                if started and started == free:
                    # A full batch: there may be more due right away, once a slot frees.
                    if len(self._inflight) >= self.config.concurrency:
                        await self._wait(None)
                    continue
                await self._wait(self.config.poll_interval)
        finally:
            await self.shutdown()

    async def _wait(self, seconds: float | None) -> None:
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)

    async def _claim_and_start(self, free: int) -> int:
        if free <= 0:
            return 0
        self._claims += 1
        token = f"{self.name}:{self._claims}"
        claimed = await queue.claim(token=token, limit=free, lease=self.config.lease)
        for row in claimed:
            key = f"{token}:{row.id}"
            task = asyncio.create_task(self._attempt(row, token))
            self._inflight[key] = task
            task.add_done_callback(functools.partial(self._done, key))
        return len(claimed)

    def _done(self, key: str, _task: asyncio.Task[None]) -> None:
        self._inflight.pop(key, None)
        self._wake.set()

    async def _attempt(self, row: Delivery, token: str) -> None:
        # observability: each attempt is its own task, so this tags only its own log lines; the
        # delivery id (X-Hadar-Delivery, the same on every retry) finds a delivery's whole history
        set_trace_id(row.id)
        try:
            terminal = not row.endpoint.enabled
            if terminal:
                result = queue.AttemptResult(None, 0, error="endpoint is disabled")
            else:
                result = await self._post(row)
            await queue.finish(
                delivery=row,
                token=token,
                result=result,
                backoff_scale=self.config.backoff_scale,
                worker=self.name,
                terminal=terminal,
            )
            outcome = self._outcome(row, result, terminal)  # observability (three lines)
            observability.count_delivery(outcome)
            log.info(
                "delivery %s of %s to %s: %s", row.id, row.event.type, row.endpoint.id, outcome
            )
        except asyncio.CancelledError:
            raise
        except Exception:
            # The lease will lapse and another attempt follow; nothing is lost.
            log.exception("webhook worker %s: delivery %s failed to record", self.name, row.id)
            observability.count_delivery("unrecorded")  # observability

    def _outcome(self, row: Delivery, result: queue.AttemptResult, terminal: bool) -> str:
        """observability: succeeded, retrying or failed (no retry left), as queue.finish decides."""
        if result.ok:
            return "succeeded"
        spent = queue.next_wait(row.failures + 1, self.config.backoff_scale) is None
        return "failed" if terminal or spent else "retrying"

    async def _post(self, row: Delivery) -> queue.AttemptResult:
        endpoint, event = row.endpoint, row.event
        try:
            secrets = signing_secrets(endpoint)
        except secretbox.UnsealError:
            # A failed attempt, not a final one: with the right HADAR_SECRET_KEY back, retries work.
            log.error("webhook endpoint %s: its signing secret does not unseal", endpoint.id)
            error = "the signing secret could not be decrypted (was HADAR_SECRET_KEY changed?)"
            return queue.AttemptResult(None, 0, error=error)
        body = event.payload.encode("utf-8")
        headers = {
            "X-Hadar-Signature": signing.sign(body, secrets),
            "X-Hadar-Event": event.type,
            "X-Hadar-Delivery": row.id,
        }
        return await delivery.attempt(
            self.client,
            url=endpoint.url,
            environment=endpoint.environment,
            allow_private=self.config.allow_private,
            body=body,
            headers=headers,
            timeout=self.config.timeout,
            resolver=self._resolver,
        )

    async def shutdown(self) -> None:
        """Wait (up to the grace period) for in-flight attempts, release the rest, close."""
        grace = self.config.grace if self.config.grace is not None else self.config.timeout + 1
        pending = dict(self._inflight)
        if pending:
            deadline = time.monotonic() + grace
            _, still = await asyncio.wait(
                pending.values(), timeout=max(0.0, deadline - time.monotonic())
            )
            unfinished = [key for key, task in pending.items() if task in still]
            for task in still:
                task.cancel()
            await asyncio.gather(*still, return_exceptions=True)
            tokens = sorted({key.rsplit(":", 1)[0] for key in unfinished})
            try:
                await queue.release(tokens)
            except Exception:
                log.exception("webhook worker %s: releasing claims failed", self.name)
        if self._owns_client and self._client is not None:
            await self._client.aclose()
            self._client = None
