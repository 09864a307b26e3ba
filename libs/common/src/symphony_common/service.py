"""What every service process shares: `python -m symphony_<svc> serve|migrate`.

A service provides its settings class, its schema and migrations folder, and a `build`
coroutine that wires its parts (its `bootstrap.py`) into a `Wiring`. Everything else — logging,
the interceptor chain, health, reflection, metrics, the signal-driven drain — happens here once.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

import grpc

from symphony_common.config import ServiceSettings
from symphony_common.grpc.interceptors import ServiceInterceptor
from symphony_common.grpc.server import (
    ReadinessCheck,
    ServiceRuntime,
    cancel_and_wait,
    create_server,
)
from symphony_common.logging import configure_logging
from symphony_common.tokens import Authenticator, JwksSource, PatIntrospect

log = logging.getLogger(__name__)

S = TypeVar("S", bound=ServiceSettings)


@dataclass
class Overrides:
    """Test seams: what a service would otherwise fetch from its peers. `extra` carries
    service-specific replacements (a fake clock, a peer stub) by name."""

    jwks_source: JwksSource | None = None
    introspect: PatIntrospect | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Wiring:
    """A service's parts, built by its bootstrap."""

    register: Callable[[grpc.aio.Server], None]
    service_names: Sequence[str]
    authenticator: Authenticator
    readiness: ReadinessCheck | None = None
    background: Sequence[Callable[[], Coroutine[Any, Any, None]]] = ()
    # Run when a graceful stop begins (see ServiceRuntime.on_drain).
    on_drain: Sequence[Callable[[], object]] = ()
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    # The service's use-case object and other named internals (a worker, a key store), so
    # tests and benchmarks can reach them without going through the wire.
    service: Any = None
    parts: dict[str, Any] = field(default_factory=dict)

    async def close(self) -> None:
        for closer in reversed(self.closers):
            with contextlib.suppress(Exception):
                await closer()


@dataclass
class ServiceDefinition(Generic[S]):
    name: str  # "auth"
    settings_class: type[S]
    migrations_dir: Path
    build: Callable[[S, Overrides], Awaitable[Wiring]]
    # Methods whose handlers range-check the Timestamps and Durations of their requests
    # themselves; the interceptor's whole-request check (`grpc.wellformed`) skips them.
    checks_own_times: frozenset[str] = frozenset()
    # Internal methods → the services allowed to call them; another named caller gets
    # PERMISSION_DENIED (SERVICE_NOT_ALLOWED).
    internal_callers: Mapping[str, frozenset[str]] = field(default_factory=dict)
    # Methods whose handlers receive the request's bytes and decode them themselves (with
    # `grpc.interceptors.decode_request`), e.g. to parse a hot request in one native pass.
    raw_requests: frozenset[str] = frozenset()

    @property
    def schema(self) -> str:
        return self.name

    @property
    def error_domain(self) -> str:
        return f"{self.name}.symphony.dev"


def internal_callers(service: str, **methods: frozenset[str]) -> dict[str, frozenset[str]]:
    """`ServiceDefinition.internal_callers` for the methods of `service` (its full name)."""
    return {f"/{service}/{method}": callers for method, callers in methods.items()}


@dataclass
class RunningService:
    runtime: ServiceRuntime
    wiring: Wiring
    tasks: list[asyncio.Task[None]]

    @property
    def port(self) -> int:
        return self.runtime.port

    async def stop(self, grace: float = 1.0) -> None:
        await cancel_and_wait(self.tasks)
        await self.runtime.stop(grace)
        await self.wiring.close()


async def start_service(
    definition: ServiceDefinition[S],
    settings: S,
    *,
    port: int | None = None,
    overrides: Overrides | None = None,
) -> RunningService:
    """Build and start a service in this event loop (used by `serve` and by tests, which pass
    `port=0` and their overrides)."""
    wiring = await definition.build(settings, overrides or Overrides())
    interceptor = ServiceInterceptor(
        definition.error_domain,
        wiring.authenticator,
        definition.name,
        checks_own_times=definition.checks_own_times,
        internal_callers=definition.internal_callers,
        raw_requests=definition.raw_requests,
    )
    runtime = create_server(
        settings,
        register=wiring.register,
        service_names=wiring.service_names,
        service_interceptor=interceptor,
        interceptors=tracing_interceptors() if settings.tracing else [],
        readiness=wiring.readiness,
        port=port,
    )
    runtime.on_drain = wiring.on_drain
    await runtime.start()
    tasks = [asyncio.create_task(job()) for job in wiring.background]
    return RunningService(runtime, wiring, tasks)


def tracing_interceptors() -> list[grpc.aio.ServerInterceptor]:
    """OpenTelemetry server spans; `traceparent` from the caller becomes the parent span."""
    from opentelemetry import trace
    from opentelemetry.instrumentation.grpc import aio_server_interceptor
    from opentelemetry.sdk.trace import TracerProvider

    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        trace.set_tracer_provider(TracerProvider())
    return [aio_server_interceptor()]


async def _serve(definition: ServiceDefinition[S], settings: S) -> None:
    if settings.metrics_port:
        from prometheus_client import start_http_server

        start_http_server(settings.metrics_port, addr=settings.bind)
    running = await start_service(definition, settings)
    try:
        await running.runtime.serve_until_signal(settings.shutdown_grace_seconds)
    finally:
        for task in running.tasks:
            task.cancel()
        await running.wiring.close()


def main(definition: ServiceDefinition[S], argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=f"symphony-{definition.name}")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="serve gRPC until SIGTERM, then drain")
    migrate = sub.add_parser("migrate", help="upgrade (or downgrade) the service's schema")
    migrate.add_argument("--revision", default="head")
    migrate.add_argument("--downgrade", action="store_true")
    args = parser.parse_args(argv)

    settings = definition.settings_class()
    configure_logging(definition.name, settings.log_level)
    if args.command == "migrate":
        from symphony_common.db import migrations  # alembic (and mako) only for migrations

        run = migrations.downgrade if args.downgrade else migrations.upgrade
        revision = args.revision if not (args.downgrade and args.revision == "head") else "base"
        run(settings.database_url, definition.schema, definition.migrations_dir, revision)
        log.info("migrated", extra={"schema": definition.schema, "revision": revision})
        return 0
    try:
        import uvloop

        uvloop.run(_serve(definition, settings))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(2)
