"""The only place that wires the registry service together."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from pathlib import Path
from typing import cast

import grpc

from symphony.registry.v1 import (
    registry_internal_service_pb2,
    registry_internal_service_pb2_grpc,
    registry_service_pb2,
    registry_service_pb2_grpc,
)
from symphony_common.db.engine import create_engine, database_ready
from symphony_common.grpc.client import open_channel
from symphony_common.peers import make_authenticator
from symphony_common.redis import create_redis
from symphony_common.service import Overrides, ServiceDefinition, Wiring, internal_callers
from symphony_registry.adapters.cache import RedisCache
from symphony_registry.adapters.peers import GrpcAnalyticsClient, GrpcAuthClient
from symphony_registry.api.servicer import RegistryInternalServicer, RegistryServicer
from symphony_registry.config import RegistrySettings
from symphony_registry.db.blobs import FilesystemBlobStore, PostgresBlobStore
from symphony_registry.db.unit_of_work import SqlRegistryUnitOfWork
from symphony_registry.domain.archive import Limits
from symphony_registry.domain.checks import (
    ArchiveFeaturesCheck,
    BlocklistCheck,
    NameSimilarityCheck,
    SecretsCheck,
)
from symphony_registry.domain.names import RESERVED_NAMESPACES
from symphony_registry.domain.ports import Cache, NullCache, RegistryUnitOfWork
from symphony_registry.domain.service import RegistryConfig, RegistryService
from symphony_registry.domain.worker import (
    DownloadOutbox,
    ScanWorker,
    TokenRevocations,
    WorkerConfig,
)

log = logging.getLogger(__name__)

SERVICE_NAMES = (
    registry_service_pb2.DESCRIPTOR.services_by_name["RegistryService"].full_name,
    registry_internal_service_pb2.DESCRIPTOR.services_by_name["RegistryInternalService"].full_name,
)


def limits_of(settings: RegistrySettings) -> Limits:
    return Limits(
        max_package_bytes=settings.max_package_bytes,
        max_entry_bytes=settings.max_entry_bytes,
        max_entries=settings.max_entries,
        max_uncompressed_bytes=settings.max_uncompressed_bytes,
        max_manifest_bytes=settings.max_manifest_bytes,
        max_manifest_depth=settings.max_manifest_depth,
        max_path_depth=settings.max_path_depth,
        max_entry_name_bytes=settings.max_entry_name_bytes,
    )


async def build(settings: RegistrySettings, overrides: Overrides) -> Wiring:
    """`overrides.extra` may carry `auth` (an AuthPort), `analytics` (an AnalyticsPort),
    `checks` (the scan checks), `blobs` (a BlobStore) — the test seams."""
    engine = create_engine(
        settings.database_url,
        application_name="symphony-registry",
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout_seconds,
    )
    closers = []
    channels: list[grpc.aio.Channel] = []
    admin_users = [u.strip() for u in settings.admin_users.split(",") if u.strip()]
    auth = overrides.extra.get("auth")
    if auth is None:
        channel = open_channel(
            settings.auth_address,
            service_token=settings.service_token,
            service_name=settings.service_name,
        )
        channels.append(channel)
        auth = GrpcAuthClient(channel, admin_users=admin_users)
    analytics = overrides.extra.get("analytics")
    if analytics is None:
        channel = open_channel(
            settings.analytics_address,
            service_token=settings.service_token,
            service_name=settings.service_name,
        )
        channels.append(channel)
        analytics = GrpcAnalyticsClient(channel)
    blobs = overrides.extra.get("blobs")
    if blobs is None:
        blobs = (
            FilesystemBlobStore(settings.blob_dir)
            if settings.blob_backend == "filesystem"
            else PostgresBlobStore(engine)
        )
    redis = None
    cache: Cache = NullCache()
    if settings.cache_enabled:
        redis = create_redis(settings.redis_url)
        cache = RedisCache(redis)
    global_mean = [3.5]
    limits = limits_of(settings)
    reserved = RESERVED_NAMESPACES | {
        n.strip().casefold() for n in settings.reserved_namespaces.split(",") if n.strip()
    }
    config = RegistryConfig(
        limits=limits,
        spool_dir=settings.spool_dir or None,
        unpublish_window=dt.timedelta(hours=settings.unpublish_window_hours),
        reserved_namespaces=frozenset(reserved),
        cache_ttl=settings.cache_ttl_seconds,
        local_cache_ttl=settings.local_cache_seconds,
        page_secret=settings.page_token_secret,
    )

    def unit_of_work() -> RegistryUnitOfWork:
        # ports.RegistryRepository lists the SQL repository loosely (any attribute), which a
        # class without __getattr__ does not match structurally.
        return cast(RegistryUnitOfWork, SqlRegistryUnitOfWork(engine, global_mean=global_mean))

    service = RegistryService(
        unit_of_work,
        blobs=blobs,
        auth=auth,
        cache=cache,
        config=config,
    )
    service.global_mean = global_mean
    authenticator, peers_close = make_authenticator(
        settings, jwks_source=overrides.jwks_source, introspect=overrides.introspect
    )
    revocations = TokenRevocations(
        service._uow,
        auth,
        retry_seconds=settings.revocation_retry_seconds,
        poll_seconds=settings.worker_poll_seconds,
    )
    checks = overrides.extra.get("checks")
    if checks is None:
        checks = [
            BlocklistCheck(),
            SecretsCheck(revocations.revoke),
            NameSimilarityCheck(),
            ArchiveFeaturesCheck(),
        ]
    worker_config = WorkerConfig(
        check_timeout=settings.check_timeout_seconds,
        lease_seconds=settings.scan_lease_seconds,
        max_attempts=settings.scan_max_attempts,
        retry_seconds=settings.scan_retry_seconds,
        poll_seconds=settings.worker_poll_seconds,
        spool_dir=settings.spool_dir or None,
        limits=limits,
    )
    workers = [
        ScanWorker(service._uow, blobs, checks, worker_config, on_final=service.invalidate)
        for _ in range(max(0, settings.worker_concurrency) if settings.worker_enabled else 0)
    ]
    outbox = DownloadOutbox(
        service._uow,
        analytics,
        batch=settings.outbox_batch,
        interval=settings.outbox_interval_seconds,
    )

    async def signing_key_then_idle() -> None:
        # The key is made on first start; retried while the database is not up yet.
        while True:
            try:
                await service.ensure_signing_key()
                break
            except Exception:
                log.warning("signing key not ready; retrying", exc_info=True)
                await asyncio.sleep(1.0)
        while True:
            with contextlib.suppress(Exception):
                await service.refresh_global_mean()
            await asyncio.sleep(60.0)

    background = [signing_key_then_idle, *(w.run_forever for w in workers)]
    if workers:
        background.append(revocations.run_forever)
    if settings.outbox_enabled:
        background.append(outbox.run_forever)

    def register(server: grpc.aio.Server) -> None:
        registry_service_pb2_grpc.add_RegistryServiceServicer_to_server(
            RegistryServicer(service), server
        )
        registry_internal_service_pb2_grpc.add_RegistryInternalServiceServicer_to_server(
            RegistryInternalServicer(service), server
        )

    async def close_channels() -> None:
        for channel in channels:
            await channel.close(None)

    async def close_redis() -> None:
        if redis is not None:
            await redis.aclose()

    closers.extend([engine.dispose, peers_close, close_channels, close_redis])
    wiring = Wiring(
        register=register,
        service_names=SERVICE_NAMES,
        authenticator=authenticator,
        readiness=lambda: database_ready(engine),
        background=background,
        closers=closers,
    )
    # Handles for tests and tools (not part of Wiring's contract).
    wiring.registry = {  # type: ignore[attr-defined]
        "service": service,
        "workers": workers,
        "outbox": outbox,
        "revocations": revocations,
        "engine": engine,
    }
    return wiring


DEFINITION = ServiceDefinition(
    name="registry",
    settings_class=RegistrySettings,
    migrations_dir=Path(__file__).parent / "migrations",
    build=build,
    internal_callers=internal_callers(
        "symphony.registry.v1.RegistryInternalService",
        DeleteUserData=frozenset({"auth"}),
        GetNamespaceAccess=frozenset({"analytics"}),
        ListUserNamespaces=frozenset({"analytics"}),
    ),
)
