"""`symphony_common.redis.listen`, the pub/sub loop behind sync's change feed and auth's change
bus, against the real Redis: live only once subscribed, every message passed on, and a killed
connection reported (messages may have been missed) and subscribed again."""

from __future__ import annotations

import asyncio
import contextlib
import uuid

from redis.asyncio import Redis

from symphony_common.redis import listen


async def _until(predicate, within: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + within
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)


async def test_listen_reports_liveness_passes_messages_and_resubscribes(redis_url: str) -> None:
    name = f"listen-test-{uuid.uuid4().hex[:8]}"
    channel = f"symphony:test:{name}"
    listener = Redis.from_url(redis_url, socket_timeout=None, client_name=name)
    publisher = Redis.from_url(redis_url)
    live: list[bool] = []
    received: list[tuple[bytes, bytes]] = []
    task = asyncio.create_task(
        listen(
            listener,
            channel=channel,
            on_message=lambda c, d: received.append((c, d)),
            on_live=live.append,
        )
    )
    try:
        await _until(lambda: live == [True])
        await publisher.publish(channel, b"one")
        await publisher.publish(f"{channel}:other", b"not ours")
        await publisher.publish(channel, b"two")
        await _until(lambda: len(received) == 2)
        assert received == [(channel.encode(), b"one"), (channel.encode(), b"two")]

        # The server drops the listening connection: reported, then subscribed again.
        ids = [c["id"] for c in await publisher.client_list() if c.get("name") == name]
        assert ids, "the listener's connection is not named"
        for client_id in ids:
            await publisher.client_kill_filter(_id=client_id)
        await _until(lambda: live[-2:] == [False, True])
        await publisher.publish(channel, b"three")
        await _until(lambda: received[-1:] == [(channel.encode(), b"three")])
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await listener.aclose()
        await publisher.aclose()
