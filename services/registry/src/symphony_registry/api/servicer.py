"""gRPC adapters: proto in, domain call, proto out. No SQL, no sessions, no `context.abort`."""

from __future__ import annotations

from symphony.registry.v1 import registry_internal_service_pb2_grpc, registry_service_pb2_grpc
from symphony_registry.domain.service import RegistryService


class RegistryServicer(registry_service_pb2_grpc.RegistryServiceServicer):
    """RPCs not overridden here answer UNIMPLEMENTED (reason NOT_IMPLEMENTED) until their issue lands."""

    def __init__(self, service: RegistryService) -> None:
        self.service = service


class RegistryInternalServicer(registry_internal_service_pb2_grpc.RegistryInternalServiceServicer):
    def __init__(self, service: RegistryService) -> None:
        self.service = service
