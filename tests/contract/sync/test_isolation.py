"""Isolation: a user reaches only their own data, through every RPC (issue 4, capability 9).
Alice's data is set up once; Bob calls every RPC naming Alice's items, devices, snapshots,
cursors and page tokens, and must see nothing of hers and change nothing of hers."""

from __future__ import annotations

import asyncio
import uuid

import grpc
import pytest

from symphony.sync.v1 import resources_pb2
from symphony.sync.v1 import sync_service_pb2 as A
from symphony_client.errors import error_reason
from tests.integration.sync.harness import Client, change

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def alice_state(alice: Client) -> tuple:
    items, cursor = await alice.pull_all()
    devices = await alice.stub.ListDevices(A.ListDevicesRequest(), metadata=alice.metadata)
    snapshots = await alice.stub.ListSnapshots(A.ListSnapshotsRequest(), metadata=alice.metadata)
    config = await alice.stub.GetSyncConfig(A.GetSyncConfigRequest(), metadata=alice.metadata)
    return (
        [(i.collection, i.key, i.value, i.revision, i.deleted) for i in items],
        cursor,
        [(d.uid, d.display_name, d.disabled) for d in devices.devices],
        [s.uid for s in snapshots.snapshots],
        config.generation,
    )


async def test_every_rpc_is_confined_to_the_caller(sync_server, sync_channel) -> None:
    alice, bob = Client(sync_server, sync_channel), Client(sync_server, sync_channel)
    for i in range(5):
        await alice.set("settings", f"s{i}", b'{"a":1}')
    device = await alice.stub.RegisterDevice(
        A.RegisterDeviceRequest(device=resources_pb2.Device(display_name="Alice's laptop")),
        metadata=alice.metadata,
    )
    snapshot = await alice.stub.CreateSnapshot(A.CreateSnapshotRequest(), metadata=alice.metadata)
    page = await alice.stub.PullChanges(A.PullChangesRequest(page_size=1), metadata=alice.metadata)
    revisions = await alice.stub.ListItemRevisions(
        A.ListItemRevisionsRequest(collection="settings", item="s0"), metadata=alice.metadata
    )
    before = await alice_state(alice)
    rid = str(uuid.uuid4())
    await alice.push(change("tasks", "rid", b"alice"), request_id=rid)
    before = await alice_state(alice)

    async def code(coro) -> tuple[grpc.StatusCode, str]:
        try:
            await coro
        except grpc.aio.AioRpcError as error:
            return error.code(), error_reason(error)
        return grpc.StatusCode.OK, ""

    md = bob.metadata
    config = await bob.stub.GetSyncConfig(A.GetSyncConfigRequest(), metadata=md)
    assert (config.latest_revision, config.item_count) == (0, 0)
    assert await code(
        bob.stub.GetItem(A.GetItemRequest(collection="settings", item="s0"), metadata=md)
    ) == (grpc.StatusCode.NOT_FOUND, "ITEM_NOT_FOUND")
    assert await code(
        bob.stub.ListItemRevisions(
            A.ListItemRevisionsRequest(collection="settings", item="s0"), metadata=md
        )
    ) == (grpc.StatusCode.NOT_FOUND, "ITEM_NOT_FOUND")
    assert await code(
        bob.stub.RestoreItemRevision(
            A.RestoreItemRevisionRequest(
                collection="settings", item="s0", revision=revisions.revisions[0].revision
            ),
            metadata=md,
        )
    ) == (grpc.StatusCode.NOT_FOUND, "REVISION_NOT_FOUND")
    # Alice's cursor and page token mean nothing to Bob.
    assert await code(bob.stub.PullChanges(A.PullChangesRequest(since=before[1]), metadata=md)) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_CURSOR",
    )
    assert await code(
        bob.stub.PullChanges(
            A.PullChangesRequest(page_size=1, page_token=page.next_page_token), metadata=md
        )
    ) == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_PAGE_TOKEN")
    bob_items, _ = await bob.pull_all()
    assert bob_items == []
    watch = bob.stub.Watch(A.WatchRequest(), metadata=md)
    assert (await watch.read()).type == resources_pb2.WATCH_EVENT_TYPE_CAUGHT_UP
    await alice.set("tasks", "while-bob-watches", b"1")
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(watch.read(), 1.5)
    watch.cancel()
    assert await code(bob.stub.Watch(A.WatchRequest(since=before[1]), metadata=md).read()) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_CURSOR",
    )
    # Alice's device id is not Bob's.
    assert await code(bob.push(change("tasks", "k", b"v"), device=device.uid)) == (
        grpc.StatusCode.NOT_FOUND,
        "DEVICE_NOT_FOUND",
    )
    assert await code(
        bob.stub.PullChanges(A.PullChangesRequest(device=device.uid), metadata=md)
    ) == (grpc.StatusCode.NOT_FOUND, "DEVICE_NOT_FOUND")
    assert await code(
        bob.stub.UpdateDevice(
            A.UpdateDeviceRequest(device=device.uid, patch=resources_pb2.Device(disabled=True)),
            metadata=md,
        )
    ) == (grpc.StatusCode.NOT_FOUND, "DEVICE_NOT_FOUND")
    assert await code(
        bob.stub.DeleteDevice(A.DeleteDeviceRequest(device=device.uid), metadata=md)
    ) == (grpc.StatusCode.NOT_FOUND, "DEVICE_NOT_FOUND")
    assert (await bob.stub.ListDevices(A.ListDevicesRequest(), metadata=md)).devices == []
    assert await code(
        bob.stub.RegisterDevice(
            A.RegisterDeviceRequest(
                device=resources_pb2.Device(display_name="Bob's"), request_id=rid
            ),
            metadata=md,
        )
    ) == (grpc.StatusCode.OK, "")
    # Alice's snapshot is not Bob's.
    assert await code(
        bob.stub.RestoreSnapshot(A.RestoreSnapshotRequest(snapshot=snapshot.uid), metadata=md)
    ) == (grpc.StatusCode.NOT_FOUND, "SNAPSHOT_NOT_FOUND")
    assert (await bob.stub.ListSnapshots(A.ListSnapshotsRequest(), metadata=md)).snapshots == []
    await bob.stub.CreateSnapshot(A.CreateSnapshotRequest(), metadata=md)
    # Bob's writes with Alice's keys and request id land in Bob's space only.
    same_rid = await bob.push(change("tasks", "rid", b"bob"), request_id=rid)
    assert (
        not same_rid.replayed
        and same_rid.results[0].outcome == resources_pb2.CHANGE_OUTCOME_APPLIED
    )
    await bob.set("settings", "s0", b'{"b":2}')
    await bob.stub.Reset(A.ResetRequest(), metadata=md)

    after = await alice_state(alice)
    assert after[0][:-1] == before[0] and after[2:] == before[2:]
