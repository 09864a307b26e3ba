"""gRPC adapters: proto in, domain call, proto out. No SQL, no sessions, no `context.abort`."""

from __future__ import annotations

from symphony.auth.v1 import auth_internal_service_pb2_grpc, auth_service_pb2_grpc
from symphony_auth.domain.service import AuthService


class AuthServicer(auth_service_pb2_grpc.AuthServiceServicer):
    """RPCs not overridden here answer UNIMPLEMENTED (reason NOT_IMPLEMENTED) until their issue lands."""

    def __init__(self, service: AuthService) -> None:
        self.service = service


class AuthInternalServicer(auth_internal_service_pb2_grpc.AuthInternalServiceServicer):
    def __init__(self, service: AuthService) -> None:
        self.service = service
