"""The registry, as analytics sees it: a typed gRPC client behind the `RegistryDirectory` port."""

from __future__ import annotations

import grpc

from symphony.registry.v1 import (
    registry_internal_service_pb2,
    registry_internal_service_pb2_grpc,
    registry_service_pb2,
    registry_service_pb2_grpc,
    resources_pb2,
)
from symphony_common.errors import Unavailable

DEADLINE_SECONDS = 3.0


def registry_unavailable() -> Unavailable:
    return Unavailable(
        "REGISTRY_UNAVAILABLE",
        "the registry cannot confirm the extension or the caller's membership; retry shortly",
        retry_after_seconds=1.0,
    )


class GrpcRegistryDirectory:
    def __init__(self, channel: grpc.aio.Channel) -> None:
        self._public = registry_service_pb2_grpc.RegistryServiceStub(channel)
        self._internal = registry_internal_service_pb2_grpc.RegistryInternalServiceStub(channel)

    async def extension_exists(self, namespace: str, extension: str, version: str) -> bool:
        name = f"namespaces/{namespace}/extensions/{extension}"
        try:
            if version:
                await self._public.GetVersion(
                    registry_service_pb2.GetVersionRequest(name=f"{name}/versions/{version}"),
                    timeout=DEADLINE_SECONDS,
                )
            else:
                await self._public.GetExtension(
                    registry_service_pb2.GetExtensionRequest(name=name), timeout=DEADLINE_SECONDS
                )
        except grpc.aio.AioRpcError as error:
            code = error.code()
            if code in (
                grpc.StatusCode.NOT_FOUND,
                grpc.StatusCode.PERMISSION_DENIED,
                grpc.StatusCode.INVALID_ARGUMENT,
            ):
                return False
            if code == grpc.StatusCode.FAILED_PRECONDITION:
                return (
                    True  # e.g. TARGET_PLATFORM_REQUIRED: the version exists for several platforms
                )
            raise registry_unavailable() from None
        return True

    async def is_member(self, namespace: str, user_id: str) -> bool:
        try:
            answer = await self._internal.GetNamespaceAccess(
                registry_internal_service_pb2.GetNamespaceAccessRequest(
                    namespace=f"namespaces/{namespace}", user=f"users/{user_id}"
                ),
                timeout=DEADLINE_SECONDS,
            )
        except grpc.aio.AioRpcError as error:
            if error.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT):
                return False
            raise registry_unavailable() from None
        return answer.role != resources_pb2.NAMESPACE_ROLE_UNSPECIFIED
