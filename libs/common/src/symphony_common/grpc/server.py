"""`grpc.aio` server bootstrap: interceptors, health (readiness follows the database, liveness
does not), reflection, message-size limits, keepalive, and a graceful drain on SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer
from grpc_reflection.v1alpha import reflection

from symphony_common.config import ServiceSettings
from symphony_common.grpc.interceptors import ServiceInterceptor, WrappingRegistrar

log = logging.getLogger(__name__)

# The health service name kubelet's liveness probe asks for: SERVING while the process runs,
# whatever the database does (restarting a pod does not bring a database back).
LIVENESS = "liveness"

ReadinessCheck = Callable[[], Awaitable[bool]]


STOP_TASK_SECONDS = 5.0


async def cancel_and_wait(tasks: Sequence[asyncio.Task[Any]]) -> None:
    """Cancel background tasks and wait for them to end, but not forever: a task that swallows
    its cancellation (a library's wait_for racing it) must not stop the process from stopping."""
    for task in tasks:
        task.cancel()
    if not tasks:
        return
    _, pending = await asyncio.wait(tasks, timeout=STOP_TASK_SECONDS)
    for task in pending:
        log.warning("a background task ignored its cancellation", extra={"task": task.get_name()})


@dataclass
class ServiceRuntime:
    server: grpc.aio.Server
    port: int
    health: HealthServicer
    service_names: Sequence[str]
    readiness: ReadinessCheck | None = None
    readiness_interval: float = 2.0
    # Called when a drain begins, after health turned NOT_SERVING and before in-flight calls
    # get their grace: streams that never end by themselves finish here.
    on_drain: Sequence[Callable[[], object]] = ()
    _ready_task: asyncio.Task[None] | None = field(default=None, repr=False)

    async def start(self) -> None:
        await self.server.start()
        await self.health.set(LIVENESS, health_pb2.HealthCheckResponse.SERVING)
        await self._set_ready(await self._check())
        self._ready_task = asyncio.create_task(self._watch_readiness())

    async def _check(self) -> bool:
        if self.readiness is None:
            return True
        try:
            # asyncio.timeout, not wait_for: Python 3.11's wait_for can swallow a cancellation
            # that races the probe's completion, and stop() then waited on this loop forever.
            async with asyncio.timeout(self.readiness_interval):
                return await self.readiness()
        except Exception:  # any failure of the probe means "not ready"
            return False

    async def _set_ready(self, ready: bool) -> None:
        status = (
            health_pb2.HealthCheckResponse.SERVING
            if ready
            else health_pb2.HealthCheckResponse.NOT_SERVING
        )
        for name in ("", *self.service_names):
            await self.health.set(name, status)

    async def _watch_readiness(self) -> None:
        last: bool | None = None
        while True:
            ready = await self._check()
            if ready != last:
                await self._set_ready(ready)
                if last is not None:
                    log.warning("readiness changed", extra={"ready": ready})
                last = ready
            await asyncio.sleep(self.readiness_interval)

    async def stop(self, grace: float) -> None:
        """Stop taking traffic at once (health NOT_SERVING), let in-flight calls finish."""
        if self._ready_task is not None:
            await cancel_and_wait([self._ready_task])
        await self.health.enter_graceful_shutdown()
        for hook in self.on_drain:
            result = hook()
            if asyncio.iscoroutine(result):
                await result
        await self.server.stop(grace)

    async def serve_until_signal(self, grace: float) -> None:
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stopping.set)
        log.info("serving", extra={"port": self.port, "services": list(self.service_names)})
        await stopping.wait()
        log.info("draining", extra={"grace_seconds": grace})
        await self.stop(grace)


def server_options(settings: ServiceSettings) -> list[tuple[str, int]]:
    return [
        ("grpc.max_receive_message_length", settings.max_message_bytes),
        ("grpc.max_send_message_length", settings.max_message_bytes),
        # Headers up to 32 KiB reach the handlers, so an oversized bearer token is refused by
        # the token verifier (UNAUTHENTICATED) rather than by the transport.
        ("grpc.max_metadata_size", 32 * 1024),
        ("grpc.absolute_max_metadata_size", 64 * 1024),
        ("grpc.keepalive_time_ms", 30_000),
        ("grpc.keepalive_timeout_ms", 10_000),
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
        ("grpc.http2.max_pings_without_data", 0),
        ("grpc.so_reuseport", 0),
    ]


def create_server(
    settings: ServiceSettings,
    *,
    register: Callable[[grpc.aio.Server], None],
    service_names: Iterable[str],
    service_interceptor: ServiceInterceptor | None = None,
    interceptors: Sequence[grpc.aio.ServerInterceptor] = (),
    readiness: ReadinessCheck | None = None,
    port: int | None = None,
) -> ServiceRuntime:
    """Build (not start) a server. `register` adds the service's servicers, whose handlers
    `service_interceptor` wraps as they are registered (health and reflection stay bare);
    `interceptors` run around every call, outside it. `service_names` are the servicers' full
    names, published through health and reflection. `port=0` picks a free one."""
    names = list(service_names)
    server = grpc.aio.server(interceptors=list(interceptors), options=server_options(settings))
    register(
        server
        if service_interceptor is None
        else cast(grpc.aio.Server, WrappingRegistrar(server, service_interceptor))
    )
    health = HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health, server)
    reflection.enable_server_reflection(
        [
            *names,
            health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
            reflection.SERVICE_NAME,
        ],
        server,
    )
    bound = server.add_insecure_port(
        f"{settings.bind}:{settings.effective_grpc_port() if port is None else port}"
    )
    if bound == 0:
        raise RuntimeError(f"could not bind {settings.bind}")
    return ServiceRuntime(server, bound, health, names, readiness)
