from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest_asyncio

from tests.integration.sync.harness import SyncServer, start_sync


@pytest_asyncio.fixture(scope="session")
async def sync_server(database_url: str, redis_url: str) -> AsyncIterator[SyncServer]:
    server = await start_sync(database_url, redis_url)
    try:
        yield server
    finally:
        await server.stop()


@pytest_asyncio.fixture(scope="session")
async def sync_channel(sync_server: SyncServer) -> AsyncIterator[grpc.aio.Channel]:
    channel = sync_server.channel()
    try:
        yield channel
    finally:
        await channel.close()
