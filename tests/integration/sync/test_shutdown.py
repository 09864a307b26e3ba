"""A draining replica ends its watch streams with UNAVAILABLE (reason SHUTTING_DOWN) at once,
instead of holding them for the whole grace period and then cutting them, so clients
reconnect to another replica straight away."""

from __future__ import annotations

import asyncio
import time

import grpc
import pytest

from symphony.sync.v1 import resources_pb2, sync_service_pb2
from symphony_client.errors import error_reason
from tests.integration.sync.harness import Client, change, start_sync

pytestmark = pytest.mark.asyncio(loop_scope="session")

GRACE = 10.0


async def test_watch_streams_end_with_shutting_down_on_drain(
    database_url: str, redis_url: str
) -> None:
    server = await start_sync(database_url, redis_url)
    channel = server.channel()
    try:
        client = Client(server, channel)
        await client.set("tasks", "a", b"1")
        streams = [
            client.stub.Watch(sync_service_pb2.WatchRequest(), metadata=client.metadata)
            for _ in range(3)
        ]
        for stream in streams:
            while (await stream.read()).type != resources_pb2.WATCH_EVENT_TYPE_CAUGHT_UP:
                pass

        started = time.monotonic()
        stopping = asyncio.create_task(server.running.stop(grace=GRACE))
        for stream in streams:
            with pytest.raises(grpc.aio.AioRpcError) as ended:
                while True:
                    event = await asyncio.wait_for(stream.read(), GRACE)
                    assert event is not grpc.aio.EOF, "the stream ended with OK"
            assert ended.value.code() == grpc.StatusCode.UNAVAILABLE
            assert error_reason(ended.value) == "SHUTTING_DOWN"
        await stopping
        # Nothing waited for the grace period to run out.
        assert time.monotonic() - started < GRACE / 2
    finally:
        await channel.close()


async def test_new_watch_during_drain_is_refused_with_shutting_down(
    database_url: str, redis_url: str
) -> None:
    server = await start_sync(database_url, redis_url)
    channel = server.channel()
    try:
        client = Client(server, channel)
        server.service.begin_shutdown()  # the drain has begun; the port still accepts
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            async for _ in client.stub.Watch(
                sync_service_pb2.WatchRequest(), metadata=client.metadata
            ):
                pass
        assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
        assert error_reason(refused.value) == "SHUTTING_DOWN"
        # Unary calls still complete while draining.
        assert (await client.push(change("tasks", "b", b"2"))).results[0].item.revision > 0
    finally:
        await channel.close()
        await server.stop()
