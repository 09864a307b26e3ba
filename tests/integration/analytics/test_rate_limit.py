"""The Redis limiter is shared by replicas; without Redis a per-process limiter takes over."""

from __future__ import annotations

from symphony_analytics.adapters.rate_limit import LocalRateLimiter, RedisRateLimiter
from symphony_common.redis import create_redis


async def test_replicas_share_one_budget_through_redis(redis_url) -> None:
    first, second = create_redis(redis_url), create_redis(redis_url)
    try:
        a, b = RedisRateLimiter(first), RedisRateLimiter(second)
        key = "test:shared"
        assert await a.hit(key, 6, 10, 60) == 0
        assert await b.hit(key, 4, 10, 60) == 0
        assert await a.hit(key, 1, 10, 60) > 0  # the 11th event, counted across both replicas
    finally:
        await first.aclose()
        await second.aclose()


async def test_without_redis_each_process_still_limits() -> None:
    dead = create_redis("redis://127.0.0.1:1/0")
    try:
        limiter = RedisRateLimiter(dead, LocalRateLimiter())
        assert await limiter.hit("k", 10, 10, 60) == 0
        assert await limiter.hit("k", 1, 10, 60) > 0
    finally:
        await dead.aclose()
