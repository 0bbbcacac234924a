"""Recording attempts in batches: what completes while a write is in flight goes in the next.

At a few hundred deliveries a second one write per attempt is most of a worker's database
time; group commit costs the first attempt nothing (a lone attempt is written at once) and
turns a burst into one round trip (queue.finish_many).
"""

from __future__ import annotations

import asyncio

from hadar.webhooks import queue


class Recorder:
    """Writes attempts for one worker; `record` returns once its attempt is stored."""

    def __init__(self, *, backoff_scale: float, worker: str) -> None:
        self._backoff_scale = backoff_scale
        self._worker = worker
        self._waiting: list[tuple[queue.Finished, asyncio.Future[bool]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def record(self, done: queue.Finished) -> bool:
        """Store the attempt (with whatever else is waiting); False when the claim was lost."""
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiting.append((done, future))
        if self._writer is None:
            # A task of its own: a write cut off mid-transaction must not poison the caller.
            self._writer = asyncio.create_task(self._write())
        return await future

    async def _write(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, []
                try:
                    moved = await queue.finish_many(
                        done=[done for done, _ in batch],
                        backoff_scale=self._backoff_scale,
                        worker=self._worker,
                    )
                except Exception as exc:
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for (_, future), flag in zip(batch, moved, strict=True):
                    if not future.done():
                        future.set_result(flag)
        finally:
            self._writer = None
