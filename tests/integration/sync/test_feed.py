"""Watch across replicas: through Redis pub/sub, and by polling PostgreSQL when Redis is down."""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio import Redis

from symphony.sync.v1 import resources_pb2
from symphony.sync.v1 import sync_service_pb2 as A
from symphony_sync.feed import CHANNEL
from tests.integration.sync.harness import Client, start_sync

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def _watch_sees_a_push_on_the_other_replica(
    database_url: str, redis_a: str, redis_b: str, noise: list[bytes] | None = None
) -> float:
    """`noise`: messages published on the change channel before the push, which the
    listeners must ignore."""
    one = await start_sync(database_url, redis_a, watch_poll_fallback_seconds=0.2)
    two = await start_sync(
        database_url, redis_b, signer=one.signer, watch_poll_fallback_seconds=0.2
    )
    ch1, ch2 = one.channel(), two.channel()
    try:
        watcher = Client(one, ch1)
        writer = Client(two, ch2, user=watcher.user)
        await asyncio.sleep(0.3)  # let the listeners subscribe
        if noise:
            async with Redis.from_url(redis_b) as redis:
                for message in noise:
                    await redis.publish(CHANNEL, message)
        call = watcher.stub.Watch(A.WatchRequest(), metadata=watcher.metadata)
        assert (await call.read()).type == resources_pb2.WATCH_EVENT_TYPE_CAUGHT_UP
        started = asyncio.get_running_loop().time()
        await writer.set("tasks", "x", b"1")
        event = await asyncio.wait_for(call.read(), 5)
        assert event.type == resources_pb2.WATCH_EVENT_TYPE_CHANGES and [
            i.key for i in event.changes
        ] == ["x"]
        call.cancel()
        return asyncio.get_running_loop().time() - started
    finally:
        await ch1.close()
        await ch2.close()
        await one.stop()
        await two.stop()


async def test_watch_across_replicas_through_redis(database_url: str, redis_url: str) -> None:
    await _watch_sees_a_push_on_the_other_replica(database_url, redis_url, redis_url)


async def test_malformed_change_hints_are_ignored(database_url: str, redis_url: str) -> None:
    noise = [b"not json", b"[1, 2, 3]", b'["another-replica", [["u", 7], "x"]]', b"{}"]
    await _watch_sees_a_push_on_the_other_replica(database_url, redis_url, redis_url, noise)


async def test_watch_falls_back_to_polling_when_redis_is_down(database_url: str) -> None:
    dead = "redis://127.0.0.1:1/0"
    await _watch_sees_a_push_on_the_other_replica(database_url, dead, dead)
