"""The only place that wires the analytics service together."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import secrets
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import grpc

from symphony.analytics.v1 import (
    analytics_internal_service_pb2,
    analytics_internal_service_pb2_grpc,
    analytics_service_pb2,
    analytics_service_pb2_grpc,
)
from symphony_analytics.adapters.fast_ingest import native_encoder
from symphony_analytics.adapters.rate_limit import LocalRateLimiter, RedisRateLimiter
from symphony_analytics.adapters.registry import GrpcRegistryDirectory
from symphony_analytics.api.servicer import AnalyticsInternalServicer, AnalyticsServicer
from symphony_analytics.config import AnalyticsSettings
from symphony_analytics.db.repository import SqlMaintenance
from symphony_analytics.db.unit_of_work import SqlAnalyticsUnitOfWork, SqlIngestUnitOfWork
from symphony_analytics.domain.catalogue import load_catalogue
from symphony_analytics.domain.models import IngestLimits
from symphony_analytics.domain.service import AnalyticsPolicy, AnalyticsService
from symphony_common.db.driver import create_pool, open_pool
from symphony_common.db.engine import create_engine, database_ready
from symphony_common.errors import DomainError
from symphony_common.grpc.client import open_channel
from symphony_common.peers import make_authenticator
from symphony_common.redis import create_redis
from symphony_common.service import Overrides, ServiceDefinition, Wiring, internal_callers

log = logging.getLogger(__name__)

SERVICE_NAMES = (
    analytics_service_pb2.DESCRIPTOR.services_by_name["AnalyticsService"].full_name,
    analytics_internal_service_pb2.DESCRIPTOR.services_by_name[
        "AnalyticsInternalService"
    ].full_name,
)


def _no_ingest(*, single_statement: bool = False) -> SqlIngestUnitOfWork:
    raise RuntimeError("built without an ingest pool (maintenance and queries only)")


def make_service(
    settings: AnalyticsSettings, engine, *, registry, rate_limiter, clock=None, ingest_pool=None
) -> AnalyticsService:  # type: ignore[no-untyped-def]
    """`ingest_pool` (symphony_common.db.driver) carries ingest; without it the service only
    queries and maintains (the CLI, tests)."""
    catalogue = load_catalogue(
        limits=IngestLimits(
            max_stream_events=settings.max_stream_events,
            max_event_age=timedelta(days=settings.dedupe_window_days),
        ),
        retention=timedelta(days=settings.raw_retention_days),
        dedupe_window=timedelta(days=settings.dedupe_window_days),
        threshold=settings.suppression_threshold,
    )
    policy = AnalyticsPolicy(
        suppression_threshold=settings.suppression_threshold,
        install_events_per_window=settings.install_events_per_minute,
        address_events_per_window=settings.address_events_per_minute,
        address_queries_per_window=settings.address_queries_per_minute,
        max_concurrent_ingest=settings.max_concurrent_ingest,
        overload_wait_seconds=settings.overload_wait_seconds,
        stream_idle_seconds=settings.stream_idle_seconds,
        salt=secrets.token_hex(16),
    )
    extra = {"clock": clock} if clock else {}
    ingest = functools.partial(SqlIngestUnitOfWork, ingest_pool) if ingest_pool else _no_ingest
    return AnalyticsService(
        lambda: SqlAnalyticsUnitOfWork(engine),
        catalogue=catalogue,
        rate_limiter=rate_limiter,
        registry=registry,
        maintenance=SqlMaintenance(engine),
        policy=policy,
        ingest_uow=ingest,
        encoder=native_encoder(settings.native_ingest),
        **extra,
    )


async def build(settings: AnalyticsSettings, overrides: Overrides) -> Wiring:
    engine = create_engine(
        settings.database_url,
        application_name="symphony-analytics",
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout_seconds,
    )
    # Ingest's own pool (psycopg directly); at most max_concurrent_ingest calls hold one at a
    # time, plus the best-effort counting of refused calls. Bounded by the database settings
    # too, so that a small configured pool (the test suite's) stays small.
    ingest_pool = create_pool(
        settings.database_url,
        application_name="symphony-analytics-ingest",
        pool_size=min(settings.max_concurrent_ingest, settings.db_pool_size),
        max_overflow=min(2, settings.db_max_overflow),
        pool_timeout=settings.db_pool_timeout_seconds,
    )
    await open_pool(ingest_pool)
    closers: list[Callable[[], Awaitable[None]]] = [engine.dispose, ingest_pool.close]
    redis = create_redis(settings.redis_url) if settings.use_redis else None
    if redis is not None:
        closers.append(redis.aclose)
    rate_limiter = overrides.extra.get("rate_limiter")
    if rate_limiter is None and redis is not None:
        rate_limiter = RedisRateLimiter(redis)
        closers.append(rate_limiter.aclose)  # closers run in reverse: before redis.aclose
    rate_limiter = rate_limiter or LocalRateLimiter()
    registry = overrides.extra.get("registry")
    if registry is None:
        channel = open_channel(
            settings.registry_address,
            service_token=settings.service_token,
            service_name=settings.service_name,
        )
        registry = GrpcRegistryDirectory(channel)
        closers.append(lambda: channel.close(None))
    service = make_service(
        settings,
        engine,
        registry=registry,
        rate_limiter=rate_limiter,
        clock=overrides.extra.get("clock"),
        ingest_pool=ingest_pool,
    )
    authenticator, peers_close = make_authenticator(
        settings, jwks_source=overrides.jwks_source, introspect=overrides.introspect
    )
    closers.append(peers_close)
    trusted = frozenset(p.strip() for p in settings.trusted_proxies.split(",") if p.strip())

    def register(server: grpc.aio.Server) -> None:
        analytics_service_pb2_grpc.add_AnalyticsServiceServicer_to_server(
            AnalyticsServicer(service, trusted), server
        )
        analytics_internal_service_pb2_grpc.add_AnalyticsInternalServiceServicer_to_server(
            AnalyticsInternalServicer(service), server
        )

    async def maintenance() -> None:
        """Partitions ahead of time, retention, dedupe purge: at start-up, then periodically."""
        while True:
            with contextlib.suppress(DomainError):
                try:
                    created = await service.ensure_partitions()
                    dropped, purged = await service.apply_retention()
                    log.info(
                        "analytics maintenance",
                        extra={
                            "partitions_created": created,
                            "partitions_dropped": dropped,
                            "ids_purged": purged,
                        },
                    )
                except DomainError:
                    log.warning("analytics maintenance skipped: storage unavailable")
                    await asyncio.sleep(min(60.0, settings.maintenance_interval_seconds))
                    continue
            await asyncio.sleep(settings.maintenance_interval_seconds)

    async def fold_rollups() -> None:
        """Ingest only appends rollup deltas; this folds them into the rollups, periodically."""
        while True:
            try:
                await service.fold_rollups()
            except DomainError:
                log.warning("analytics rollup fold skipped: storage unavailable")
            except Exception:  # keep folding: queries depend on it
                log.exception("analytics rollup fold failed")
            await asyncio.sleep(settings.rollup_fold_interval_seconds)

    return Wiring(
        register=register,
        service_names=SERVICE_NAMES,
        authenticator=authenticator,
        readiness=lambda: database_ready(engine),
        background=[maintenance, fold_rollups] if overrides.extra.get("maintenance", True) else [],
        closers=closers,
    )


DEFINITION = ServiceDefinition(
    name="analytics",
    settings_class=AnalyticsSettings,
    migrations_dir=Path(__file__).parent / "migrations",
    build=build,
    # Each event's client_time gets its own answer (INVALID_TIMESTAMP), not the whole batch's
    # INVALID_ARGUMENT: the converters range-check ingest's Timestamps themselves. The batch
    # arrives as bytes (the native fast path) and its servicer decodes them the same way.
    checks_own_times=frozenset({"/symphony.analytics.v1.AnalyticsService/StreamIngestEvents"}),
    raw_requests=frozenset({"/symphony.analytics.v1.AnalyticsService/BatchIngestEvents"}),
    internal_callers=internal_callers(
        "symphony.analytics.v1.AnalyticsInternalService", RecordDownloads=frozenset({"registry"})
    ),
)
