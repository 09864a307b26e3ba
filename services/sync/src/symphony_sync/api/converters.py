"""Proto ⇄ domain conversions for sync."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from urllib.parse import quote

from google.protobuf import duration_pb2, timestamp_pb2
from google.protobuf.message import Message

from symphony.sync.v1 import resources_pb2, sync_internal_service_pb2, sync_service_pb2
from symphony_common.grpc import status
from symphony_sync.domain import models


def fingerprint(request: Message) -> bytes:
    """What identifies a request's content for idempotency: everything but its request id."""
    copy = type(request)()
    copy.CopyFrom(request)
    if "request_id" in copy.DESCRIPTOR.fields_by_name:
        copy.ClearField("request_id")  # type: ignore[arg-type]
    return hashlib.sha256(copy.SerializeToString(deterministic=True)).digest()


def _ts(value: datetime | None) -> timestamp_pb2.Timestamp | None:
    if value is None:
        return None
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(value)
    return ts


def _dur(value: timedelta) -> duration_pb2.Duration:
    d = duration_pb2.Duration()
    d.FromTimedelta(value)
    return d


def item_name(user: str, collection: str, key: str) -> str:
    return f"users/{user}/collections/{collection}/items/{quote(key, safe='')}"


def item_to_proto(user: str, item: models.Item) -> resources_pb2.Item:
    out = resources_pb2.Item(
        name=item_name(user, item.collection, item.key),
        collection=item.collection,
        key=item.key,
        value=item.value,
        content_type=item.content_type,
        encrypted=item.encrypted,
        mergeable=item.mergeable,
        revision=item.revision,
        device=item.device,
        deleted=item.deleted,
    )
    if (ts := _ts(item.update_time)) is not None:
        out.update_time.CopyFrom(ts)
    return out


def change_from_proto(change: sync_service_pb2.Change) -> models.Change:
    return models.Change(
        collection=change.collection,
        key=change.key,
        base_revision=change.base_revision,
        value=change.value,
        content_type=change.content_type,
        encrypted=change.encrypted,
        mergeable=change.mergeable,
        deleted=change.deleted,
    )


def change_result_to_proto(user: str, result: models.ChangeResult) -> sync_service_pb2.ChangeResult:
    out = sync_service_pb2.ChangeResult(index=result.index, outcome=int(result.outcome))  # type: ignore[arg-type]
    if result.item is not None:
        out.item.CopyFrom(item_to_proto(user, result.item))
    if (mc := result.merge_conflict) is not None:
        out.merge_conflict.CopyFrom(
            sync_service_pb2.MergeConflict(
                base_revision=mc.base_revision,
                server_revision=mc.server_revision,
                base_available=mc.base_available,
                merged_value=mc.merged_value,
                keys=[
                    sync_service_pb2.KeyConflict(
                        key=k.key,
                        base_value=k.base_value,
                        server_value=k.server_value,
                        client_value=k.client_value,
                    )
                    for k in mc.keys
                ],
            )
        )
    return out


def push_conflicts_to_proto(
    user: str, conflicts: list[models.ChangeResult]
) -> sync_service_pb2.PushConflicts:
    """The detail of an atomic push's conflict. An error's trailers hold about 8 KiB, so the
    largest server copies give up their values until the rest fits; a client that does not
    know the current revision could otherwise never push again."""
    detail = sync_service_pb2.PushConflicts(
        conflicts=[change_result_to_proto(user, r) for r in conflicts]
    )
    for result in sorted(detail.conflicts, key=lambda r: r.ByteSize(), reverse=True):
        if status.fits_in_trailers(detail):
            break
        result.item.ClearField("value")
        result.ClearField("merge_conflict")
        result.value_omitted = True
    return detail


def push_to_proto(user: str, result: models.PushResult) -> sync_service_pb2.PushResponse:
    return sync_service_pb2.PushResponse(
        results=[change_result_to_proto(user, r) for r in result.results],
        latest_revision=result.latest_revision,
        replayed=result.replayed,
    )


def limits_to_proto(limits: models.Limits) -> resources_pb2.SyncLimits:
    return resources_pb2.SyncLimits(
        max_key_bytes=limits.max_key_bytes,
        max_item_bytes=limits.max_item_bytes,
        max_batch_changes=limits.max_batch_changes,
        max_batch_bytes=limits.max_batch_bytes,
        quota_bytes=limits.quota_bytes,
        history_depth=limits.history_depth,
        history_retention=_dur(limits.history_retention),
        tombstone_retention=_dur(limits.tombstone_retention),
        idempotency_retention=_dur(limits.idempotency_retention),
        snapshot_retention=_dur(limits.snapshot_retention),
        max_snapshots=limits.max_snapshots,
        max_watch_streams=limits.max_watch_streams,
        heartbeat_interval=_dur(limits.heartbeat_interval),
        poll_interval=_dur(limits.poll_interval),
        max_page_size=limits.max_page_size,
    )


def config_to_proto(config: models.SyncConfig) -> resources_pb2.SyncConfig:
    return resources_pb2.SyncConfig(
        name=f"users/{config.user_id}/syncConfig",
        limits=limits_to_proto(config.limits),
        builtin_collections=list(models.BUILTIN_COLLECTIONS),
        collection_pattern=models.COLLECTION_PATTERN,
        merge_collections=list(models.MERGE_COLLECTIONS),
        generation=config.generation,
        latest_revision=config.latest_revision,
        usage_bytes=config.usage_bytes,
        item_count=config.item_count,
    )


def device_to_proto(user: str, device: models.Device) -> resources_pb2.Device:
    out = resources_pb2.Device(
        name=f"users/{user}/devices/{device.uid}",
        uid=device.uid,
        display_name=device.display_name,
        platform=device.platform,
        excluded_collections=device.excluded_collections,
        disabled=device.disabled,
    )
    for field, value in (
        ("create_time", device.create_time),
        ("update_time", device.update_time),
        ("last_seen_time", device.last_seen_time),
    ):
        if (ts := _ts(value)) is not None:
            getattr(out, field).CopyFrom(ts)
    return out


def device_from_proto(device: resources_pb2.Device) -> models.Device:
    return models.Device(
        uid=device.uid,
        display_name=device.display_name,
        platform=device.platform,
        excluded_collections=list(device.excluded_collections),
        disabled=device.disabled,
    )


def snapshot_to_proto(user: str, snapshot: models.Snapshot) -> resources_pb2.Snapshot:
    out = resources_pb2.Snapshot(
        name=f"users/{user}/snapshots/{snapshot.uid}",
        uid=snapshot.uid,
        description=snapshot.description,
        trigger=int(snapshot.trigger),  # type: ignore[arg-type]
        generation=snapshot.generation,
        revision=snapshot.revision,
        item_count=snapshot.item_count,
        size_bytes=snapshot.size_bytes,
        device=snapshot.device,
    )
    if (ts := _ts(snapshot.create_time)) is not None:
        out.create_time.CopyFrom(ts)
    if (ts := _ts(snapshot.expire_time)) is not None:
        out.expire_time.CopyFrom(ts)
    return out


def watch_event_to_proto(user: str, event: models.WatchEvent) -> sync_service_pb2.WatchResponse:
    return sync_service_pb2.WatchResponse(
        type=int(event.type),  # type: ignore[arg-type]
        cursor=event.cursor,
        changes=[item_to_proto(user, i) for i in event.changes],
    )


def delete_result_to_proto(
    result: models.DeleteUserDataResult,
) -> sync_internal_service_pb2.DeleteUserDataResponse:
    return sync_internal_service_pb2.DeleteUserDataResponse(
        deleted_items=result.deleted_items,
        deleted_devices=result.deleted_devices,
        deleted_snapshots=result.deleted_snapshots,
    )
