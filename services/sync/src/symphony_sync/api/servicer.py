"""gRPC adapters: proto in, domain call, proto out. No SQL, no sessions, no `context.abort`."""

from __future__ import annotations

from symphony.sync.v1 import sync_internal_service_pb2_grpc, sync_service_pb2_grpc
from symphony_sync.domain.service import SyncService


class SyncServicer(sync_service_pb2_grpc.SyncServiceServicer):
    """RPCs not overridden here answer UNIMPLEMENTED (reason NOT_IMPLEMENTED) until their issue lands."""

    def __init__(self, service: SyncService) -> None:
        self.service = service


class SyncInternalServicer(sync_internal_service_pb2_grpc.SyncInternalServiceServicer):
    def __init__(self, service: SyncService) -> None:
        self.service = service
