"""Gateway hop (issue 2): a REST GET through the gateway against the same Echo RPC called
directly over gRPC, same backend process, same run.

Targets: throughput ratio ≥ 0.6 at concurrency 32; added median latency ≤ 1 ms at
concurrency 1. Layout: the backend and the generator share one core in both measurements; the
gateway, as in a deployment where it has its own pods, gets the other core. A second row
measures the same with nothing pinned (gateway and backend competing for CPU) for comparison.
"""

from __future__ import annotations

import http.client

import grpc

from bench.context import BenchContext
from bench.harness import (
    PYTHON,
    RUNS,
    Measurement,
    Row,
    flag_generator,
    free_port,
    h2load,
    median_of,
    process,
    sequential_latency,
)
from bench.scenarios.baselines import grpc_echo_rps
from symphony.testing.v1 import echo_service_pb2, echo_service_pb2_grpc

CONCURRENCY = 32


def _gateway_rps(ctx: BenchContext, port: int) -> Measurement:
    return median_of(
        RUNS,
        lambda: h2load(
            f"http://127.0.0.1:{port}/v1/echo/hello",
            connections=CONCURRENCY,
            streams=1,
            h1=True,
            core=ctx.generator_core,
        ),
    )


def _latencies(address: str, gateway_port: int) -> tuple[Measurement, Measurement]:
    channel = grpc.insecure_channel(address)
    stub = echo_service_pb2_grpc.EchoServiceStub(channel)
    request = echo_service_pb2.EchoRequest(message="hello")
    direct = sequential_latency(lambda: stub.Echo(request, timeout=5))
    connection = http.client.HTTPConnection("127.0.0.1", gateway_port, timeout=5)

    def via_gateway() -> None:
        connection.request("GET", "/v1/echo/hello")
        response = connection.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"gateway answered {response.status}")

    hop = sequential_latency(via_gateway)
    connection.close()
    channel.close()
    return direct, hop


def _measure(
    ctx: BenchContext, *, pinned: bool
) -> tuple[Measurement, Measurement, Measurement, Measurement]:
    backend_core = ctx.generator_core if pinned else None
    gateway_core = ctx.server_core if pinned else None
    with ctx.bare_echo(backend_core) as address:
        direct = grpc_echo_rps(ctx, address, CONCURRENCY)
        port = free_port()
        env = {
            "SYMPHONY_GATEWAY_PORT": str(port),
            "SYMPHONY_TESTING_ADDRESS": address,
            "SYMPHONY_LOG_LEVEL": "WARNING",
        }
        with process(
            [PYTHON, "-m", "symphony_gateway", "serve"],
            env=env,
            core=gateway_core,
            port=port,
            log=ctx.logs / "gateway.log",
        ):
            via = _gateway_rps(ctx, port)
            lat_direct, lat_hop = _latencies(address, port)
    return direct, via, lat_direct, lat_hop


def run(ctx: BenchContext) -> list[Row]:
    rows = []
    for pinned in (True, False):
        direct, via, lat_direct, lat_hop = _measure(ctx, pinned=pinned)
        layout = "gateway on its own core" if pinned else "unpinned"
        ratio = via.rps / direct.rps if direct.rps else 0.0
        rows.append(
            Row(
                "gateway hop",
                f"throughput c=32 ({layout})",
                via.rps,
                direct.rps,
                ratio,
                "≥ 0.6",
                ratio >= 0.6,
                "req/s",
                flag_generator([direct, via]),
            )
        )
        added = lat_hop.p50_ms - lat_direct.p50_ms
        rows.append(
            Row(
                "gateway hop",
                f"added median latency c=1 ({layout})",
                lat_hop.p50_ms,
                lat_direct.p50_ms,
                round(added, 3),
                "≤ 1 ms added",
                added <= 1.0,
                "ms",
                [f"p95 {lat_hop.p95_ms:.2f} vs {lat_direct.p95_ms:.2f} ms"],
            )
        )
    return rows
