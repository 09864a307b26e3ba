"""Redis client. Redis is an accelerator and a fan-out bus, never the only copy of anything:
callers treat every Redis error as "not available" and carry on without it."""

from __future__ import annotations

from redis.asyncio import Redis
from redis.exceptions import RedisError

REDIS_ERRORS: tuple[type[BaseException], ...] = (RedisError, OSError, TimeoutError)


def create_redis(url: str) -> Redis:
    return Redis.from_url(
        url,
        socket_timeout=0.5,
        socket_connect_timeout=0.5,
        health_check_interval=30,
        retry_on_timeout=False,
        decode_responses=False,
    )
