"""The only place that wires the auth service together.

Test seams (`Overrides.extra`): `clock` (a callable returning an aware datetime), `mailer`
(an object with `async send(recipient, subject, body)`), `peers` (a `PeerNotifier`),
`identity_providers` (an `IdentityProviders`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any

import grpc

from symphony.auth.v1 import (
    auth_internal_service_pb2,
    auth_internal_service_pb2_grpc,
    auth_service_pb2,
    auth_service_pb2_grpc,
)
from symphony_auth.adapters.changes import LocalChangeBus, RedisChangeBus
from symphony_auth.adapters.mail import OutboxWorker, make_mailer
from symphony_auth.adapters.oidc import HttpIdentityProviders
from symphony_auth.adapters.peers import GrpcPeerNotifier
from symphony_auth.adapters.ratelimit import RedisRateLimiter
from symphony_auth.api.servicer import AuthInternalServicer, AuthServicer, CallerInfo
from symphony_auth.config import AuthSettings
from symphony_auth.db.unit_of_work import SqlAuthUnitOfWork
from symphony_auth.domain.keys import KeyCipher, KeyStore
from symphony_auth.domain.passwords import Argon2Hasher
from symphony_auth.domain.service import AuthService, Policy, utcnow
from symphony_auth.domain.session_cache import SessionCache
from symphony_common.context import Principal
from symphony_common.db.engine import create_engine, database_ready
from symphony_common.peers import make_authenticator
from symphony_common.redis import create_redis
from symphony_common.service import Overrides, ServiceDefinition, Wiring, internal_callers
from symphony_common.tokens import invalid_token

log = logging.getLogger(__name__)

SERVICE_NAMES = (
    auth_service_pb2.DESCRIPTOR.services_by_name["AuthService"].full_name,
    auth_internal_service_pb2.DESCRIPTOR.services_by_name["AuthInternalService"].full_name,
)


def policy_from(settings: AuthSettings, cipher: KeyCipher) -> Policy:
    from datetime import timedelta

    return Policy(
        issuer=settings.token_issuer,
        access_ttl=settings.access_token_ttl_seconds,
        refresh_grace=min(60.0, settings.refresh_grace_seconds),
        session_idle=timedelta(days=settings.session_idle_days),
        session_absolute=timedelta(days=settings.session_absolute_days),
        device_ttl=settings.device_code_ttl_seconds,
        device_interval=settings.device_poll_interval_seconds,
        external_ttl=settings.external_login_ttl_seconds,
        admin_emails=settings.admin_email_set(),
        website_url=settings.website_url.rstrip("/"),
        login_account_limit=settings.login_account_limit,
        login_address_limit=settings.login_address_limit,
        login_window=settings.login_window_seconds,
        request_rate_limit=settings.request_rate_limit,
        request_rate_window=settings.request_rate_window_seconds,
        providers={p.id: p for p in settings.providers()},
        page_token_secret=settings.page_token_secret or "symphony-auth-page-tokens",
        idempotency_cipher=cipher,
    )


async def _every(seconds: float, job: Any, name: str) -> None:
    while True:
        await asyncio.sleep(seconds)
        try:
            await job()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.warning("%s failed", name, exc_info=True)


async def build(settings: AuthSettings, overrides: Overrides) -> Wiring:
    engine = create_engine(
        settings.database_url,
        application_name="symphony-auth",
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout_seconds,
    )

    redis = create_redis(settings.redis_url) if settings.redis_url else None
    sessions = SessionCache(settings.session_cache_seconds, settings.session_cache_size)
    bus = (
        RedisChangeBus(sessions, redis, settings.redis_url)
        if redis is not None
        else LocalChangeBus(sessions)
    )

    def uow(*, read_only: bool = False) -> SqlAuthUnitOfWork:
        return SqlAuthUnitOfWork(engine, read_only=read_only, on_commit=bus.changed)

    clock = overrides.extra.get("clock", utcnow)
    cipher = KeyCipher(settings.key_encryption_key)
    keys = KeyStore(
        uow,
        cipher,
        issuer=settings.token_issuer,
        access_ttl=settings.access_token_ttl_seconds,
        rotation_days=settings.key_rotation_days,
        publish_lead_seconds=settings.key_publish_lead_seconds,
        clock=clock,
    )
    await keys.maintain()  # the first key on a fresh database; replicas share it

    limiter = RedisRateLimiter(redis)
    providers = overrides.extra.get("identity_providers")
    closers: list[Callable[[], Awaitable[None]]] = [engine.dispose]
    if providers is None and settings.providers():
        providers = HttpIdentityProviders(settings.providers())
        closers.append(providers.close)
    hasher = Argon2Hasher(
        settings.argon2_memory_kib, settings.argon2_time_cost, settings.argon2_parallelism
    )

    async def close_hasher() -> None:
        hasher.close()

    closers.append(close_hasher)
    service = AuthService(
        uow,
        keys=keys,
        hasher=hasher,
        limiter=limiter,
        providers=providers,
        policy=policy_from(settings, cipher),
        clock=clock,
        sessions=sessions,
    )

    async def introspect(token: str) -> Principal:
        # Auth authenticates its own callers from its own tables: no gRPC call to itself.
        answer = await service.introspect(token)
        if not answer.active:
            raise invalid_token()
        return Principal(
            kind="pat",
            user_id=answer.user_id,
            scopes=frozenset(answer.scopes),
            token_id=answer.token_id,
        )

    authenticator, peers_close = make_authenticator(
        settings, jwks_source=keys.jwks_source, introspect=introspect
    )
    closers.append(peers_close)

    peers = overrides.extra.get("peers")
    if peers is None:
        peers = GrpcPeerNotifier(
            settings.sync_address,
            settings.registry_address,
            settings.service_token,
            settings.service_name,
        )
        closers.append(peers.close)
    mailer = overrides.extra.get("mailer") or make_mailer(settings.smtp_url, settings.smtp_from)
    worker = OutboxWorker(uow, mailer, peers, clock, settings.outbox_poll_seconds)
    background: list[Callable[[], Coroutine[Any, Any, None]]] = [
        worker.run,
        lambda: _every(60.0, keys.maintain, "signing key maintenance"),
    ]
    if redis is not None:

        async def close_redis() -> None:
            with contextlib.suppress(Exception):
                await redis.aclose()

        closers.append(close_redis)
    if isinstance(bus, RedisChangeBus):
        background.append(bus.run)
        closers.append(bus.close)

    caller_info = CallerInfo(settings.trusted_proxies.split(","))

    def register(server: grpc.aio.Server) -> None:
        auth_service_pb2_grpc.add_AuthServiceServicer_to_server(
            AuthServicer(service, caller_info), server
        )
        auth_internal_service_pb2_grpc.add_AuthInternalServiceServicer_to_server(
            AuthInternalServicer(service, caller_info), server
        )

    wiring = Wiring(
        register=register,
        service_names=SERVICE_NAMES,
        authenticator=authenticator,
        readiness=lambda: database_ready(engine),
        background=background,
        closers=closers,
        service=service,
        parts={"outbox": worker, "keys": keys, "limiter": limiter, "sessions": sessions},
    )
    return wiring


# Who may ask about users and organizations: the services that show publishers' data.
PUBLISHING_PEERS = frozenset({"registry", "analytics"})

DEFINITION = ServiceDefinition(
    name="auth",
    settings_class=AuthSettings,
    migrations_dir=Path(__file__).parent / "migrations",
    build=build,
    internal_callers=internal_callers(
        "symphony.auth.v1.AuthInternalService",
        IntrospectToken=frozenset({"registry", "sync", "analytics"}),
        GetUser=PUBLISHING_PEERS,
        BatchGetUsers=PUBLISHING_PEERS,
        BatchGetOrganizations=PUBLISHING_PEERS,
        ListUserOrganizations=PUBLISHING_PEERS,
        GetOrganizationMembership=PUBLISHING_PEERS,
        RevokeLeakedToken=frozenset({"registry"}),
    ),
)
