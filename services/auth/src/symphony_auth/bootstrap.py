"""The only place that wires the auth service together."""

from __future__ import annotations

from pathlib import Path

import grpc

from symphony.auth.v1 import auth_internal_service_pb2, auth_internal_service_pb2_grpc, auth_service_pb2, auth_service_pb2_grpc
from symphony_common.db.engine import create_engine, database_ready
from symphony_common.peers import make_authenticator
from symphony_common.service import Overrides, ServiceDefinition, Wiring
from symphony_auth.api.servicer import AuthInternalServicer, AuthServicer
from symphony_auth.config import AuthSettings
from symphony_auth.db.unit_of_work import SqlAuthUnitOfWork
from symphony_auth.domain.service import AuthService

SERVICE_NAMES = (
    auth_service_pb2.DESCRIPTOR.services_by_name["AuthService"].full_name,
    auth_internal_service_pb2.DESCRIPTOR.services_by_name["AuthInternalService"].full_name,
)


async def build(settings: AuthSettings, overrides: Overrides) -> Wiring:
    engine = create_engine(
        settings.database_url,
        application_name="symphony-auth",
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout_seconds,
    )
    service = AuthService(lambda: SqlAuthUnitOfWork(engine))
    authenticator, peers_close = make_authenticator(
        settings, jwks_source=overrides.jwks_source, introspect=overrides.introspect
    )

    def register(server: grpc.aio.Server) -> None:
        auth_service_pb2_grpc.add_AuthServiceServicer_to_server(AuthServicer(service), server)
        auth_internal_service_pb2_grpc.add_AuthInternalServiceServicer_to_server(
            AuthInternalServicer(service), server
        )

    return Wiring(
        register=register,
        service_names=SERVICE_NAMES,
        authenticator=authenticator,
        readiness=lambda: database_ready(engine),
        closers=[engine.dispose, peers_close],
    )


DEFINITION = ServiceDefinition(
    name="auth",
    settings_class=AuthSettings,
    migrations_dir=Path(__file__).parent / "migrations",
    build=build,
)
