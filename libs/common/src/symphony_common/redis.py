"""Redis client. Redis is an accelerator and a fan-out bus, never the only copy of anything:
callers treat every Redis error as "not available" and carry on without it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

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


def create_listener(url: str) -> Redis:
    """A client for one long-lived pub/sub connection: no read timeout (it waits for
    messages), health checks to notice a dead connection."""
    return Redis.from_url(
        url, socket_connect_timeout=0.5, socket_timeout=None, health_check_interval=10
    )


async def listen(
    client: Redis,
    *,
    on_message: Callable[[bytes, bytes], None],
    on_live: Callable[[bool], None],
    channel: str = "",
    pattern: str = "",
) -> None:
    """Until cancelled: subscribe to `channel` (or `pattern`), call `on_live(True)` once Redis
    confirms the subscription, `on_message(channel, data)` for every message, and when the
    connection fails `on_live(False)` (messages may have been missed meanwhile), then
    subscribe again with backoff (0.1 s doubling up to 5 s)."""
    backoff = 0.1
    while True:
        pubsub = client.pubsub()
        try:
            await (pubsub.psubscribe(pattern) if pattern else pubsub.subscribe(channel))
            while True:
                message = await pubsub.get_message(timeout=5.0)
                if message is None:
                    continue
                kind = message.get("type")
                if kind in ("subscribe", "psubscribe"):
                    backoff = 0.1
                    on_live(True)
                elif kind in ("message", "pmessage"):
                    name, data = message.get("channel"), message.get("data")
                    if isinstance(name, bytes) and isinstance(data, bytes):
                        on_message(name, data)
        except asyncio.CancelledError:
            raise
        except REDIS_ERRORS:
            on_live(False)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 5.0)
        finally:
            with contextlib.suppress(Exception):
                await pubsub.aclose()
