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
from symphony_common.redis import REDIS_ERRORS, create_listener, listen

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
        self._listener_client = create_listener(redis_url)
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
        """Listen until cancelled (see `symphony_common.redis.listen`)."""
        await listen(
            self._listener_client,
            channel=CHANNEL,
            on_message=self._on_message,
            on_live=self._on_live,
        )

    def _on_live(self, live: bool) -> None:
        # Subscribed from here on (what came before may have been missed), or lost.
        if live != self.cache.live:
            if live:
                log.info("change bus connected")
            else:
                log.warning("change bus lost; GetCurrentUser reads the database")
        self.cache.set_live(live)

    def _on_message(self, channel: bytes, data: bytes) -> None:
        kind, _, key = data.decode(errors="replace").partition(" ")
        if kind == "user":
            self.cache.forget(users=(key,))
        elif kind == "session":
            self.cache.forget(sessions=(key,))

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self._listener_client.aclose()
