"""The gRPC backends: one `grpc.aio` channel each, created lazily on the serving loop.

Package `symphony.<svc>.v1` is served by backend `<svc>`, found at `SYMPHONY_<SVC>_ADDRESS`
(defaults: auth 127.0.0.1:50051, registry :50052, sync :50053, analytics :50054). The echo
service (`symphony.testing.v1`) is routed only when `SYMPHONY_TESTING_ADDRESS` is set.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

DEFAULT_ADDRESSES: dict[str, str] = {
    "auth": "127.0.0.1:50051",
    "registry": "127.0.0.1:50052",
    "sync": "127.0.0.1:50053",
    "analytics": "127.0.0.1:50054",
}
OPTIONAL_BACKENDS = ("testing",)

CHANNEL_OPTIONS: tuple[tuple[str, Any], ...] = (
    ("grpc.max_receive_message_length", 64 * 1024 * 1024),
    ("grpc.max_send_message_length", 64 * 1024 * 1024),
    # A restarted backend is found again within about a second instead of gRPC's default
    # backoff of up to two minutes, during which every call would fail fast.
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 1000),
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.enable_retries", 0),
)


def backend_of_package(package: str) -> str | None:
    """`symphony.<svc>.v1` → `<svc>`."""
    parts = package.split(".")
    if len(parts) >= 3 and parts[0] == "symphony":
        return parts[1]
    return None


def addresses_from_env(
    environ: Mapping[str, str] | None = None, extra: Iterable[str] = ()
) -> dict[str, str]:
    """Backend addresses: the defaults, overridden by `SYMPHONY_<SVC>_ADDRESS`; optional and
    extra backends only when their variable is set."""
    env = os.environ if environ is None else environ
    found: dict[str, str] = {}
    for name, default in DEFAULT_ADDRESSES.items():
        found[name] = env.get(f"SYMPHONY_{name.upper()}_ADDRESS") or default
    for name in (*OPTIONAL_BACKENDS, *extra):
        value = env.get(f"SYMPHONY_{name.upper()}_ADDRESS")
        if value and name not in found:
            found[name] = value
    return found


class Backends:
    """Channels to the configured backends and generic multi-callables on them."""

    def __init__(
        self, addresses: Mapping[str, str], *, options: Iterable[tuple[str, Any]] = CHANNEL_OPTIONS
    ) -> None:
        self.addresses = dict(addresses)
        self._options = tuple(options)
        self._channels: dict[str, grpc.aio.Channel] = {}

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Backends:
        return cls(addresses_from_env(environ))

    def __contains__(self, name: object) -> bool:
        return name in self.addresses

    def channel(self, name: str) -> grpc.aio.Channel:
        channel = self._channels.get(name)
        if channel is None:
            channel = grpc.aio.insecure_channel(self.addresses[name], options=self._options)
            self._channels[name] = channel
        return channel

    def unary_unary(
        self,
        name: str,
        path: str,
        serializer: Callable[[Any], bytes],
        deserializer: Callable[[bytes], Any],
    ) -> grpc.aio.UnaryUnaryMultiCallable:
        return self.channel(name).unary_unary(
            path, request_serializer=serializer, response_deserializer=deserializer
        )

    def unary_stream(
        self,
        name: str,
        path: str,
        serializer: Callable[[Any], bytes],
        deserializer: Callable[[bytes], Any],
    ) -> grpc.aio.UnaryStreamMultiCallable:
        return self.channel(name).unary_stream(
            path, request_serializer=serializer, response_deserializer=deserializer
        )

    async def check(self, name: str, deadline: float) -> str:
        """The backend's grpc.health.v1 status for the whole server ("" service)."""
        stub = health_pb2_grpc.HealthStub(self.channel(name))
        try:
            reply = await stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=deadline)
        except grpc.aio.AioRpcError as exc:
            code = exc.code()
            return "UNREACHABLE" if code is grpc.StatusCode.UNAVAILABLE else code.name
        except TimeoutError:
            return "DEADLINE_EXCEEDED"
        return health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)

    async def check_all(self, deadline: float) -> dict[str, str]:
        names = list(self.addresses)
        statuses = await asyncio.gather(*(self.check(name, deadline) for name in names))
        return dict(zip(names, statuses, strict=True))

    async def close(self) -> None:
        channels, self._channels = list(self._channels.values()), {}
        await asyncio.gather(*(channel.close(None) for channel in channels), return_exceptions=True)
