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


async def test_one_call_counts_every_key_in_one_round_trip(redis_url) -> None:
    import uuid

    redis = create_redis(redis_url)
    try:
        limiter = RedisRateLimiter(redis)
        a, b = f"test:{uuid.uuid4()}", f"test:{uuid.uuid4()}"
        assert await limiter.hit_many([(a, 5, 10), (b, 9, 10)], 60) == 0
        # Each key keeps its own count; the answer is the longest wait of any key.
        assert await limiter.hit_many([(a, 5, 10), (b, 1, 10)], 60) == 0
        assert await limiter.hit_many([(a, 0, 10), (b, 1, 10)], 60) > 0
        assert await limiter.hit(a, 1, 10, 60) > 0
    finally:
        await redis.aclose()


async def test_a_window_counter_expires_with_its_window(redis_url) -> None:
    import uuid

    redis = create_redis(redis_url)
    clock = 1_000_020.0  # 20 s into a 60 s window
    try:
        limiter = RedisRateLimiter(redis, clock=lambda: clock)
        key = f"test:{uuid.uuid4()}"
        stored = f"symphony:analytics:rl:{key}:{int(clock // 60)}"
        assert await limiter.hit(key, 3, 10, 60) == 0
        assert await redis.get(stored) == b"3"
        await redis.expire(stored, 5)  # a later hit must not push the expiry out again
        assert await limiter.hit(key, 2, 10, 60) == 0
        assert await redis.get(stored) == b"5"
        assert 0 < await redis.ttl(stored) <= 5
    finally:
        await redis.aclose()


async def test_the_local_fallback_counts_every_key_of_a_call() -> None:
    limiter = LocalRateLimiter(clock=lambda: 1000.0)
    assert await limiter.hit_many([("a", 3, 5), ("b", 5, 5)], 60) == 0
    assert await limiter.hit_many([("a", 2, 5), ("b", 1, 5)], 60) == 20.0  # b: 6 > 5
    assert await limiter.hit("a", 0, 5, 60) == 0
