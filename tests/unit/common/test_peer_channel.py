"""A peer channel presents its service's own credential and, for peers of earlier releases,
the bare secret: a real grpc.aio server's Authenticator names the caller from what arrives."""

from __future__ import annotations

import grpc
import pytest

from symphony_common.context import Principal
from symphony_common.grpc.client import open_channel
from symphony_common.tokens import Authenticator

METHOD = "/symphony.analytics.v1.AnalyticsInternalService/RecordDownloads"


async def serve_recording(seen: list[dict[str, str]]) -> tuple[grpc.aio.Server, int]:
    async def handle(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
        seen.append({k: v for k, v in context.invocation_metadata() or () if isinstance(v, str)})
        return b""

    handler = grpc.method_handlers_generic_handler(
        "symphony.analytics.v1.AnalyticsInternalService",
        {"RecordDownloads": grpc.unary_unary_rpc_method_handler(handle)},
    )
    server = grpc.aio.server()
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    return server, port


@pytest.mark.parametrize(
    ("name", "principal"),
    [("registry", Principal(kind="service", service="registry")), ("", Principal(kind="service"))],
)
async def test_a_peer_channel_names_its_service(name: str, principal: Principal) -> None:
    seen: list[dict[str, str]] = []
    server, port = await serve_recording(seen)
    try:
        channel = open_channel(f"127.0.0.1:{port}", service_token="secret", service_name=name)
        await channel.unary_unary(METHOD)(b"")
        await channel.close()
    finally:
        await server.stop(None)
    assert await Authenticator(service_token="secret")(seen[0], METHOD) == principal
