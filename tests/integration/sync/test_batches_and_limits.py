"""RELIABILITY SY-3 (atomic batches) and SY-7 (limits and quota), plus retention."""

from __future__ import annotations

import asyncio
import os
import uuid
from datetime import UTC, datetime, timedelta

import grpc
import pytest

from symphony.sync.v1 import resources_pb2
from symphony.sync.v1 import sync_service_pb2 as A
from symphony_client.errors import error_reason
from tests.integration.sync.harness import Client, change, start_sync

pytestmark = pytest.mark.asyncio(loop_scope="session")

NIGHTLY = os.environ.get("SYMPHONY_TEST_TIER") == "nightly"


async def test_sy3_readers_never_see_part_of_a_batch(sync_server, sync_channel) -> None:
    writer = Client(sync_server, sync_channel)
    reader = Client(sync_server, sync_channel, user=writer.user)
    polls, partial = 0, []
    done = asyncio.Event()

    async def read() -> None:
        # Each poll is one page since the last cursor: a batch split across two polls would
        # show up as a partial batch in both.
        nonlocal polls
        cursor = 0
        while not (done.is_set() and polls >= 1000):
            page = await reader.stub.PullChanges(
                A.PullChangesRequest(since=cursor, page_size=1000), metadata=reader.metadata
            )
            polls += 1
            by_batch: dict[str, int] = {}
            for item in page.changes:
                batch = item.key.split("/")[0]
                by_batch[batch] = by_batch.get(batch, 0) + 1
            partial.extend(b for b, n in by_batch.items() if n != 3)
            cursor = page.cursor

    async def write() -> None:
        for i in range(40 if not NIGHTLY else 200):
            await writer.push(
                *[change("tasks", f"b{i}/{p}", b"x" * 200) for p in range(3)], atomic=True
            )
        done.set()

    await asyncio.gather(read(), write())
    assert polls >= 1000 and partial == []


async def test_sy3_a_committed_batch_id_cannot_be_resurrected(sync_server, sync_channel) -> None:
    client = Client(sync_server, sync_channel)
    other = Client(sync_server, sync_channel)
    for i in range(100):
        rid = str(uuid.uuid4())
        batch = [change("snippets", f"k{i}", b"original"), change("tasks", f"k{i}", b"original")]
        first = await client.push(*batch, request_id=rid, atomic=True)
        rev = first.results[0].item.revision
        await client.push(change("snippets", f"k{i}", base=rev, deleted=True))
        replay = await client.push(*batch, request_id=rid, atomic=True)
        assert replay.replayed
        # Scoped per user: the same id is a new request for someone else.
        if i % 25 == 0:
            theirs = await other.push(*batch, request_id=rid, atomic=True)
            assert not theirs.replayed
    items, _ = await client.pull_all(collections=["snippets"])
    assert all(i.deleted for i in items) and len(items) == 100


async def test_sy7_quota_is_per_user_and_writes_nothing(database_url: str, redis_url: str) -> None:
    server = await start_sync(database_url, redis_url, quota_bytes=10_000, max_item_bytes=4_000)
    channel = server.channel()
    try:
        a, b = Client(server, channel), Client(server, channel)
        config = await a.stub.GetSyncConfig(A.GetSyncConfigRequest(), metadata=a.metadata)
        assert (config.limits.quota_bytes, config.limits.max_item_bytes) == (10_000, 4_000)
        await a.push(*[change("tasks", f"k{i}", b"x" * 2_999) for i in range(3)])  # 9,000 bytes
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await a.push(change("tasks", "fits", b"x" * 10), change("tasks", "over", b"x" * 2_000))
        assert (caught.value.code(), error_reason(caught.value)) == (
            grpc.StatusCode.RESOURCE_EXHAUSTED,
            "QUOTA_EXCEEDED",
        )
        items, _ = await a.pull_all()
        assert sorted(i.key for i in items) == ["k0", "k1", "k2"]
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await a.push(change("tasks", "huge", b"x" * 4_001))
        assert error_reason(caught.value) == "ITEM_TOO_LARGE"
        # Another user has their own quota; shrinking and deleting always work.
        await b.push(*[change("tasks", f"k{i}", b"x" * 2_999) for i in range(3)])
        await a.push(change("tasks", "k0", base=1, deleted=True))
        await a.push(change("tasks", "fits", b"x" * 10), change("tasks", "over", b"x" * 900))
        config = await a.stub.GetSyncConfig(A.GetSyncConfigRequest(), metadata=a.metadata)
        assert config.usage_bytes == 2 * (2 + 2_999) + 4 + 10 + 4 + 900
    finally:
        await channel.close()
        await server.stop()


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


async def test_retention_purges_tombstones_and_old_cursors_get_reset(
    database_url: str, redis_url: str
) -> None:
    clock = Clock()
    server = await start_sync(
        database_url,
        redis_url,
        overrides_extra={"clock": clock},
        tombstone_retention_seconds=86_400,
        idempotency_retention_seconds=3_600,
        snapshot_retention_seconds=86_400,
    )
    channel = server.channel()
    try:
        c = Client(server, channel)
        rid = str(uuid.uuid4())
        await c.push(change("tasks", "a", b"1"), request_id=rid)
        await c.push(change("tasks", "a", base=1, deleted=True))
        await c.set("tasks", "b", b"1")
        await c.stub.CreateSnapshot(A.CreateSnapshotRequest(), metadata=c.metadata)
        clock.now += timedelta(days=2)
        counts = await server.service.run_maintenance()
        assert counts["tombstones"] >= 1 and counts["requests"] >= 1 and counts["snapshots"] >= 1
        old = await c.stub.PullChanges(A.PullChangesRequest(since=1), metadata=c.metadata)
        assert old.reset_required and not old.changes
        fresh = await c.stub.PullChanges(A.PullChangesRequest(since=2), metadata=c.metadata)
        assert not fresh.reset_required and [i.key for i in fresh.changes] == ["b"]
        full, _ = await c.pull_all()
        assert [i.key for i in full] == ["b"]
        # The request id's stored result expired: the same id is a new request now.
        replay = await c.push(change("tasks", "a", b"1"), request_id=rid)
        assert (
            not replay.replayed
            and replay.results[0].outcome == resources_pb2.CHANGE_OUTCOME_APPLIED
        )
        assert (
            await c.stub.ListSnapshots(A.ListSnapshotsRequest(), metadata=c.metadata)
        ).snapshots == []
    finally:
        await channel.close()
        await server.stop()
