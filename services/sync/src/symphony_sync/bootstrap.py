"""The only place that wires the sync service together."""

from __future__ import annotations

from pathlib import Path

import grpc

from symphony.sync.v1 import sync_internal_service_pb2, sync_internal_service_pb2_grpc, sync_service_pb2, sync_service_pb2_grpc
from symphony_common.db.engine import create_engine, database_ready
from symphony_common.peers import make_authenticator
from symphony_common.service import Overrides, ServiceDefinition, Wiring
from symphony_sync.api.servicer import SyncInternalServicer, SyncServicer
from symphony_sync.config import SyncSettings
from symphony_sync.db.unit_of_work import SqlSyncUnitOfWork
from symphony_sync.domain.service import SyncService

SERVICE_NAMES = (
    sync_service_pb2.DESCRIPTOR.services_by_name["SyncService"].full_name,
    sync_internal_service_pb2.DESCRIPTOR.services_by_name["SyncInternalService"].full_name,
)


async def build(settings: SyncSettings, overrides: Overrides) -> Wiring:
    engine = create_engine(
        settings.database_url,
        application_name="symphony-sync",
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout_seconds,
    )
    service = SyncService(lambda: SqlSyncUnitOfWork(engine))
    authenticator, peers_close = make_authenticator(
        settings, jwks_source=overrides.jwks_source, introspect=overrides.introspect
    )

    def register(server: grpc.aio.Server) -> None:
        sync_service_pb2_grpc.add_SyncServiceServicer_to_server(SyncServicer(service), server)
        sync_internal_service_pb2_grpc.add_SyncInternalServiceServicer_to_server(
            SyncInternalServicer(service), server
        )

    return Wiring(
        register=register,
        service_names=SERVICE_NAMES,
        authenticator=authenticator,
        readiness=lambda: database_ready(engine),
        closers=[engine.dispose, peers_close],
    )


DEFINITION = ServiceDefinition(
    name="sync",
    settings_class=SyncSettings,
    migrations_dir=Path(__file__).parent / "migrations",
    build=build,
)
