"""Concurrent calls coalesced into batches, so that many calls share one round trip to the
database (and a push group one commit). A call that finds a free batch slot starts a batch at
once; calls arriving while every slot is busy wait for the next batch, which takes all of them
(at most `max_size`). Only under load, with `linger`, does a timer come in: a batch that ends
with calls waiting lets the next one start `linger` after itself started."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class Call(Generic[T, R]):
    """One submitted request and the future its caller awaits."""

    __slots__ = ("future", "request")

    def __init__(self, request: T, future: asyncio.Future[R]) -> None:
        self.request = request
        self.future = future

    @property
    def pending(self) -> bool:
        """Not answered yet (and its caller has not given up)."""
        return not self.future.done()

    def succeed(self, result: R) -> None:
        if not self.future.done():
            self.future.set_result(result)

    def fail(self, error: BaseException) -> None:
        if not self.future.done():
            self.future.set_exception(error)


class Batcher(Generic[T, R]):
    """`run(calls)` answers every call of a batch (`succeed` / `fail`); when it raises, the
    calls it left unanswered fail with its error. Calls with the same `key` never share a batch
    nor run in two batches at once, and start in submission order."""

    def __init__(
        self,
        run: Callable[[list[Call[T, R]]], Awaitable[None]],
        *,
        max_size: int,
        max_batches: int,
        key: Callable[[T], Hashable] | None = None,
        linger: float = 0.0,
    ) -> None:
        self._run = run
        self.max_size = max_size
        self.max_batches = max_batches
        self.linger = linger
        self._key = key
        self._waiting: deque[Call[T, R]] = deque()
        self._busy_keys: set[Hashable] = set()
        self._running = 0
        # Strong references: the loop keeps only weak ones to its tasks.
        self._tasks: set[asyncio.Task[None]] = set()

    async def submit(self, request: T) -> R:
        loop = asyncio.get_running_loop()
        call: Call[T, R] = Call(request, loop.create_future())
        self._waiting.append(call)
        if self._running < self.max_batches:
            # A task of its own: a caller that gives up must not cancel the others' batch.
            self._running += 1
            task = loop.create_task(self._drain())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return await call.future

    async def _drain(self) -> None:
        try:
            # One turn of the loop first: calls whose requests are already in hand join.
            await asyncio.sleep(0)
            loop = asyncio.get_running_loop()
            while batch := self._take():
                started = loop.time()
                await self._run_batch(batch)
                if self.linger and 0 < len(self._waiting) < self.max_size:
                    # Under load (calls arrived during this batch): the next batch starts
                    # `linger` after this one did, so more calls share its round trip.
                    await asyncio.sleep(max(0.0, started + self.linger - loop.time()))
        finally:
            self._running -= 1

    def _take(self) -> list[Call[T, R]]:
        batch: list[Call[T, R]] = []
        if self._key is None:
            while self._waiting and len(batch) < self.max_size:
                call = self._waiting.popleft()
                if call.pending:
                    batch.append(call)
            return batch
        left: deque[Call[T, R]] = deque()
        taken: set[Hashable] = set()
        while self._waiting and len(batch) < self.max_size:
            call = self._waiting.popleft()
            if not call.pending:
                continue
            key = self._key(call.request)
            if key in self._busy_keys or key in taken:
                taken.add(key)  # later calls of this key wait too: submission order
                left.append(call)
            else:
                taken.add(key)
                batch.append(call)
        left.extend(self._waiting)
        self._waiting = left
        self._busy_keys.update(self._key(c.request) for c in batch)
        return batch

    async def _run_batch(self, batch: list[Call[T, R]]) -> None:
        try:
            await self._run(batch)
        except Exception as error:
            for call in batch:
                call.fail(error)
        except BaseException:  # the batch task itself was cancelled (shutdown)
            for call in batch:
                call.future.cancel()
            raise
        else:
            for call in batch:
                call.fail(RuntimeError("the batch left this call unanswered"))
        finally:
            if self._key is not None:
                self._busy_keys.difference_update(self._key(c.request) for c in batch)
