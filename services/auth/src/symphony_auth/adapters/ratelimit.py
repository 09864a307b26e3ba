"""Fixed-window counters in Redis, with a per-process fallback while Redis is unreachable
(Redis is an accelerator: with it down, limits still hold per replica)."""

from __future__ import annotations

import contextlib
import logging
import time

from redis.asyncio import Redis

from symphony_common.redis import REDIS_ERRORS

log = logging.getLogger(__name__)
PREFIX = "auth:rl:"


class LocalRateLimiter:
    def __init__(self, capacity: int = 100_000, clock=time.monotonic) -> None:  # type: ignore[no-untyped-def]
        self._counts: dict[str, tuple[int, float]] = {}
        self._capacity = capacity
        self._clock = clock

    def _get(self, key: str) -> tuple[int, float]:
        count, end = self._counts.get(key, (0, 0.0))
        if end <= self._clock():
            return 0, 0.0
        return count, end

    async def count(self, key: str) -> tuple[int, float]:
        count, end = self._get(key)
        return count, max(0.0, end - self._clock())

    async def hit(self, key: str, window_seconds: int) -> tuple[int, float]:
        count, end = self._get(key)
        now = self._clock()
        if not count:
            end = now + window_seconds
        if len(self._counts) >= self._capacity:  # bounded memory: drop expired, then oldest
            for stale in [k for k, (_, e) in self._counts.items() if e <= now] or list(
                self._counts
            )[:1000]:
                self._counts.pop(stale, None)
        self._counts[key] = (count + 1, end)
        return count + 1, end - now

    async def clear(self, key: str) -> None:
        self._counts.pop(key, None)


class RedisRateLimiter:
    def __init__(self, redis: Redis | None, fallback: LocalRateLimiter | None = None) -> None:
        self._redis = redis
        self.fallback = fallback or LocalRateLimiter()

    async def count(self, key: str) -> tuple[int, float]:
        if self._redis is not None:
            try:
                async with self._redis.pipeline(transaction=False) as pipe:
                    pipe.get(PREFIX + key)
                    pipe.pttl(PREFIX + key)
                    raw, ttl = await pipe.execute()
                redis_count = int(raw or 0), max(0.0, (ttl or 0) / 1000)
                local = await self.fallback.count(key)
                return max(redis_count, local)
            except REDIS_ERRORS as error:
                log.warning(
                    "rate limiter: redis unavailable (%s); per-process limits", type(error).__name__
                )
        return await self.fallback.count(key)

    async def hit(self, key: str, window_seconds: int) -> tuple[int, float]:
        local = await self.fallback.hit(
            key, window_seconds
        )  # also counted locally: survives a Redis outage
        if self._redis is not None:
            try:
                async with self._redis.pipeline(transaction=True) as pipe:
                    pipe.incr(PREFIX + key)
                    pipe.expire(PREFIX + key, window_seconds, nx=True)
                    pipe.pttl(PREFIX + key)
                    count, _, ttl = await pipe.execute()
                return max((int(count), max(0.0, ttl / 1000)), local)
            except REDIS_ERRORS as error:
                log.warning(
                    "rate limiter: redis unavailable (%s); per-process limits", type(error).__name__
                )
        return local

    async def clear(self, key: str) -> None:
        await self.fallback.clear(key)
        if self._redis is not None:
            with contextlib.suppress(*REDIS_ERRORS):
                await self._redis.delete(PREFIX + key)
