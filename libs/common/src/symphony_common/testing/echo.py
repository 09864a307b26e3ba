"""The echo service (symphony.testing.v1.EchoService): the benchmarks' bare baseline and the
gateway's test target."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1.health import aio as health_aio  # type: ignore[attr-defined]
from grpc_status import rpc_status

from symphony.testing.v1 import echo_service_pb2, echo_service_pb2_grpc

DOMAIN = "testing.symphony.dev"
MAX_EXPAND = 10_000
# Codes that tell a client to come back later carry a RetryInfo, as the services' do.
_RETRYABLE = {code_pb2.UNAVAILABLE, code_pb2.RESOURCE_EXHAUSTED}
RETRY_DELAY_SECONDS = 3


def _invalid(message: str, field: str) -> status_pb2.Status:
    info = any_pb2.Any()
    info.Pack(error_details_pb2.ErrorInfo(reason="INVALID_ARGUMENT", domain=DOMAIN))
    violation = any_pb2.Any()
    violation.Pack(
        error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(field=field, description=message)
            ]
        )
    )
    return status_pb2.Status(
        code=code_pb2.INVALID_ARGUMENT, message=message, details=[info, violation]
    )


def failure_status(code: int) -> status_pb2.Status:
    """The status Echo fails with when `fail_with` is `code`."""
    info = any_pb2.Any()
    info.Pack(
        error_details_pb2.ErrorInfo(
            reason="ECHO_FAILURE", domain=DOMAIN, metadata={"code": code_pb2.Code.Name(code)}
        )
    )
    details = [info]
    if code in _RETRYABLE:
        retry = any_pb2.Any()
        retry.Pack(
            error_details_pb2.RetryInfo(
                retry_delay=duration_pb2.Duration(seconds=RETRY_DELAY_SECONDS)
            )
        )
        details.append(retry)
    return status_pb2.Status(
        code=code, message=f"Echo failed with {code_pb2.Code.Name(code)} as asked.", details=details
    )


class EchoServicer(echo_service_pb2_grpc.EchoServiceServicer):
    """Echo returns its request; Expand streams `count` echoes `interval` apart."""

    async def Echo(
        self, request: echo_service_pb2.EchoRequest, context: grpc.aio.ServicerContext
    ) -> echo_service_pb2.EchoResponse:
        if request.fail_with:
            if not code_pb2.CANCELLED <= request.fail_with <= code_pb2.UNAUTHENTICATED:
                status = _invalid("fail_with must be a google.rpc.Code from 1 to 16.", "fail_with")
            else:
                status = failure_status(request.fail_with)
            await context.abort_with_status(  # type: ignore[attr-defined]
                rpc_status.to_status(status)
            )
        return echo_service_pb2.EchoResponse(request=request)

    async def Expand(
        self, request: echo_service_pb2.ExpandRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[echo_service_pb2.EchoResponse]:
        if not 0 <= request.count <= MAX_EXPAND:
            await context.abort_with_status(  # type: ignore[attr-defined]
                rpc_status.to_status(_invalid(f"count must be 0..{MAX_EXPAND}.", "count"))
            )
        interval = request.interval.ToTimedelta().total_seconds()
        if interval < 0:
            await context.abort_with_status(  # type: ignore[attr-defined]
                rpc_status.to_status(_invalid("interval must not be negative.", "interval"))
            )
        for sequence in range(request.count):
            if sequence and interval:
                await asyncio.sleep(interval)
            yield echo_service_pb2.EchoResponse(
                request=echo_service_pb2.EchoRequest(message=request.message), sequence=sequence
            )


async def start_echo_server(port: int = 0) -> tuple[grpc.aio.Server, int]:
    """Start the echo service with health SERVING on 127.0.0.1; returns (server, port)."""
    server = grpc.aio.server()
    echo_service_pb2_grpc.add_EchoServiceServicer_to_server(EchoServicer(), server)
    health = health_aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health, server)
    bound = server.add_insecure_port(f"127.0.0.1:{port}")
    if not bound:
        raise OSError(f"cannot bind 127.0.0.1:{port}")
    await server.start()
    name = echo_service_pb2.DESCRIPTOR.services_by_name["EchoService"].full_name
    for service in ("", name):
        await health.set(service, health_pb2.HealthCheckResponse.SERVING)
    return server, bound
