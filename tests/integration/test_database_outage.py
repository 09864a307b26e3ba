"""A service whose database goes away answers UNAVAILABLE (never INTERNAL), its readiness turns
NOT_SERVING while liveness stays SERVING, and it recovers by itself when the database returns
(SV-4). Runs on a private PostgreSQL so stopping it harms nobody."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_status import rpc_status

from symphony.registry.v1 import registry_service_pb2, registry_service_pb2_grpc
from symphony_common.db import migrations
from symphony_common.devstack import PrivatePostgres, ensure_postgres
from symphony_common.devstack.postgres import stop_postgres
from symphony_common.service import Overrides, start_service
from symphony_common.testing.tokens import TestSigner
from symphony_registry.bootstrap import DEFINITION
from symphony_registry.config import RegistrySettings

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def private_postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivatePostgres]:
    server = ensure_postgres(tmp_path_factory.mktemp("outage-pg"), database="outage")
    try:
        yield server
    finally:
        server.release()


async def health(channel: grpc.aio.Channel, service: str) -> int:
    answer = await health_pb2_grpc.HealthStub(channel).Check(
        health_pb2.HealthCheckRequest(service=service), timeout=2
    )
    return answer.status


async def eventually(predicate, within: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not await predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.25)


async def test_database_down_is_unavailable_and_recovers(
    private_postgres: PrivatePostgres, redis_url: str
) -> None:
    url = private_postgres.url
    await asyncio.to_thread(migrations.upgrade, url, DEFINITION.schema, DEFINITION.migrations_dir)
    settings = RegistrySettings(
        database_url=url, redis_url=redis_url, service_token="t", db_pool_timeout_seconds=1.0
    )
    running = await start_service(
        DEFINITION, settings, port=0, overrides=Overrides(jwks_source=TestSigner().jwks)
    )
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{running.port}")
    stub = registry_service_pb2_grpc.RegistryServiceStub(channel)
    request = registry_service_pb2.GetNamespaceRequest(name="namespaces/nobody-here")

    async def code() -> grpc.StatusCode:
        try:
            await stub.GetNamespace(request, timeout=10)
        except grpc.aio.AioRpcError as error:
            return error.code()
        return grpc.StatusCode.OK

    restarted: PrivatePostgres | None = None
    try:
        assert await code() == grpc.StatusCode.NOT_FOUND
        assert await health(channel, "") == health_pb2.HealthCheckResponse.SERVING

        await asyncio.to_thread(
            stop_postgres,
            private_postgres.pgdata,
            private_postgres.bin_dir,
            private_postgres.run_as,
        )
        try:
            await stub.GetNamespace(request, timeout=10)
            raise AssertionError("a call with the database down succeeded")
        except grpc.aio.AioRpcError as error:
            assert error.code() == grpc.StatusCode.UNAVAILABLE
            status = rpc_status.from_call(error)
            assert status is not None and "DATABASE_UNAVAILABLE" in str(status.details[0].value)
        await eventually(
            lambda: _is(health(channel, ""), health_pb2.HealthCheckResponse.NOT_SERVING)
        )
        assert await health(channel, "liveness") == health_pb2.HealthCheckResponse.SERVING

        restarted = await asyncio.to_thread(
            ensure_postgres,
            Path(private_postgres.pgdata).parent,
            port=private_postgres.port,
            database="outage",
        )
        await eventually(lambda: _is(health(channel, ""), health_pb2.HealthCheckResponse.SERVING))

        async def recovered() -> bool:
            return await code() == grpc.StatusCode.NOT_FOUND

        await eventually(recovered)
    finally:
        await channel.close()
        await running.stop()
        if restarted is not None:
            restarted.release()  # the module fixture's lease stops the server


async def _is(awaitable, expected: int) -> bool:
    return await awaitable == expected
