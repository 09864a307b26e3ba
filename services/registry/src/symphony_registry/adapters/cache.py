"""The registry's Redis cache: short-lived copies of hot reads and search results. Every Redis
error is a miss or a no-op, so the registry answers correctly with Redis down."""

from __future__ import annotations

import logging

from redis.asyncio import Redis

from symphony_common.redis import REDIS_ERRORS

log = logging.getLogger(__name__)
PREFIX = "registry:"


class RedisCache:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def get(self, key: str) -> bytes | None:
        try:
            value = await self.redis.get(PREFIX + key)
        except REDIS_ERRORS:
            return None
        return value.encode() if isinstance(value, str) else value

    async def set(self, key: str, value: bytes, ttl: float) -> None:
        try:
            await self.redis.set(PREFIX + key, value, px=max(1, int(ttl * 1000)))
        except REDIS_ERRORS:
            return

    async def delete(self, *keys: str) -> None:
        if not keys:
            return
        try:
            await self.redis.delete(*(PREFIX + k for k in keys))
        except REDIS_ERRORS:
            log.warning("cache invalidation failed; entries expire by their TTL")

    async def generation(self, name: str) -> str:
        try:
            value = await self.redis.get(PREFIX + "gen:" + name)
        except REDIS_ERRORS:
            return ""
        if isinstance(value, bytes):
            return value.decode()
        return value or "0"

    async def bump(self, name: str) -> None:
        try:
            await self.redis.incr(PREFIX + "gen:" + name)
        except REDIS_ERRORS:
            log.warning("cache generation bump failed; entries expire by their TTL")
