"""gRPC adapters: proto in, domain call, proto out. No SQL, no sessions, no `context.abort`."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import grpc
import jwt
from google.protobuf import empty_pb2

from symphony.sync.v1 import (
    resources_pb2,
    sync_internal_service_pb2,
    sync_internal_service_pb2_grpc,
    sync_service_pb2,
    sync_service_pb2_grpc,
)
from symphony_common.context import current_principal
from symphony_common.tokens import PAT_PREFIX
from symphony_sync.api import converters as conv
from symphony_sync.domain.errors import RevisionConflict
from symphony_sync.domain.models import ClientContext
from symphony_sync.domain.service import SyncService


def _user() -> str:
    return current_principal().user_id


def _token_expiry(context: grpc.aio.ServicerContext) -> float | None:
    """When the caller's access token expires (already verified by the interceptor), so a
    watch stream can end with TOKEN_EXPIRED instead of outliving it."""
    for key, value in context.invocation_metadata() or ():
        if key == "authorization" and isinstance(value, str):
            token = value.partition(" ")[2].strip()
            if not token or token.startswith(PAT_PREFIX):
                return None
            try:
                exp = jwt.decode(token, options={"verify_signature": False}).get("exp")
            except jwt.PyJWTError:
                return None
            return float(exp) if isinstance(exp, int | float) else None
    return None


class SyncServicer(sync_service_pb2_grpc.SyncServiceServicer):
    def __init__(self, service: SyncService) -> None:
        self.service = service

    async def GetSyncConfig(
        self, request: sync_service_pb2.GetSyncConfigRequest, context: grpc.aio.ServicerContext
    ) -> resources_pb2.SyncConfig:
        return conv.config_to_proto(await self.service.get_config(current_principal()))

    async def Push(
        self, request: sync_service_pb2.PushRequest, context: grpc.aio.ServicerContext
    ) -> sync_service_pb2.PushResponse:
        try:
            result = await self.service.push(
                current_principal(),
                ClientContext(request.device, request.generation),
                request.request_id,
                [conv.change_from_proto(c) for c in request.changes],
                atomic=request.atomic,
                fingerprint=conv.fingerprint(request),
            )
        except RevisionConflict as conflict:
            detail = conv.push_conflicts_to_proto(_user(), conflict.conflicts)
            raise dataclasses.replace(conflict, extra_details=[detail]) from None  # type: ignore[call-arg]
        return conv.push_to_proto(_user(), result)

    async def PullChanges(
        self, request: sync_service_pb2.PullChangesRequest, context: grpc.aio.ServicerContext
    ) -> sync_service_pb2.PullChangesResponse:
        page, token = await self.service.pull(
            current_principal(),
            ClientContext(request.device, request.generation),
            since=request.since,
            collections=list(request.collections),
            page_size_requested=request.page_size,
            page_token=request.page_token,
        )
        user = _user()
        return sync_service_pb2.PullChangesResponse(
            changes=[conv.item_to_proto(user, i) for i in page.changes],
            next_page_token=token,
            cursor=page.cursor,
            reset_required=page.reset_required,
            generation=page.generation,
        )

    async def Watch(
        self, request: sync_service_pb2.WatchRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[sync_service_pb2.WatchResponse]:
        heartbeat = (
            request.heartbeat_interval.ToTimedelta().total_seconds()
            if request.HasField("heartbeat_interval")
            else 0.0
        )
        user = _user()
        async for event in self.service.watch(
            current_principal(),
            ClientContext(request.device, request.generation),
            since=request.since,
            collections=list(request.collections),
            heartbeat_seconds=heartbeat,
            expires_at=_token_expiry(context),
        ):
            yield conv.watch_event_to_proto(user, event)

    async def GetItem(
        self, request: sync_service_pb2.GetItemRequest, context: grpc.aio.ServicerContext
    ) -> resources_pb2.Item:
        item = await self.service.get_item(current_principal(), request.collection, request.item)
        return conv.item_to_proto(_user(), item)

    async def ListItemRevisions(
        self, request: sync_service_pb2.ListItemRevisionsRequest, context: grpc.aio.ServicerContext
    ) -> sync_service_pb2.ListItemRevisionsResponse:
        rows, token = await self.service.list_item_revisions(
            current_principal(),
            request.collection,
            request.item,
            request.page_size,
            request.page_token,
        )
        user = _user()
        return sync_service_pb2.ListItemRevisionsResponse(
            revisions=[conv.item_to_proto(user, i) for i in rows], next_page_token=token
        )

    async def RestoreItemRevision(
        self,
        request: sync_service_pb2.RestoreItemRevisionRequest,
        context: grpc.aio.ServicerContext,
    ) -> resources_pb2.Item:
        try:
            item = await self.service.restore_item_revision(
                current_principal(),
                ClientContext(request.device, request.generation),
                request.collection,
                request.item,
                request.revision,
                request.base_revision if request.HasField("base_revision") else None,
                request.request_id,
                conv.fingerprint(request),
            )
        except RevisionConflict as conflict:
            details = (
                [conv.item_to_proto(_user(), conflict.server_item)] if conflict.server_item else []
            )
            raise dataclasses.replace(conflict, extra_details=details) from None  # type: ignore[call-arg]
        return conv.item_to_proto(_user(), item)

    async def ListDevices(
        self, request: sync_service_pb2.ListDevicesRequest, context: grpc.aio.ServicerContext
    ) -> sync_service_pb2.ListDevicesResponse:
        rows, token = await self.service.list_devices(
            current_principal(), request.page_size, request.page_token
        )
        user = _user()
        return sync_service_pb2.ListDevicesResponse(
            devices=[conv.device_to_proto(user, d) for d in rows], next_page_token=token
        )

    async def RegisterDevice(
        self, request: sync_service_pb2.RegisterDeviceRequest, context: grpc.aio.ServicerContext
    ) -> resources_pb2.Device:
        device = await self.service.register_device(
            current_principal(),
            conv.device_from_proto(request.device),
            request.request_id,
            conv.fingerprint(request),
        )
        return conv.device_to_proto(_user(), device)

    async def UpdateDevice(
        self, request: sync_service_pb2.UpdateDeviceRequest, context: grpc.aio.ServicerContext
    ) -> resources_pb2.Device:
        if request.HasField("update_mask") and request.update_mask.paths:
            fields = list(request.update_mask.paths)
        else:
            patch = request.patch
            fields = [
                f.name
                for f, _ in patch.ListFields()
                if f.name in ("display_name", "excluded_collections", "disabled")
            ]
        device = await self.service.update_device(
            current_principal(), request.device, conv.device_from_proto(request.patch), fields
        )
        return conv.device_to_proto(_user(), device)

    async def DeleteDevice(
        self, request: sync_service_pb2.DeleteDeviceRequest, context: grpc.aio.ServicerContext
    ) -> empty_pb2.Empty:
        await self.service.delete_device(current_principal(), request.device)
        return empty_pb2.Empty()

    async def CreateSnapshot(
        self, request: sync_service_pb2.CreateSnapshotRequest, context: grpc.aio.ServicerContext
    ) -> resources_pb2.Snapshot:
        snapshot = await self.service.create_snapshot(
            current_principal(),
            ClientContext(request.device, 0),
            request.snapshot.description,
            request.request_id,
            conv.fingerprint(request),
        )
        return conv.snapshot_to_proto(_user(), snapshot)

    async def ListSnapshots(
        self, request: sync_service_pb2.ListSnapshotsRequest, context: grpc.aio.ServicerContext
    ) -> sync_service_pb2.ListSnapshotsResponse:
        rows, token = await self.service.list_snapshots(
            current_principal(), request.page_size, request.page_token
        )
        user = _user()
        return sync_service_pb2.ListSnapshotsResponse(
            snapshots=[conv.snapshot_to_proto(user, s) for s in rows], next_page_token=token
        )

    async def RestoreSnapshot(
        self, request: sync_service_pb2.RestoreSnapshotRequest, context: grpc.aio.ServicerContext
    ) -> sync_service_pb2.RestoreSnapshotResponse:
        result = await self.service.restore_snapshot(
            current_principal(),
            ClientContext(request.device, request.generation),
            request.snapshot,
            request.request_id,
            conv.fingerprint(request),
        )
        return sync_service_pb2.RestoreSnapshotResponse(
            backup=conv.snapshot_to_proto(_user(), result.backup),
            changed_items=result.changed_items,
            latest_revision=result.latest_revision,
        )

    async def Reset(
        self, request: sync_service_pb2.ResetRequest, context: grpc.aio.ServicerContext
    ) -> sync_service_pb2.ResetResponse:
        result = await self.service.reset(
            current_principal(),
            ClientContext(request.device, request.generation),
            request.request_id,
            conv.fingerprint(request),
        )
        return sync_service_pb2.ResetResponse(
            generation=result.generation,
            snapshot=conv.snapshot_to_proto(_user(), result.snapshot),
            latest_revision=result.latest_revision,
        )


class SyncInternalServicer(sync_internal_service_pb2_grpc.SyncInternalServiceServicer):
    def __init__(self, service: SyncService) -> None:
        self.service = service

    async def DeleteUserData(
        self,
        request: sync_internal_service_pb2.DeleteUserDataRequest,
        context: grpc.aio.ServicerContext,
    ) -> sync_internal_service_pb2.DeleteUserDataResponse:
        result = await self.service.delete_user_data(current_principal(), request.user)
        return conv.delete_result_to_proto(result)
