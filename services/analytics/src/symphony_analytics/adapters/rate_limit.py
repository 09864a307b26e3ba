"""Fixed-window rate limits: per process (`LocalRateLimiter`), or shared by the replicas through
Redis (`RedisRateLimiter`); Redis is an accelerator: with it gone, each replica enforces the
limits on its own."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from symphony_common.redis import REDIS_ERRORS

log = logging.getLogger(__name__)

REDIS_PAUSE_SECONDS = 5.0  # after a Redis error, count locally this long
SETTLE_SECONDS = 0.05  # how stale a replica's view of the other replicas' counts may get
LOCAL_CAPACITY = 100_000
Hit = tuple[str, int, int]  # (key, cost, limit)


class LocalRateLimiter:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._counts: dict[str, tuple[int, int]] = {}

    async def hit(self, key: str, cost: int, limit: int, window_seconds: int) -> float:
        return await self.hit_many([(key, cost, limit)], window_seconds)

    async def hit_many(self, hits: Sequence[Hit], window_seconds: int) -> float:
        now = self._clock()
        slot = int(now // window_seconds)
        if len(self._counts) > LOCAL_CAPACITY:
            self._counts = {k: v for k, v in self._counts.items() if v[0] == slot}
        wait = 0.0
        for key, cost, limit in hits:
            previous_slot, count = self._counts.get(key, (slot, 0))
            count = (count if previous_slot == slot else 0) + cost
            self._counts[key] = (slot, count)
            wait = max(wait, _wait(count, limit, slot, window_seconds, now))
        return wait


def _wait(count: int, limit: int, slot: int, window: int, now: float) -> float:
    if count <= limit:
        return 0.0
    return max((slot + 1) * window - now, 0.001)


# Counters of a window in one command: each is incremented and, when the increment made it,
# given its expiry (ARGV: cost and seconds to live, per key); returns their totals.
HIT_SCRIPT = """
local counts = {}
for i, key in ipairs(KEYS) do
    local cost = tonumber(ARGV[2 * i - 1])
    local count = redis.call('INCRBY', key, cost)
    if count == cost then redis.call('EXPIRE', key, ARGV[2 * i]) end
    counts[i] = count
end
return counts
"""
KEY_PREFIX = "symphony:analytics:rl:"
Window = tuple[str, int, int]  # (key, window seconds, window number)


class RedisRateLimiter:
    """Fixed windows shared by the replicas through Redis, decided without waiting for it.

    A hit is decided at once from its window's total as Redis last reported it plus what this
    process counted since. The counts reach Redis in the background: every window hit in the
    last SETTLE_SECONDS in one command, whose answer brings the other replicas' counts. (A round
    trip per call cost ingest ~10% of the service's CPU. PostHog's capture, likewise, reads its
    limits from Redis in the background.) So the replicas share one budget to within what each
    admits in one settle interval. While Redis is unreachable each process limits on its own
    counts, and tries Redis again after REDIS_PAUSE_SECONDS."""

    def __init__(
        self,
        redis: Any,
        clock: Callable[[], float] = time.time,
        settle_seconds: float = SETTLE_SECONDS,
    ) -> None:
        self._script = redis.register_script(HIT_SCRIPT)
        self._clock = clock
        self._settle_seconds = settle_seconds
        self._known: dict[Window, int] = {}  # totals as last known (Redis's, or our own)
        self._sending: dict[Window, int] = {}  # sent, not answered yet
        self._unsent: dict[Window, int] = {}
        self._current: dict[int, int] = {}  # window seconds -> the current window's number
        self._paused_until = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self._settling: asyncio.Task[None] | None = None

    async def hit(self, key: str, cost: int, limit: int, window_seconds: int) -> float:
        return await self.hit_many([(key, cost, limit)], window_seconds)

    async def hit_many(self, hits: Sequence[Hit], window_seconds: int) -> float:
        now = self._clock()
        number = int(now // window_seconds)
        if self._current.get(window_seconds) != number:
            self._current[window_seconds] = number
            self._forget_windows_before(window_seconds, number)
        wait = 0.0
        for key, cost, limit in hits:
            window = (key, window_seconds, number)
            unsent = self._unsent[window] = self._unsent.get(window, 0) + cost
            count = self._known.get(window, 0) + self._sending.get(window, 0) + unsent
            wait = max(wait, _wait(count, limit, number, window_seconds, now))
        if self._unsent and self._timer is None and self._settling is None:
            self._timer = asyncio.get_running_loop().call_later(
                self._settle_seconds, self._settle_in_background
            )
        return wait

    async def settle(self) -> None:
        """Send the counts not sent yet (one command) and learn their windows' totals."""
        sending, self._unsent = self._unsent, {}
        if not sending:
            return
        for window, cost in sending.items():
            self._sending[window] = self._sending.get(window, 0) + cost
        try:
            totals = await self._send(sending) if self._clock() >= self._paused_until else None
        except REDIS_ERRORS:
            self._paused_until = self._clock() + REDIS_PAUSE_SECONDS
            totals = None
        finally:
            for window, cost in sending.items():
                left = self._sending.pop(window) - cost
                if left:
                    self._sending[window] = left
        for i, (window, cost) in enumerate(sending.items()):
            known = self._known.get(window, 0)
            # Totals only grow in a window: an answer overtaken by a later one changes nothing.
            self._known[window] = max(known, int(totals[i])) if totals else known + cost
        if len(self._known) > LOCAL_CAPACITY:  # a flood of keys: forget the oldest counts
            for window in list(self._known)[: len(self._known) - LOCAL_CAPACITY]:
                del self._known[window]

    async def aclose(self) -> None:
        """Send what is left (at shutdown)."""
        if self._settling is not None:
            await self._settling  # which may have scheduled the next one
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        await self.settle()

    async def _send(self, counts: dict[Window, int]) -> list[int]:
        keys, args = [], []
        for (key, seconds, number), cost in counts.items():
            keys.append(f"{KEY_PREFIX}{key}:{number}")
            args += [cost, seconds + 1]
        return list(await self._script(keys=keys, args=args))

    def _settle_in_background(self) -> None:
        self._timer = None
        self._settling = asyncio.ensure_future(self._settle_then_reschedule())

    async def _settle_then_reschedule(self) -> None:
        try:
            await self.settle()
        except Exception:  # a bug here must not silence the limiter for good
            log.exception("rate limiter: settling with Redis failed")
        finally:
            self._settling = None
            if self._unsent and self._timer is None:
                self._timer = asyncio.get_running_loop().call_later(
                    self._settle_seconds, self._settle_in_background
                )

    def _forget_windows_before(self, seconds: int, number: int) -> None:
        for counts in (self._known, self._unsent):
            for window in [w for w in counts if w[1] == seconds and w[2] < number]:
                del counts[window]
