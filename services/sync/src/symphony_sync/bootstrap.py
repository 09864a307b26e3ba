"""The only place that wires the sync service together."""

from __future__ import annotations

import functools
import hashlib
import logging
from pathlib import Path
from typing import Any

import grpc
import psycopg

from symphony.sync.v1 import (
    sync_internal_service_pb2,
    sync_internal_service_pb2_grpc,
    sync_service_pb2,
    sync_service_pb2_grpc,
)
from symphony_common.db.driver import create_pool, open_pool, pool_ready
from symphony_common.pagination import PageTokenCodec
from symphony_common.peers import make_authenticator
from symphony_common.service import Overrides, ServiceDefinition, Wiring, internal_callers
from symphony_sync.api.servicer import SyncInternalServicer, SyncServicer
from symphony_sync.config import SyncSettings
from symphony_sync.db.unit_of_work import SqlSyncUnitOfWork
from symphony_sync.domain.service import SyncService, utcnow
from symphony_sync.feed import LocalChangeNotifier, RedisChangeNotifier

log = logging.getLogger(__name__)

SERVICE_NAMES = (
    sync_service_pb2.DESCRIPTOR.services_by_name["SyncService"].full_name,
    sync_internal_service_pb2.DESCRIPTOR.services_by_name["SyncInternalService"].full_name,
)


def page_token_secret(settings: SyncSettings) -> str:
    if settings.page_token_secret:
        return settings.page_token_secret
    # Replicas must agree; without a configured secret derive one they share. Page tokens are
    # also bound to the user and the query, so this only weakens tamper-evidence.
    log.warning("SYMPHONY_PAGE_TOKEN_SECRET is unset; deriving page-token secret from DATABASE_URL")
    return hashlib.sha256(f"symphony-sync-page-tokens:{settings.database_url}".encode()).hexdigest()


async def durable_commits(conn: psycopg.AsyncConnection[Any]) -> None:
    """A push is acknowledged after its commit, and an acknowledged change must survive a
    database crash: with `synchronous_commit=off` (a speed setting some servers use, the dev
    stack's included) the last commits before a crash are lost. Raise it to `on` for sync's own
    sessions; stronger settings (`remote_write`, `remote_apply`) are left alone."""
    await conn.execute(
        "SELECT set_config('synchronous_commit', 'on', false)"
        " WHERE current_setting('synchronous_commit') = 'off'"
    )


async def build(settings: SyncSettings, overrides: Overrides) -> Wiring:
    pool = create_pool(
        settings.database_url,
        application_name="symphony-sync",
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout_seconds,
        configure=durable_commits,
    )
    await open_pool(pool)
    notifier: LocalChangeNotifier = overrides.extra.get("notifier") or RedisChangeNotifier(
        settings.redis_url
    )
    service = SyncService(
        functools.partial(SqlSyncUnitOfWork, pool),
        notifier=notifier,
        limits=settings.limits(),
        page_tokens=PageTokenCodec(page_token_secret(settings)),
        clock=overrides.extra.get("clock", utcnow),
        poll_fallback_seconds=settings.watch_poll_fallback_seconds,
    )
    authenticator, peers_close = make_authenticator(
        settings, jwks_source=overrides.jwks_source, introspect=overrides.introspect
    )

    def register(server: grpc.aio.Server) -> None:
        sync_service_pb2_grpc.add_SyncServiceServicer_to_server(SyncServicer(service), server)
        sync_internal_service_pb2_grpc.add_SyncInternalServiceServicer_to_server(
            SyncInternalServicer(service), server
        )

    background = []
    closers = [pool.close, peers_close]
    if isinstance(notifier, RedisChangeNotifier):
        background.append(notifier.run)
        closers.append(notifier.close)
    if settings.maintenance_interval_seconds > 0:
        interval = settings.maintenance_interval_seconds
        background.append(lambda: service.maintenance_loop(interval))

    wiring = Wiring(
        register=register,
        service_names=SERVICE_NAMES,
        authenticator=authenticator,
        readiness=lambda: pool_ready(pool),
        background=background,
        closers=closers,
        # Watch streams never finish by themselves: on drain they end with UNAVAILABLE
        # SHUTTING_DOWN so their clients reconnect to another replica at once.
        on_drain=[service.begin_shutdown],
        service=service,
    )
    return wiring


DEFINITION = ServiceDefinition(
    name="sync",
    settings_class=SyncSettings,
    migrations_dir=Path(__file__).parent / "migrations",
    build=build,
    internal_callers=internal_callers(
        "symphony.sync.v1.SyncInternalService", DeleteUserData=frozenset({"auth"})
    ),
)
