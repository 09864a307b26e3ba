"""The only place that wires the analytics service together."""

from __future__ import annotations

from pathlib import Path

import grpc

from symphony.analytics.v1 import analytics_internal_service_pb2, analytics_internal_service_pb2_grpc, analytics_service_pb2, analytics_service_pb2_grpc
from symphony_common.db.engine import create_engine, database_ready
from symphony_common.peers import make_authenticator
from symphony_common.service import Overrides, ServiceDefinition, Wiring
from symphony_analytics.api.servicer import AnalyticsInternalServicer, AnalyticsServicer
from symphony_analytics.config import AnalyticsSettings
from symphony_analytics.db.unit_of_work import SqlAnalyticsUnitOfWork
from symphony_analytics.domain.service import AnalyticsService

SERVICE_NAMES = (
    analytics_service_pb2.DESCRIPTOR.services_by_name["AnalyticsService"].full_name,
    analytics_internal_service_pb2.DESCRIPTOR.services_by_name["AnalyticsInternalService"].full_name,
)


async def build(settings: AnalyticsSettings, overrides: Overrides) -> Wiring:
    engine = create_engine(
        settings.database_url,
        application_name="symphony-analytics",
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout_seconds,
    )
    service = AnalyticsService(lambda: SqlAnalyticsUnitOfWork(engine))
    authenticator, peers_close = make_authenticator(
        settings, jwks_source=overrides.jwks_source, introspect=overrides.introspect
    )

    def register(server: grpc.aio.Server) -> None:
        analytics_service_pb2_grpc.add_AnalyticsServiceServicer_to_server(AnalyticsServicer(service), server)
        analytics_internal_service_pb2_grpc.add_AnalyticsInternalServiceServicer_to_server(
            AnalyticsInternalServicer(service), server
        )

    return Wiring(
        register=register,
        service_names=SERVICE_NAMES,
        authenticator=authenticator,
        readiness=lambda: database_ready(engine),
        closers=[engine.dispose, peers_close],
    )


DEFINITION = ServiceDefinition(
    name="analytics",
    settings_class=AnalyticsSettings,
    migrations_dir=Path(__file__).parent / "migrations",
    build=build,
)
