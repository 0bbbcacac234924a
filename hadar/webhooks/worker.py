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
    clock,
    observability,  # observability
    secretbox,
)
from hadar.domain.webhooks import Delivery, WebhookEndpoint
from hadar.platform.tracing import set_trace_id  # observability
from hadar.services.webhooks import signing_secrets
from hadar.webhooks import delivery, queue, recorder, signing, urls, wakeup

log = logging.getLogger("hadar.webhooks")

DEFAULT_LEASE = 30.0  # > the 10 s attempt timeout; a dead worker's claims return within it
BACKOFF_CAP = 30.0  # seconds between retries while the database is down, at most
SECRETS_CACHED = 1024  # endpoints whose unsealed signing secrets a worker keeps


def backoff(retry: int) -> float:
    """Seconds to wait before retry number `retry`: 1, 2, 4, 8, 16, then 30 at most."""
    return float(min(BACKOFF_CAP, 2 ** (retry - 1)))


@dataclass(frozen=True)
class WorkerConfig:
    backoff_scale: float = 1.0
    allow_private: bool = False
    concurrency: int = 16
    lease: float = DEFAULT_LEASE
    poll_interval: float = 0.2  # idle wait between looks while no wake-up can arrive
    listen_poll: float = 5.0  # idle wait while LISTEN wakes us (at least poll_interval)
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
        self._clients = delivery.Clients(config.timeout)  # owned: one pool per endpoint host
        self._resolver = resolver
        self._stopping = asyncio.Event()
        self._wake = asyncio.Event()  # a notification, a retry timer, stop()
        self._slots = asyncio.Event()  # in-flight attempts fell to the low-water mark
        self._inflight: dict[str, asyncio.Task[None]] = {}  # claim token -> attempt
        self._claims = 0
        self._listener: wakeup.Listener | None = None
        self._retry_at = float("inf")  # monotonic time our earliest scheduled retry is due
        self._secrets: dict[tuple[str, str, str | None, bool], list[str]] = {}
        self._recorder = recorder.Recorder(backoff_scale=config.backoff_scale, worker=self.name)

    async def _client_for(self, url: str) -> httpx.AsyncClient:
        """The injected client (tests), else the pool of the endpoint's host."""
        if self._client is not None:
            return self._client
        try:
            host = httpx.URL(url).host
        except httpx.InvalidURL:
            host = ""  # the attempt refuses the URL itself
        return await self._clients.for_host(host)

    def stop(self) -> None:
        """Stop claiming; `run` then drains in-flight attempts and returns."""
        self._stopping.set()
        self._wake.set()
        self._slots.set()

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
            self._listen()
            while not self._stopping.is_set():
                free = self.config.concurrency - len(self._inflight)
                started = 0
                # Cleared before looking, never after: a wake-up during the claim means
                # something may have become due that this claim did not see.
                self._wake.clear()
                if self._retry_at <= time.monotonic():
                    self._retry_at = float("inf")  # this look covers it
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
                    self._wake.clear()  # a back-off, not cut short by a wake-up
                    await self._wait(delay)
                    continue
                if started and started == free:
                    # A full batch: more may be due, so claim the next batch once half the
                    # slots are free (fewer, larger claims), whatever wakes us meanwhile.
                    await self._half_free()
                    continue
                await self._wait(self._idle())
        finally:
            await self.shutdown()

    def _listen(self) -> None:
        try:
            options = wakeup.connect_options()
        except Exception as exc:  # wake-ups only make us faster: poll without them
            log.warning("webhook wake-ups: not listening (%s); polling", type(exc).__name__)
            return
        if options is not None:
            self._listener = wakeup.Listener(self._wake.set, options)
            self._listener.start()

    def _idle(self) -> float:
        """How long to wait with nothing due: long while notifications wake us, else the poll
        interval; never past our own earliest retry."""
        listening = self._listener is not None and self._listener.listening
        wait = max(self.config.poll_interval, self.config.listen_poll if listening else 0.0)
        return max(0.0, min(wait, self._retry_at - time.monotonic()))

    async def _half_free(self) -> None:
        self._slots.clear()
        if len(self._inflight) > self.config.concurrency // 2:
            await self._slots.wait()

    async def _wait(self, seconds: float | None) -> None:
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
        if len(self._inflight) <= self.config.concurrency // 2:
            self._slots.set()

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
            await self._recorder.record(queue.Finished(row, token, result, terminal))
            outcome = self._outcome(row, result, terminal)  # observability (three lines)
            if outcome == "retrying":
                self._retry_later(row)
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

    def _retry_later(self, row: Delivery) -> None:
        # Its due time notifies nobody (migration 0008): wake ourselves for it.
        wait = queue.next_wait(row.failures + 1, self.config.backoff_scale) or 0.0
        self._retry_at = min(self._retry_at, time.monotonic() + wait)
        self._wake.set()  # recompute the idle wait with this retry in it

    def _outcome(self, row: Delivery, result: queue.AttemptResult, terminal: bool) -> str:
        """observability: succeeded, retrying or failed (no retry left), as queue.finish decides."""
        if result.ok:
            return "succeeded"
        spent = queue.next_wait(row.failures + 1, self.config.backoff_scale) is None
        return "failed" if terminal or spent else "retrying"

    async def _post(self, row: Delivery) -> queue.AttemptResult:
        endpoint, event = row.endpoint, row.event
        try:
            secrets = self._signing_secrets(endpoint)
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
            await self._client_for(endpoint.url),
            url=endpoint.url,
            environment=endpoint.environment,
            allow_private=self.config.allow_private,
            body=body,
            headers=headers,
            timeout=self.config.timeout,
            resolver=self._resolver,
        )

    def _signing_secrets(self, endpoint: WebhookEndpoint) -> list[str]:
        # Unsealed once per endpoint and secret: a rotation changes the key, so does the
        # previous secret's overlap ending.
        expires = endpoint.previous_secret_expires_at
        overlap = expires is not None and expires > clock.now()
        key = (endpoint.id, endpoint.secret, endpoint.previous_secret, overlap)
        secrets = self._secrets.get(key)
        if secrets is None:
            if len(self._secrets) >= SECRETS_CACHED:
                self._secrets.clear()
            secrets = self._secrets[key] = signing_secrets(endpoint)
        return secrets

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
        if self._listener is not None:
            await self._listener.close()
            self._listener = None
        await self._clients.aclose()
