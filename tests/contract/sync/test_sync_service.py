"""SyncService through a real grpc.aio server on port 0 against PostgreSQL and Redis: every
RPC, its documented errors and reasons, and the HTTP-visible details (409 copies)."""

from __future__ import annotations

import asyncio
import json
import uuid

import grpc
import psycopg
import pytest
from google.protobuf import duration_pb2, field_mask_pb2
from google.rpc import error_details_pb2

from symphony.sync.v1 import resources_pb2, sync_internal_service_pb2, sync_service_pb2
from symphony_client.errors import error_reason
from tests.integration.sync.harness import (
    SERVICE_TOKEN,
    Client,
    change,
    status_details,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")

A = sync_service_pb2
APPLIED, MERGED, CONFLICT = (
    resources_pb2.CHANGE_OUTCOME_APPLIED,
    resources_pb2.CHANGE_OUTCOME_MERGED,
    resources_pb2.CHANGE_OUTCOME_CONFLICT,
)


@pytest.fixture
def client(sync_server, sync_channel) -> Client:
    return Client(sync_server, sync_channel)


async def expect(coro, code: grpc.StatusCode, reason: str) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await coro
    assert (caught.value.code(), error_reason(caught.value)) == (code, reason), (
        caught.value.details()
    )
    return caught.value


def unpack(error: grpc.aio.AioRpcError, message_type):
    for detail in status_details(error):
        if detail.Is(message_type.DESCRIPTOR):
            out = message_type()
            detail.Unpack(out)
            return out
    raise AssertionError(f"no {message_type.DESCRIPTOR.name} in details")


# --------------------------------------------------------------------------- auth


async def test_calls_without_a_token_are_unauthenticated(sync_channel) -> None:
    from symphony.sync.v1 import sync_service_pb2_grpc

    stub = sync_service_pb2_grpc.SyncServiceStub(sync_channel)
    await expect(
        stub.GetSyncConfig(A.GetSyncConfigRequest()),
        grpc.StatusCode.UNAUTHENTICATED,
        "UNAUTHENTICATED",
    )
    await expect(
        stub.PullChanges(A.PullChangesRequest(), metadata=(("authorization", "Bearer nope"),)),
        grpc.StatusCode.UNAUTHENTICATED,
        "INVALID_TOKEN",
    )


async def test_scopes_are_enforced(sync_server, sync_channel) -> None:
    reader = Client(sync_server, sync_channel, scopes=("sync.read",))
    await reader.stub.GetSyncConfig(A.GetSyncConfigRequest(), metadata=reader.metadata)
    await expect(
        reader.push(change("tasks", "k", b"v")),
        grpc.StatusCode.PERMISSION_DENIED,
        "INSUFFICIENT_SCOPE",
    )
    other = Client(sync_server, sync_channel, scopes=("registry.publish",))
    await expect(
        other.stub.PullChanges(A.PullChangesRequest(), metadata=other.metadata),
        grpc.StatusCode.PERMISSION_DENIED,
        "INSUFFICIENT_SCOPE",
    )


# --------------------------------------------------------------------------- config


async def test_get_sync_config_advertises_limits_and_state(client: Client) -> None:
    config = await client.stub.GetSyncConfig(A.GetSyncConfigRequest(), metadata=client.metadata)
    assert config.name == f"users/{client.user}/syncConfig"
    assert config.limits.max_batch_changes == 100
    assert config.limits.max_item_bytes == 1 << 20
    assert config.limits.quota_bytes == 100 << 20
    assert config.limits.history_depth == 20
    assert config.limits.idempotency_retention.seconds == 30 * 86400
    assert "settings" in config.builtin_collections and list(config.merge_collections) == [
        "settings"
    ]
    assert (config.generation, config.latest_revision, config.usage_bytes) == (1, 0, 0)
    await client.set("tasks", "build", b"abc")
    config = await client.stub.GetSyncConfig(A.GetSyncConfigRequest(), metadata=client.metadata)
    assert (config.latest_revision, config.usage_bytes, config.item_count) == (
        1,
        len("build") + 3,
        1,
    )


# --------------------------------------------------------------------------- push


async def test_push_applies_and_detects_stale_bases(client: Client) -> None:
    first = await client.set("keybindings", "ctrl+k", b"[1]")
    assert first.outcome == APPLIED and first.item.revision == 1 and first.item.value == b""
    again = await client.set("keybindings", "ctrl+k", b"[2]", base=0)
    assert (
        again.outcome == CONFLICT
        and again.item.value == b"[1]"
        and not again.HasField("merge_conflict")
    )
    ok = await client.set("keybindings", "ctrl+k", b"[2]", base=1)
    assert ok.outcome == APPLIED and ok.item.revision == 2
    stale = await client.set("keybindings", "ctrl+k", b"[3]", base=1)
    assert stale.outcome == CONFLICT and stale.item.revision == 2 and stale.item.value == b"[2]"
    gone = await client.set("keybindings", "never", b"x", base=7)
    assert gone.outcome == CONFLICT and not gone.HasField("item")


async def test_delete_writes_a_tombstone_and_base_zero_recreates(client: Client) -> None:
    await client.set("tasks", "t", b"1")
    deleted = await client.push(change("tasks", "t", base=1, deleted=True))
    assert deleted.results[0].outcome == APPLIED and deleted.results[0].item.deleted
    await expect(
        client.stub.GetItem(
            A.GetItemRequest(collection="tasks", item="t"), metadata=client.metadata
        ),
        grpc.StatusCode.NOT_FOUND,
        "ITEM_NOT_FOUND",
    )
    items, cursor = await client.pull_all()
    assert [(i.key, i.deleted, i.revision) for i in items] == [("t", True, 2)] and cursor == 2
    recreated = await client.set("tasks", "t", b"2", base=0)
    assert recreated.outcome == APPLIED and recreated.item.revision == 3


async def test_settings_merge_disjoint_keys_and_report_overlaps(client: Client) -> None:
    base = await client.set("settings", "user", json.dumps({"a": 1, "b": 1}).encode())
    await client.set(
        "settings", "user", json.dumps({"a": 2, "b": 1}).encode(), base=base.item.revision
    )
    merged = await client.set(
        "settings", "user", json.dumps({"a": 1, "b": 3, "c": 4}).encode(), base=base.item.revision
    )
    assert merged.outcome == MERGED
    assert json.loads(merged.item.value) == {"a": 2, "b": 3, "c": 4} and merged.item.revision == 3
    conflict = await client.set(
        "settings", "user", json.dumps({"a": 9, "b": 3, "c": 4}).encode(), base=1
    )
    assert conflict.outcome == CONFLICT
    mc = conflict.merge_conflict
    assert mc.base_available and mc.base_revision == 1 and mc.server_revision == 3
    assert [k.key for k in mc.keys] == ["a"]
    (k,) = mc.keys
    assert (json.loads(k.base_value), json.loads(k.server_value), json.loads(k.client_value)) == (
        1,
        2,
        9,
    )
    assert json.loads(mc.merged_value)["a"] == 2


async def test_overlapping_merge_names_all_three_values(client: Client) -> None:
    r1 = await client.set("settings", "s", b'{"theme":"light","size":12}')
    await client.set("settings", "s", b'{"theme":"dark","size":12}', base=r1.item.revision)
    conflict = await client.set(
        "settings", "s", b'{"theme":"solarized","size":14}', base=r1.item.revision
    )
    assert conflict.outcome == CONFLICT
    keys = {k.key: k for k in conflict.merge_conflict.keys}
    assert list(keys) == ["theme"]
    assert (keys["theme"].base_value, keys["theme"].server_value, keys["theme"].client_value) == (
        b'"light"',
        b'"dark"',
        b'"solarized"',
    )
    assert json.loads(conflict.merge_conflict.merged_value) == {"theme": "dark", "size": 14}


async def test_encrypted_and_opaque_items_are_never_merged(client: Client) -> None:
    r = await client.set("settings", "secret", b"\x00cipher", encrypted=True)
    await client.set("settings", "secret", b"\x00cipher2", base=r.item.revision, encrypted=True)
    stale = await client.set(
        "settings", "secret", b"\x00cipher3", base=r.item.revision, encrypted=True
    )
    assert stale.outcome == CONFLICT and not stale.HasField("merge_conflict")
    m = await client.set("ui_state", "panel", b'{"a":1}', mergeable=True)
    await client.set("ui_state", "panel", b'{"a":1,"b":2}', base=m.item.revision, mergeable=True)
    merged = await client.set(
        "ui_state", "panel", b'{"a":1,"c":3}', base=m.item.revision, mergeable=True
    )
    assert merged.outcome == MERGED and json.loads(merged.item.value) == {"a": 1, "b": 2, "c": 3}


async def test_atomic_push_is_all_or_nothing_with_server_copies(client: Client) -> None:
    await client.set("tasks", "x", b"server")
    error = await expect(
        client.push(
            change("tasks", "y", b"new"), change("tasks", "x", b"mine", base=0), atomic=True
        ),
        grpc.StatusCode.ABORTED,
        "REVISION_CONFLICT",
    )
    conflicts = unpack(error, A.PushConflicts)
    assert [(c.index, c.outcome, c.item.value) for c in conflicts.conflicts] == [
        (1, CONFLICT, b"server")
    ]
    await expect(
        client.stub.GetItem(
            A.GetItemRequest(collection="tasks", item="y"), metadata=client.metadata
        ),
        grpc.StatusCode.NOT_FOUND,
        "ITEM_NOT_FOUND",
    )
    partial = await client.push(change("tasks", "y", b"new"), change("tasks", "x", b"mine", base=0))
    assert [r.outcome for r in partial.results] == [APPLIED, CONFLICT]


async def test_atomic_conflicts_too_large_for_an_error_keep_their_revisions(
    client: Client,
) -> None:
    small = await client.set("tasks", "small", b"s")
    big_value = json.dumps(["x" * 100] * 60).encode()  # ~6 KB, 8 KB as base64: over the budget
    big = await client.set("tasks", "big", big_value)
    error = await expect(
        client.push(
            change("tasks", "small", b"mine", base=0),
            change("tasks", "big", b"mine", base=0),
            atomic=True,
        ),
        grpc.StatusCode.ABORTED,
        "REVISION_CONFLICT",
    )
    conflicts = unpack(error, A.PushConflicts)
    assert [
        (c.index, c.item.revision, c.item.value, c.value_omitted) for c in conflicts.conflicts
    ] == [(0, small.item.revision, b"s", False), (1, big.item.revision, b"", True)]
    assert "details_omitted" not in unpack(error, error_details_pb2.ErrorInfo).metadata


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ([], "EMPTY_BATCH"),
        ([change("Bad Name", "k", b"v")], "INVALID_COLLECTION"),
        ([change("tasks", "", b"v")], "INVALID_KEY"),
        ([change("tasks", "..", b"v")], "INVALID_KEY"),
        ([change("tasks", "a\x01b", b"v")], "INVALID_KEY"),
        ([change("tasks", "k" * 257, b"v")], "INVALID_KEY"),
        ([change("tasks", "k", b"1"), change("tasks", "k", b"2")], "DUPLICATE_KEY"),
        ([change("tasks", "k", b"v", base=-1)], "INVALID_BASE_REVISION"),
        ([change("settings", "k", b"[1,2]")], "VALUE_NOT_JSON_OBJECT"),
        ([change("tasks", "k", b"not json", mergeable=True)], "VALUE_NOT_JSON_OBJECT"),
        ([change("tasks", "k", b"v", deleted=True)], "TOMBSTONE_WITH_VALUE"),
    ],
)
async def test_push_rejects_bad_input_naming_the_field(
    client: Client, changes, reason: str
) -> None:
    error = await expect(client.push(*changes), grpc.StatusCode.INVALID_ARGUMENT, reason)
    assert unpack(error, error_details_pb2.BadRequest).field_violations
    items, _ = await client.pull_all()
    assert items == []


async def test_push_request_id_must_be_a_uuid(client: Client) -> None:
    await expect(
        client.push(change("tasks", "k", b"v"), request_id="not-a-uuid"),
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_REQUEST_ID",
    )
    await expect(
        client.stub.Push(
            A.PushRequest(changes=[change("tasks", "k", b"v")]), metadata=client.metadata
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_REQUEST_ID",
    )


async def test_idempotent_replay_reuse_and_concurrent_duplicate(client: Client) -> None:
    rid = str(uuid.uuid4())
    first = await client.push(change("tasks", "idem", b"1"), request_id=rid)
    replay = await client.push(change("tasks", "idem", b"1"), request_id=rid)
    assert replay.replayed and not first.replayed
    assert [r.item.revision for r in replay.results] == [r.item.revision for r in first.results]
    assert replay.latest_revision == first.latest_revision
    config = await client.stub.GetSyncConfig(A.GetSyncConfigRequest(), metadata=client.metadata)
    assert config.latest_revision == 1
    await expect(
        client.push(change("tasks", "idem", b"2"), request_id=rid),
        grpc.StatusCode.INVALID_ARGUMENT,
        "REQUEST_ID_REUSED",
    )
    # Concurrent duplicates: exactly one writes; the others see the stored answer or ABORTED.
    rid2 = str(uuid.uuid4())
    big = [change("tasks", f"c{i}", b"x" * 1000) for i in range(100)]
    outcomes = await asyncio.gather(
        *[client.push(*big, request_id=rid2) for _ in range(6)], return_exceptions=True
    )
    errors = [o for o in outcomes if isinstance(o, grpc.aio.AioRpcError)]
    answers = [o for o in outcomes if not isinstance(o, BaseException)]
    assert all(
        (e.code(), error_reason(e)) == (grpc.StatusCode.ABORTED, "REQUEST_IN_PROGRESS")
        for e in errors
    )
    assert sum(not a.replayed for a in answers) == 1
    config = await client.stub.GetSyncConfig(A.GetSyncConfigRequest(), metadata=client.metadata)
    assert config.latest_revision == 101


async def test_limits_are_resource_exhausted_and_write_nothing(
    sync_server, sync_channel, client: Client
) -> None:
    too_big = b"x" * ((1 << 20) + 1)
    error = await expect(
        client.push(change("tasks", "big", too_big)),
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        "ITEM_TOO_LARGE",
    )
    assert unpack(error, error_details_pb2.QuotaFailure).violations
    await expect(
        client.push(*[change("tasks", f"k{i}", b"v") for i in range(101)]),
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        "BATCH_TOO_LARGE",
    )
    await expect(
        client.push(*[change("tasks", f"k{i}", b"x" * (900 << 10)) for i in range(5)]),
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        "BATCH_TOO_LARGE",
    )
    items, cursor = await client.pull_all()
    assert (items, cursor) == ([], 0)


# --------------------------------------------------------------------------- pull


async def test_pull_pages_in_revision_order_with_filters(client: Client) -> None:
    for i in range(7):
        await client.set("tasks" if i % 2 else "snippets", f"k{i}", f"v{i}".encode())
    await client.set("tasks", "k1", b"again", base=2)
    seen, token, cursor = [], "", None
    while True:
        page = await client.stub.PullChanges(
            A.PullChangesRequest(page_size=3, page_token=token), metadata=client.metadata
        )
        seen += [(i.key, i.revision) for i in page.changes]
        token = page.next_page_token
        if not token:
            cursor = page.cursor
            break
    assert [r for _, r in seen] == sorted(r for _, r in seen)
    assert seen[-1] == ("k1", 8) and ("k1", 2) not in seen and cursor == 8
    tasks, cursor2 = await client.pull_all(collections=["tasks"])
    assert {i.collection for i in tasks} == {"tasks"} and cursor2 == 8
    newer, _ = await client.pull_all(since=6)
    assert [(i.key, i.revision) for i in newer] == [("k6", 7), ("k1", 8)]


async def test_pull_rejects_bad_cursors_and_tokens(
    sync_server, sync_channel, client: Client
) -> None:
    await client.set("tasks", "a", b"1")
    await expect(
        client.stub.PullChanges(A.PullChangesRequest(since=-1), metadata=client.metadata),
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_CURSOR",
    )
    await expect(
        client.stub.PullChanges(A.PullChangesRequest(since=99), metadata=client.metadata),
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_CURSOR",
    )
    await expect(
        client.stub.PullChanges(
            A.PullChangesRequest(page_token="garbage"), metadata=client.metadata
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_PAGE_TOKEN",
    )
    await expect(
        client.stub.PullChanges(A.PullChangesRequest(page_size=-1), metadata=client.metadata),
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_PAGE_SIZE",
    )
    await expect(
        client.stub.PullChanges(A.PullChangesRequest(collections=["NO"]), metadata=client.metadata),
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_COLLECTION",
    )
    await client.set("tasks", "b", b"2")
    page = await client.stub.PullChanges(
        A.PullChangesRequest(page_size=1), metadata=client.metadata
    )
    assert page.next_page_token
    other = Client(sync_server, sync_channel)
    await expect(
        other.stub.PullChanges(
            A.PullChangesRequest(page_size=1, page_token=page.next_page_token),
            metadata=other.metadata,
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_PAGE_TOKEN",
    )
    await expect(
        client.stub.PullChanges(
            A.PullChangesRequest(page_size=1, since=1, page_token=page.next_page_token),
            metadata=client.metadata,
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_PAGE_TOKEN",
    )


# --------------------------------------------------------------------------- items and history


async def test_get_item_escaped_names_and_history_restore(client: Client) -> None:
    key = "a/b:c d"
    r = await client.set("snippets", key, b"v1")
    for i in range(2, 25):
        r = await client.set("snippets", key, f"v{i}".encode(), base=r.item.revision)
    item = await client.stub.GetItem(
        A.GetItemRequest(collection="snippets", item=key), metadata=client.metadata
    )
    assert (
        item.name == f"users/{client.user}/collections/snippets/items/a%2Fb%3Ac%20d"
        and item.value == b"v24"
    )
    revisions, token = [], ""
    while True:
        page = await client.stub.ListItemRevisions(
            A.ListItemRevisionsRequest(
                collection="snippets", item=key, page_size=7, page_token=token
            ),
            metadata=client.metadata,
        )
        revisions += list(page.revisions)
        token = page.next_page_token
        if not token:
            break
    assert len(revisions) == 20 and revisions[0].value == b"v24" and revisions[-1].value == b"v5"
    restored = await client.stub.RestoreItemRevision(
        A.RestoreItemRevisionRequest(
            collection="snippets",
            item=key,
            revision=revisions[5].revision,
            base_revision=item.revision,
            request_id=str(uuid.uuid4()),
        ),
        metadata=client.metadata,
    )
    assert restored.value == revisions[5].value and restored.revision == item.revision + 1
    error = await expect(
        client.stub.RestoreItemRevision(
            A.RestoreItemRevisionRequest(
                collection="snippets",
                item=key,
                revision=revisions[5].revision,
                base_revision=item.revision,
            ),
            metadata=client.metadata,
        ),
        grpc.StatusCode.ABORTED,
        "REVISION_CONFLICT",
    )
    assert unpack(error, resources_pb2.Item).revision == restored.revision
    info = unpack(error, error_details_pb2.ErrorInfo)
    assert info.metadata["current_revision"] == str(restored.revision)
    await expect(
        client.stub.RestoreItemRevision(
            A.RestoreItemRevisionRequest(collection="snippets", item=key, revision=1),
            metadata=client.metadata,
        ),
        grpc.StatusCode.NOT_FOUND,
        "REVISION_NOT_FOUND",
    )
    await expect(
        client.stub.ListItemRevisions(
            A.ListItemRevisionsRequest(collection="snippets", item="nope"), metadata=client.metadata
        ),
        grpc.StatusCode.NOT_FOUND,
        "ITEM_NOT_FOUND",
    )
    await expect(
        client.stub.GetItem(
            A.GetItemRequest(collection="snippets", item=""), metadata=client.metadata
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_KEY",
    )


async def test_a_stale_restore_of_a_large_item_still_says_its_revision(client: Client) -> None:
    """The server's copy of a large item does not fit the error's trailers; its revision
    does, so the client can resend with the right base without a GetItem."""
    big_value = json.dumps(["x" * 100] * 60).encode()  # ~6 KB, 8 KB as base64: over the budget
    first = await client.set("tasks", "big", big_value)
    latest = await client.set("tasks", "big", big_value + b" ", base=first.item.revision)
    error = await expect(
        client.stub.RestoreItemRevision(
            A.RestoreItemRevisionRequest(
                collection="tasks",
                item="big",
                revision=first.item.revision,
                base_revision=first.item.revision,
            ),
            metadata=client.metadata,
        ),
        grpc.StatusCode.ABORTED,
        "REVISION_CONFLICT",
    )
    info = unpack(error, error_details_pb2.ErrorInfo)
    assert info.metadata["details_omitted"] == "Item"
    assert info.metadata["current_revision"] == str(latest.item.revision)
    restored = await client.stub.RestoreItemRevision(
        A.RestoreItemRevisionRequest(
            collection="tasks",
            item="big",
            revision=first.item.revision,
            base_revision=int(info.metadata["current_revision"]),
        ),
        metadata=client.metadata,
    )
    assert restored.value == big_value


async def test_restoring_a_tombstone_revision_deletes(client: Client) -> None:
    r = await client.set("tasks", "t", b"1")
    d = await client.push(change("tasks", "t", base=r.item.revision, deleted=True))
    await client.set("tasks", "t", b"2", base=d.results[0].item.revision)
    restored = await client.stub.RestoreItemRevision(
        A.RestoreItemRevisionRequest(
            collection="tasks", item="t", revision=d.results[0].item.revision
        ),
        metadata=client.metadata,
    )
    assert restored.deleted


# --------------------------------------------------------------------------- devices


async def register(client: Client, name: str = "Laptop", **kw) -> resources_pb2.Device:
    return await client.stub.RegisterDevice(
        A.RegisterDeviceRequest(
            device=resources_pb2.Device(display_name=name, platform="linux-x64", **kw)
        ),
        metadata=client.metadata,
    )


async def test_devices_register_list_rename_disable_remove(client: Client) -> None:
    laptop = await register(client)
    desktop = await register(client, "Desktop", excluded_collections=["ui_state"])
    assert laptop.name == f"users/{client.user}/devices/{laptop.uid}" and laptop.create_time.seconds
    listed = await client.stub.ListDevices(
        A.ListDevicesRequest(page_size=1), metadata=client.metadata
    )
    assert [d.uid for d in listed.devices] == [laptop.uid] and listed.next_page_token
    rest = await client.stub.ListDevices(
        A.ListDevicesRequest(page_size=1, page_token=listed.next_page_token),
        metadata=client.metadata,
    )
    assert [d.uid for d in rest.devices] == [desktop.uid]
    renamed = await client.stub.UpdateDevice(
        A.UpdateDeviceRequest(
            device=laptop.uid,
            patch=resources_pb2.Device(display_name="Work"),
            update_mask=field_mask_pb2.FieldMask(paths=["display_name"]),
        ),
        metadata=client.metadata,
    )
    assert renamed.display_name == "Work"
    # Excluded collections: the device may not push them and does not receive them.
    await expect(
        client.push(change("ui_state", "x", b"1"), device=desktop.uid),
        grpc.StatusCode.FAILED_PRECONDITION,
        "COLLECTION_EXCLUDED",
    )
    await client.push(change("ui_state", "x", b"1"), change("tasks", "y", b"2"), device=laptop.uid)
    visible, _ = await client.pull_all(device=desktop.uid)
    assert [i.key for i in visible] == ["y"] and visible[0].device == laptop.uid
    seen, _ = await client.pull_all(device=laptop.uid)
    assert {i.key for i in seen} == {"x", "y"}
    written = await client.stub.GetItem(
        A.GetItemRequest(collection="tasks", item="y"), metadata=client.metadata
    )
    assert written.device == laptop.uid
    # Disable from the other device.
    await client.stub.UpdateDevice(
        A.UpdateDeviceRequest(device=laptop.uid, patch=resources_pb2.Device(disabled=True)),
        metadata=client.metadata,
    )
    await expect(
        client.push(change("tasks", "z", b"3"), device=laptop.uid),
        grpc.StatusCode.FAILED_PRECONDITION,
        "DEVICE_DISABLED",
    )
    await expect(
        client.pull_all(device=laptop.uid), grpc.StatusCode.FAILED_PRECONDITION, "DEVICE_DISABLED"
    )
    await client.stub.UpdateDevice(
        A.UpdateDeviceRequest(
            device=laptop.uid,
            patch=resources_pb2.Device(disabled=False),
            update_mask=field_mask_pb2.FieldMask(paths=["disabled"]),
        ),
        metadata=client.metadata,
    )
    await client.pull_all(device=laptop.uid)
    await expect(
        client.stub.UpdateDevice(
            A.UpdateDeviceRequest(
                device=laptop.uid,
                patch=resources_pb2.Device(platform="x"),
                update_mask=field_mask_pb2.FieldMask(paths=["platform"]),
            ),
            metadata=client.metadata,
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_UPDATE_MASK",
    )
    await client.stub.DeleteDevice(
        A.DeleteDeviceRequest(device=laptop.uid), metadata=client.metadata
    )
    await expect(
        client.push(change("tasks", "z", b"3"), device=laptop.uid),
        grpc.StatusCode.NOT_FOUND,
        "DEVICE_NOT_FOUND",
    )
    await expect(
        client.stub.DeleteDevice(
            A.DeleteDeviceRequest(device=laptop.uid), metadata=client.metadata
        ),
        grpc.StatusCode.NOT_FOUND,
        "DEVICE_NOT_FOUND",
    )
    await expect(register(client, ""), grpc.StatusCode.INVALID_ARGUMENT, "INVALID_DISPLAY_NAME")
    await expect(
        register(client, "x", excluded_collections=["BAD"]),
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_COLLECTION",
    )


async def test_register_device_is_idempotent(client: Client) -> None:
    request = A.RegisterDeviceRequest(
        device=resources_pb2.Device(display_name="Tablet"), request_id=str(uuid.uuid4())
    )
    a = await client.stub.RegisterDevice(request, metadata=client.metadata)
    b = await client.stub.RegisterDevice(request, metadata=client.metadata)
    assert a.uid == b.uid
    listed = await client.stub.ListDevices(A.ListDevicesRequest(), metadata=client.metadata)
    assert len(listed.devices) == 1


# --------------------------------------------------------------------------- snapshots and reset


async def test_snapshots_restore_and_reset_generation(client: Client) -> None:
    await client.set("tasks", "a", b"1")
    await client.set("tasks", "b", b"2")
    snap = await client.stub.CreateSnapshot(
        A.CreateSnapshotRequest(
            snapshot=resources_pb2.Snapshot(description="good"), request_id=str(uuid.uuid4())
        ),
        metadata=client.metadata,
    )
    assert (snap.item_count, snap.trigger, snap.generation) == (
        2,
        resources_pb2.SNAPSHOT_TRIGGER_MANUAL,
        1,
    )
    await client.set("tasks", "a", b"changed", base=1)
    await client.set("tasks", "c", b"3")
    restored = await client.stub.RestoreSnapshot(
        A.RestoreSnapshotRequest(snapshot=snap.uid), metadata=client.metadata
    )
    assert (
        restored.changed_items == 2
        and restored.backup.trigger == resources_pb2.SNAPSHOT_TRIGGER_BEFORE_RESTORE
    )
    items, _ = await client.pull_all()
    assert {(i.key, i.value, i.deleted) for i in items} == {
        ("a", b"1", False),
        ("b", b"2", False),
        ("c", b"", True),
    }

    device = await register(client)
    reset = await client.stub.Reset(
        A.ResetRequest(generation=1, device=device.uid), metadata=client.metadata
    )
    assert (
        reset.generation == 2
        and reset.snapshot.trigger == resources_pb2.SNAPSHOT_TRIGGER_BEFORE_RESET
    )
    assert reset.snapshot.item_count == 2
    error = await expect(
        client.push(change("tasks", "a", b"x"), generation=1),
        grpc.StatusCode.FAILED_PRECONDITION,
        "GENERATION_CHANGED",
    )
    violation = unpack(error, error_details_pb2.PreconditionFailure).violations[0]
    assert (violation.type, violation.subject) == ("GENERATION", "2")
    await expect(
        client.stub.Reset(A.ResetRequest(generation=1), metadata=client.metadata),
        grpc.StatusCode.FAILED_PRECONDITION,
        "GENERATION_CHANGED",
    )
    stale = await client.stub.PullChanges(A.PullChangesRequest(since=2), metadata=client.metadata)
    assert stale.reset_required and not stale.changes
    empty, cursor = await client.pull_all(since=reset.latest_revision, generation=2)
    assert empty == [] and cursor == reset.latest_revision
    await client.push(change("tasks", "new", b"1"), generation=2)
    # The snapshot from before the reset can be restored into the new generation.
    await client.stub.RestoreSnapshot(
        A.RestoreSnapshotRequest(snapshot=reset.snapshot.uid, generation=2),
        metadata=client.metadata,
    )
    items, _ = await client.pull_all(since=reset.latest_revision)
    assert {(i.key, i.deleted) for i in items} == {("a", False), ("b", False), ("new", True)}
    listed = await client.stub.ListSnapshots(A.ListSnapshotsRequest(), metadata=client.metadata)
    assert len(listed.snapshots) == 4
    await expect(
        client.stub.RestoreSnapshot(
            A.RestoreSnapshotRequest(snapshot="nope"), metadata=client.metadata
        ),
        grpc.StatusCode.NOT_FOUND,
        "SNAPSHOT_NOT_FOUND",
    )
    await expect(
        client.stub.CreateSnapshot(
            A.CreateSnapshotRequest(snapshot=resources_pb2.Snapshot(description="x" * 257)),
            metadata=client.metadata,
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_DESCRIPTION",
    )


async def test_expired_snapshots_are_never_listed_on_any_page(
    client: Client, database_url: str
) -> None:
    made = []
    for n in range(4):
        response = await client.stub.CreateSnapshot(
            A.CreateSnapshotRequest(snapshot=resources_pb2.Snapshot(description=f"s{n}")),
            metadata=client.metadata,
        )
        made.append(response.uid)
    expired = {made[1], made[3]}  # the newest and one further back
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        await conn.execute(
            "UPDATE sync.snapshots SET expire_time = now() - interval '1 second'"
            " WHERE user_id = %s AND uid = ANY(%s)",
            (client.user, list(expired)),
        )
    listed, token = [], ""
    while True:
        page = await client.stub.ListSnapshots(
            A.ListSnapshotsRequest(page_size=1, page_token=token), metadata=client.metadata
        )
        listed += [s.uid for s in page.snapshots]
        token = page.next_page_token
        if not token:
            break
    assert listed == [made[2], made[0]]


# --------------------------------------------------------------------------- watch


async def test_watch_replays_then_delivers_live_and_heartbeats(client: Client) -> None:
    await client.set("tasks", "before", b"1")
    call = client.stub.Watch(
        A.WatchRequest(since=0, heartbeat_interval=duration_pb2.Duration(seconds=5)),
        metadata=client.metadata,
    )
    first = await call.read()
    assert first.type == resources_pb2.WATCH_EVENT_TYPE_CHANGES and [
        i.key for i in first.changes
    ] == ["before"]
    caught_up = await call.read()
    assert caught_up.type == resources_pb2.WATCH_EVENT_TYPE_CAUGHT_UP and caught_up.cursor == 1
    await client.set("tasks", "live", b"2")
    live = await asyncio.wait_for(call.read(), 5)
    assert live.type == resources_pb2.WATCH_EVENT_TYPE_CHANGES and [
        i.key for i in live.changes
    ] == ["live"]
    assert live.cursor == 2
    beat = await asyncio.wait_for(call.read(), 8)
    assert beat.type == resources_pb2.WATCH_EVENT_TYPE_HEARTBEAT and beat.cursor == 2
    call.cancel()


async def test_watch_ends_on_reset_disable_and_rejects_bad_requests(client: Client) -> None:
    device = await register(client)
    call = client.stub.Watch(
        A.WatchRequest(device=device.uid, generation=1), metadata=client.metadata
    )
    assert (await call.read()).type == resources_pb2.WATCH_EVENT_TYPE_CAUGHT_UP
    await client.stub.UpdateDevice(
        A.UpdateDeviceRequest(device=device.uid, patch=resources_pb2.Device(disabled=True)),
        metadata=client.metadata,
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await asyncio.wait_for(call.read(), 5)
    assert error_reason(caught.value) == "DEVICE_DISABLED"

    call = client.stub.Watch(A.WatchRequest(generation=1), metadata=client.metadata)
    assert (await call.read()).type == resources_pb2.WATCH_EVENT_TYPE_CAUGHT_UP
    await client.stub.Reset(A.ResetRequest(), metadata=client.metadata)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await asyncio.wait_for(call.read(), 5)
    assert error_reason(caught.value) == "GENERATION_CHANGED"

    for request, reason in [
        (A.WatchRequest(since=-1), "INVALID_CURSOR"),
        (A.WatchRequest(collections=["BAD"]), "INVALID_COLLECTION"),
        (
            A.WatchRequest(heartbeat_interval=duration_pb2.Duration(seconds=1)),
            "INVALID_HEARTBEAT_INTERVAL",
        ),
    ]:
        call = client.stub.Watch(request, metadata=client.metadata)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await call.read()
        assert error_reason(caught.value) == reason


async def test_watch_from_a_pre_reset_cursor_gets_reset_required(client: Client) -> None:
    await client.set("tasks", "a", b"1")
    await client.stub.Reset(A.ResetRequest(), metadata=client.metadata)
    call = client.stub.Watch(A.WatchRequest(since=1), metadata=client.metadata)
    event = await call.read()
    assert event.type == resources_pb2.WATCH_EVENT_TYPE_RESET_REQUIRED
    assert await call.read() == grpc.aio.EOF
    assert await call.code() == grpc.StatusCode.OK


async def test_watch_stream_limit(sync_server, sync_channel, client: Client) -> None:
    limit = sync_server.service.limits.max_watch_streams
    calls = [client.stub.Watch(A.WatchRequest(), metadata=client.metadata) for _ in range(limit)]
    for call in calls:
        assert (await call.read()).type == resources_pb2.WATCH_EVENT_TYPE_CAUGHT_UP
    extra = client.stub.Watch(A.WatchRequest(), metadata=client.metadata)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await extra.read()
    assert error_reason(caught.value) == "TOO_MANY_STREAMS"
    for call in calls:
        call.cancel()


async def test_watch_ends_when_the_token_expires(sync_server, sync_channel) -> None:
    client = Client(sync_server, sync_channel)
    token = sync_server.signer.mint(
        client.user, scopes=["sync.read"], ttl=-55
    )  # within leeway: valid
    call = client.stub.Watch(A.WatchRequest(), metadata=(("authorization", f"Bearer {token}"),))
    assert (await call.read()).type == resources_pb2.WATCH_EVENT_TYPE_CAUGHT_UP
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await asyncio.wait_for(call.read(), 5)
    assert (caught.value.code(), error_reason(caught.value)) == (
        grpc.StatusCode.UNAUTHENTICATED,
        "TOKEN_EXPIRED",
    )


# --------------------------------------------------------------------------- internal


async def test_delete_user_data_erases_everything_and_needs_the_service_credential(
    client: Client,
) -> None:
    await client.set("tasks", "a", b"1")
    await client.set("tasks", "a", b"2", base=1)
    await register(client)
    await client.stub.CreateSnapshot(A.CreateSnapshotRequest(), metadata=client.metadata)
    call = client.stub.Watch(A.WatchRequest(), metadata=client.metadata)
    await call.read()  # changes
    await call.read()  # caught up
    await expect(
        client.internal.DeleteUserData(
            sync_internal_service_pb2.DeleteUserDataRequest(user=client.user),
            metadata=client.metadata,
        ),
        grpc.StatusCode.UNAUTHENTICATED,
        "SERVICE_CREDENTIAL_REQUIRED",
    )
    service_md = (("x-symphony-service-token", SERVICE_TOKEN),)
    result = await client.internal.DeleteUserData(
        sync_internal_service_pb2.DeleteUserDataRequest(user=client.user), metadata=service_md
    )
    assert (result.deleted_items, result.deleted_devices, result.deleted_snapshots) == (2, 1, 1)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await asyncio.wait_for(call.read(), 5)
    assert error_reason(caught.value) == "USER_DELETED"
    again = await client.internal.DeleteUserData(
        sync_internal_service_pb2.DeleteUserDataRequest(user=client.user), metadata=service_md
    )
    assert (again.deleted_items, again.deleted_devices, again.deleted_snapshots) == (0, 0, 0)
    await expect(
        client.internal.DeleteUserData(
            sync_internal_service_pb2.DeleteUserDataRequest(user=""), metadata=service_md
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_USER",
    )
    config = await client.stub.GetSyncConfig(A.GetSyncConfigRequest(), metadata=client.metadata)
    assert (config.latest_revision, config.item_count) == (0, 0)
