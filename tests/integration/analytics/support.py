"""Shared helpers for the analytics tests: event builders, a stub registry gRPC server, and a
running analytics service (the real server through `start_service`)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import psycopg
from google.protobuf import struct_pb2, timestamp_pb2

from symphony.analytics.v1 import resources_pb2 as rpb
from symphony.registry.v1 import (
    registry_internal_service_pb2,
    registry_internal_service_pb2_grpc,
    registry_service_pb2_grpc,
)
from symphony.registry.v1 import (
    resources_pb2 as registry_resources,
)
from symphony_analytics.bootstrap import DEFINITION
from symphony_analytics.config import AnalyticsSettings
from symphony_common.service import Overrides, RunningService, start_service

TABLES = (
    "events",
    "event_ids",
    "activity_hourly",
    "activity_daily",
    "rollup_pending",
    "dropped_counts",
    "ingest_counts",
    "download_outbox_ids",
    "downloads_daily",
)


def ts(moment: datetime) -> timestamp_pb2.Timestamp:
    out = timestamp_pb2.Timestamp()
    out.FromDatetime(moment)
    return out


def value(v: Any) -> struct_pb2.Value:
    out = struct_pb2.Value()
    if v is None:
        out.null_value = struct_pb2.NULL_VALUE
    elif isinstance(v, bool):
        out.bool_value = v
    elif isinstance(v, int | float):
        out.number_value = v
    elif isinstance(v, str):
        out.string_value = v
    elif isinstance(v, list):
        out.list_value.values.extend(value(x) for x in v)
    else:
        out.struct_value.update(v)
    return out


def make_event(
    name: str = "file_opened",
    properties: Mapping[str, Any] | None = None,
    *,
    event_id: str | None = None,
    install_id: str | None = None,
    session_id: str | None = None,
    client_time: datetime | None = None,
    editor_version: str = "1.4.0",
    platform: str = "linux-x64",
) -> rpb.Event:
    if properties is None:
        properties = {"language": "python"} if name == "file_opened" else {}
    event = rpb.Event(
        event_id=str(uuid.uuid4()) if event_id is None else event_id,
        name=name,
        install_id=str(uuid.uuid4()) if install_id is None else install_id,
        session_id=str(uuid.uuid4()) if session_id is None else session_id,
        editor_version=editor_version,
        platform=platform,
        client_time=ts(client_time or datetime.now(UTC) - timedelta(seconds=5)),
    )
    for key, v in properties.items():
        event.properties[key].CopyFrom(value(v))
    return event


def truncate(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("TRUNCATE " + ", ".join(f"analytics.{t}" for t in TABLES))


@dataclass
class RegistryState:
    extensions: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    members: set[tuple[str, str]] = field(default_factory=set)
    down: bool = False
    calls: int = 0


class StubRegistry(
    registry_service_pb2_grpc.RegistryServiceServicer,
    registry_internal_service_pb2_grpc.RegistryInternalServiceServicer,
):
    def __init__(self, state: RegistryState) -> None:
        self.state = state

    async def _check(self, context: grpc.aio.ServicerContext) -> None:
        self.state.calls += 1
        if self.state.down:
            await context.abort(grpc.StatusCode.UNAVAILABLE, "registry down")

    async def GetExtension(self, request, context):
        await self._check(context)
        _, ns, _, ext = request.name.split("/")
        if (ns, ext) not in self.state.extensions:
            await context.abort(grpc.StatusCode.NOT_FOUND, "no such extension")
        return registry_resources.Extension(name=request.name)

    async def GetVersion(self, request, context):
        await self._check(context)
        _, ns, _, ext, _, ver = request.name.split("/")
        if ver not in self.state.extensions.get((ns, ext), set()):
            await context.abort(grpc.StatusCode.NOT_FOUND, "no such version")
        return registry_resources.Version(name=request.name)

    async def GetNamespaceAccess(self, request, context):
        await self._check(context)
        ns = request.namespace.removeprefix("namespaces/")
        user = request.user.removeprefix("users/")
        role = (
            registry_resources.NAMESPACE_ROLE_OWNER
            if (ns, user) in self.state.members
            else registry_resources.NAMESPACE_ROLE_UNSPECIFIED
        )
        return registry_internal_service_pb2.GetNamespaceAccessResponse(
            namespace=request.namespace, user=request.user, role=role
        )


async def start_stub_registry(state: RegistryState) -> tuple[grpc.aio.Server, str]:
    server = grpc.aio.server()
    stub = StubRegistry(state)
    registry_service_pb2_grpc.add_RegistryServiceServicer_to_server(stub, server)
    registry_internal_service_pb2_grpc.add_RegistryInternalServiceServicer_to_server(stub, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    return server, f"127.0.0.1:{port}"


SERVICE_TOKEN = "analytics-test-service-token"


async def start_analytics(
    database_url: str, redis_url: str, registry_address: str, overrides: Overrides, **settings: Any
) -> RunningService:
    config = AnalyticsSettings(
        database_url=database_url,
        redis_url=redis_url,
        service_token=SERVICE_TOKEN,
        registry_address=registry_address,
        **settings,
    )
    return await start_service(DEFINITION, config, port=0, overrides=overrides)
