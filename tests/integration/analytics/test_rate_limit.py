"""The Redis limiter decides at once and shares the replicas' counts through Redis in the
background; without Redis each process limits on its own counts."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from symphony_analytics.adapters.rate_limit import LocalRateLimiter, RedisRateLimiter
from symphony_common.redis import create_redis

CLOCK = 1_000_020.0  # 20 s into a 60 s window


def stored(key: str) -> str:
    return f"symphony:analytics:rl:{key}:{int(CLOCK // 60)}"


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Any]:
    client = create_redis(redis_url)
    yield client
    await client.aclose()


async def test_replicas_share_one_budget_to_within_a_settle_interval(redis_url) -> None:
    first, second = create_redis(redis_url), create_redis(redis_url)
    try:
        a, b = RedisRateLimiter(first), RedisRateLimiter(second)
        key = f"test:{uuid.uuid4()}"
        assert await a.hit(key, 6, 10, 60) == 0
        assert await b.hit(key, 4, 10, 60) == 0
        await a.settle()
        await b.settle()  # b learns the total: 10
        assert await b.hit(key, 1, 10, 60) > 0
        # a has not heard of b's 4 yet: it admits what it sees within the budget...
        assert await a.hit(key, 1, 10, 60) == 0
        await a.settle()
        # ...until its next settle brings the total.
        assert await a.hit(key, 1, 10, 60) > 0
    finally:
        await first.aclose()
        await second.aclose()


async def test_a_hit_is_decided_at_once_and_reaches_redis_in_the_background(redis: Any) -> None:
    limiter = RedisRateLimiter(redis, clock=lambda: CLOCK, settle_seconds=0.05)
    key = f"test:{uuid.uuid4()}"
    assert await limiter.hit(key, 3, 10, 60) == 0
    assert await redis.get(stored(key)) is None  # nothing sent yet
    assert await limiter.hit(key, 8, 10, 60) > 0  # 11 > 10, counted before any round trip
    for _ in range(100):
        if await redis.get(stored(key)) is not None:
            break
        await asyncio.sleep(0.02)
    assert await redis.get(stored(key)) == b"11"


async def test_closing_sends_what_is_left(redis: Any) -> None:
    limiter = RedisRateLimiter(redis, clock=lambda: CLOCK, settle_seconds=60)
    key = f"test:{uuid.uuid4()}"
    assert await limiter.hit(key, 2, 10, 60) == 0
    await limiter.aclose()
    assert await redis.get(stored(key)) == b"2"


async def test_without_redis_each_process_still_limits() -> None:
    dead = create_redis("redis://127.0.0.1:1/0")
    try:
        limiter = RedisRateLimiter(dead)
        assert await limiter.hit("k", 10, 10, 60) == 0
        await limiter.settle()  # Redis is unreachable: the counts stay this process's own
        assert await limiter.hit("k", 1, 10, 60) > 0
    finally:
        await dead.aclose()


async def test_one_command_counts_every_key_of_every_call(redis: Any) -> None:
    limiter = RedisRateLimiter(redis, clock=lambda: CLOCK)
    a, b = f"test:{uuid.uuid4()}", f"test:{uuid.uuid4()}"
    assert await limiter.hit_many([(a, 5, 10), (b, 9, 10)], 60) == 0
    # Each key keeps its own count; the answer is the longest wait of any key.
    assert await limiter.hit_many([(a, 5, 10), (b, 1, 10)], 60) == 0
    assert await limiter.hit_many([(a, 0, 10), (b, 1, 10)], 60) > 0
    await limiter.settle()
    assert [await redis.get(stored(k)) for k in (a, b)] == [b"10", b"11"]
    assert await limiter.hit(a, 1, 10, 60) > 0


async def test_a_window_counter_expires_with_its_window(redis: Any) -> None:
    limiter = RedisRateLimiter(redis, clock=lambda: CLOCK)
    key = f"test:{uuid.uuid4()}"
    assert await limiter.hit(key, 3, 10, 60) == 0
    await limiter.settle()
    assert await redis.get(stored(key)) == b"3"
    assert 0 < await redis.ttl(stored(key)) <= 61
    await redis.expire(stored(key), 5)  # a later hit must not push the expiry out again
    assert await limiter.hit(key, 2, 10, 60) == 0
    await limiter.settle()
    assert await redis.get(stored(key)) == b"5"
    assert 0 < await redis.ttl(stored(key)) <= 5


async def test_the_local_limiter_counts_every_key_of_a_call() -> None:
    limiter = LocalRateLimiter(clock=lambda: 1000.0)
    assert await limiter.hit_many([("a", 3, 5), ("b", 5, 5)], 60) == 0
    assert await limiter.hit_many([("a", 2, 5), ("b", 1, 5)], 60) == 20.0  # b: 6 > 5
    assert await limiter.hit("a", 0, 5, 60) == 0
