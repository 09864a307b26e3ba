"""The change bus (the `ChangeBus` port): which users and sessions a commit changed, so that
every replica's session cache (domain/session_cache.py) forgets them.

After a commit the writer forgets them in its own cache at once, then publishes "user U" /
"session S" on one Redis channel; every replica's listener forgets what the messages name.
Redis carries no data. While the listener is not subscribed the cache keeps nothing (messages
may be missed), so a Redis outage costs speed, never a stale answer; the cache's lifetime
bounds what a message lost while the bus looked live (a publish that failed) leaves behind.
The listener follows the sync service's change feed (symphony_sync/feed.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Collection

from redis.asyncio import Redis

from symphony_auth.domain.session_cache import SessionCache
from symphony_common.redis import REDIS_ERRORS

log = logging.getLogger(__name__)

CHANNEL = "symphony:auth:changes"


class LocalChangeBus:
    """One process: forgets in this process's cache. Complete on a single replica."""

    def __init__(self, cache: SessionCache) -> None:
        self.cache = cache

    async def changed(self, users: Collection[str], sessions: Collection[str]) -> None:
        self.cache.forget(users, sessions)


class RedisChangeBus(LocalChangeBus):
    """Across replicas through Redis pub/sub (one channel, one listening connection per
    replica); the writer's own cache never waits for Redis."""

    def __init__(self, cache: SessionCache, publisher: Redis, redis_url: str) -> None:
        super().__init__(cache)
        self._publisher = publisher
        self._listener_client = Redis.from_url(
            redis_url, socket_connect_timeout=0.5, socket_timeout=None, health_check_interval=10
        )
        self._published = True
        cache.set_live(False)  # until the listener is subscribed

    async def changed(self, users: Collection[str], sessions: Collection[str]) -> None:
        await super().changed(users, sessions)
        # The write is committed: tell the others even if the caller goes away meanwhile.
        await asyncio.shield(self._publish(users, sessions))

    async def _publish(self, users: Collection[str], sessions: Collection[str]) -> None:
        try:
            async with self._publisher.pipeline(transaction=False) as pipe:
                for user_id in users:
                    pipe.publish(CHANNEL, f"user {user_id}")
                for session_id in sessions:
                    pipe.publish(CHANNEL, f"session {session_id}")
                await pipe.execute()
        except REDIS_ERRORS:
            if self._published:
                log.warning("change bus unavailable; other replicas' caches expire on their own")
            self._published = False
        else:
            self._published = True

    async def run(self) -> None:
        """Listen until cancelled, reconnecting with backoff."""
        backoff = 0.1
        while True:
            pubsub = self._listener_client.pubsub()
            try:
                await pubsub.subscribe(CHANNEL)
                while True:
                    message = await pubsub.get_message(timeout=5.0)
                    if message is None:
                        continue
                    if message.get("type") == "subscribe":
                        # Subscribed from here on; what came before may have been missed.
                        self.cache.set_live(True)
                        log.info("change bus connected")
                        backoff = 0.1
                    elif message.get("type") == "message":
                        self._on_message(message.get("data"))
            except asyncio.CancelledError:
                raise
            except REDIS_ERRORS:
                if self.cache.live:
                    log.warning("change bus lost; GetCurrentUser reads the database")
                self.cache.set_live(False)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()

    def _on_message(self, data: object) -> None:
        if not isinstance(data, bytes):
            return
        kind, _, key = data.decode(errors="replace").partition(" ")
        if kind == "user":
            self.cache.forget(users=(key,))
        elif kind == "session":
            self.cache.forget(sessions=(key,))

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self._listener_client.aclose()
