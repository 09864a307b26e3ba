"""The only place that wires the registry service together."""

from __future__ import annotations

from pathlib import Path

import grpc

from symphony.registry.v1 import registry_internal_service_pb2, registry_internal_service_pb2_grpc, registry_service_pb2, registry_service_pb2_grpc
from symphony_common.db.engine import create_engine, database_ready
from symphony_common.peers import make_authenticator
from symphony_common.service import Overrides, ServiceDefinition, Wiring
from symphony_registry.api.servicer import RegistryInternalServicer, RegistryServicer
from symphony_registry.config import RegistrySettings
from symphony_registry.db.unit_of_work import SqlRegistryUnitOfWork
from symphony_registry.domain.service import RegistryService

SERVICE_NAMES = (
    registry_service_pb2.DESCRIPTOR.services_by_name["RegistryService"].full_name,
    registry_internal_service_pb2.DESCRIPTOR.services_by_name["RegistryInternalService"].full_name,
)


async def build(settings: RegistrySettings, overrides: Overrides) -> Wiring:
    engine = create_engine(
        settings.database_url,
        application_name="symphony-registry",
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout_seconds,
    )
    service = RegistryService(lambda: SqlRegistryUnitOfWork(engine))
    authenticator, peers_close = make_authenticator(
        settings, jwks_source=overrides.jwks_source, introspect=overrides.introspect
    )

    def register(server: grpc.aio.Server) -> None:
        registry_service_pb2_grpc.add_RegistryServiceServicer_to_server(RegistryServicer(service), server)
        registry_internal_service_pb2_grpc.add_RegistryInternalServiceServicer_to_server(
            RegistryInternalServicer(service), server
        )

    return Wiring(
        register=register,
        service_names=SERVICE_NAMES,
        authenticator=authenticator,
        readiness=lambda: database_ready(engine),
        closers=[engine.dispose, peers_close],
    )


DEFINITION = ServiceDefinition(
    name="registry",
    settings_class=RegistrySettings,
    migrations_dir=Path(__file__).parent / "migrations",
    build=build,
)
