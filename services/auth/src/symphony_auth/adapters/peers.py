"""DeleteUserData at sync and registry, with the service credential."""

from __future__ import annotations

import grpc

from symphony.registry.v1 import registry_internal_service_pb2, registry_internal_service_pb2_grpc
from symphony.sync.v1 import sync_internal_service_pb2, sync_internal_service_pb2_grpc
from symphony_common.grpc.client import open_channel


class GrpcPeerNotifier:
    def __init__(
        self, sync_address: str, registry_address: str, service_token: str, service_name: str
    ) -> None:
        self._channels: dict[str, grpc.aio.Channel] = {}
        self._addresses = {"sync": sync_address, "registry": registry_address}
        self._token = service_token
        self._name = service_name

    def _channel(self, peer: str) -> grpc.aio.Channel:
        if peer not in self._channels:
            self._channels[peer] = open_channel(
                self._addresses[peer], service_token=self._token, service_name=self._name
            )
        return self._channels[peer]

    async def delete_user_data(self, peer: str, user_id: str, request_id: str) -> None:
        if peer == "sync":
            await sync_internal_service_pb2_grpc.SyncInternalServiceStub(
                self._channel(peer)
            ).DeleteUserData(
                sync_internal_service_pb2.DeleteUserDataRequest(user=user_id), timeout=10
            )
        elif peer == "registry":
            await registry_internal_service_pb2_grpc.RegistryInternalServiceStub(
                self._channel(peer)
            ).DeleteUserData(
                registry_internal_service_pb2.DeleteUserDataRequest(
                    user=f"users/{user_id}", request_id=request_id
                ),
                timeout=10,
            )
        else:
            raise ValueError(f"unknown peer {peer}")

    async def close(self) -> None:
        for channel in self._channels.values():
            await channel.close(None)
