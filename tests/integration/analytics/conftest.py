from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import grpc
import pytest
import pytest_asyncio

from symphony.analytics.v1 import analytics_internal_service_pb2_grpc, analytics_service_pb2_grpc
from symphony_analytics.bootstrap import DEFINITION, make_service
from symphony_analytics.config import AnalyticsSettings
from symphony_analytics.domain.service import AnalyticsService
from symphony_common.context import Principal
from symphony_common.db import migrations
from symphony_common.db.engine import create_engine
from symphony_common.service import Overrides, RunningService
from symphony_common.testing.tokens import TestSigner
from symphony_common.tokens import service_credential
from tests.integration.analytics.support import (
    SERVICE_TOKEN,
    RegistryState,
    start_analytics,
    start_stub_registry,
    truncate,
)


@pytest.fixture(scope="session")
def analytics_url(database_url: str) -> str:
    migrations.upgrade(database_url, DEFINITION.schema, DEFINITION.migrations_dir)
    return database_url


@pytest.fixture(scope="session")
def signer() -> TestSigner:
    return TestSigner()


@pytest.fixture(scope="session")
def registry_state() -> RegistryState:
    return RegistryState()


@pytest_asyncio.fixture(scope="session")
async def registry_address(registry_state: RegistryState) -> AsyncIterator[str]:
    server, address = await start_stub_registry(registry_state)
    yield address
    await server.stop(None)


async def _no_pats(token: str) -> Principal:
    from symphony_common.tokens import invalid_token

    raise invalid_token()


@pytest_asyncio.fixture(scope="session")
async def analytics(
    analytics_url: str, redis_url: str, registry_address: str, signer: TestSigner
) -> AsyncIterator[RunningService]:
    running = await start_analytics(
        analytics_url,
        redis_url,
        registry_address,
        Overrides(jwks_source=signer.jwks, introspect=_no_pats, extra={"maintenance": False}),
        install_events_per_minute=1_000_000,
        address_events_per_minute=10_000_000,
        address_queries_per_minute=1_000_000,
    )
    yield running
    await running.stop()


@pytest_asyncio.fixture(scope="session")
async def rollups(analytics_url: str) -> AsyncIterator[AnalyticsService]:
    """The service's rollup upkeep on its own engine (`fold_rollups`, `rebuild_rollups`): the
    service under test runs no background fold, so tests fold when they mean to."""
    engine = create_engine(analytics_url, application_name="test-rollups")
    yield make_service(
        AnalyticsSettings(database_url=analytics_url), engine, registry=None, rate_limiter=None
    )
    await engine.dispose()


@pytest_asyncio.fixture(scope="session")
async def channel(analytics: RunningService) -> AsyncIterator[grpc.aio.Channel]:
    ch = grpc.aio.insecure_channel(f"127.0.0.1:{analytics.port}")
    yield ch
    await ch.close()


@pytest.fixture(scope="session")
def stub(channel: grpc.aio.Channel) -> analytics_service_pb2_grpc.AnalyticsServiceStub:
    return analytics_service_pb2_grpc.AnalyticsServiceStub(channel)


@pytest.fixture(scope="session")
def internal_stub(
    channel: grpc.aio.Channel,
) -> analytics_internal_service_pb2_grpc.AnalyticsInternalServiceStub:
    return analytics_internal_service_pb2_grpc.AnalyticsInternalServiceStub(channel)


@pytest.fixture
def service_metadata() -> tuple[tuple[str, str], ...]:
    """The registry's credential: the only caller RecordDownloads accepts."""
    return (("x-symphony-service-credential", service_credential(SERVICE_TOKEN, "registry")),)


@pytest.fixture
def clean(analytics_url: str) -> Iterator[None]:
    truncate(analytics_url)
    yield


__all__ = ["asyncio"]
