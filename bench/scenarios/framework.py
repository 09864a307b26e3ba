"""What the shared service framework costs per call: the echo service behind the services'
own bootstrap and interceptor chain (request id, access log, metrics, authentication, error
mapping, request decoding), with and without OpenTelemetry spans, against the bare `grpc.aio`
echo. Besides throughput it reports the server's CPU time per call, which is steadier than
requests per second on a shared machine. No issue sets a target; the figures explain the
services' own ratios and why span recording is opt-in (SYMPHONY_TRACING)."""

from __future__ import annotations

from bench.context import BenchContext
from bench.harness import (
    PYTHON,
    RUNS,
    SECONDS,
    Measurement,
    Row,
    cpu_seconds,
    flag_generator,
    free_port,
    grpc_frame,
    h2load,
    process,
)
from bench.scenarios.baselines import ECHO_PATH, GRPC_HEADERS, echo_body

VARIANTS = {
    "bare grpc.aio": ["-m", "bench.bare_echo"],
    "framework": ["-m", "bench.framework_echo", "--no-tracing"],
    "framework + tracing": ["-m", "bench.framework_echo"],
}


def _measure(ctx: BenchContext, args: list[str]) -> tuple[Measurement, float]:
    """Median throughput of RUNS runs and the server's CPU microseconds per call."""
    port = free_port()
    body = grpc_frame(echo_body())
    module, *flags = args[1:]
    url = f"http://127.0.0.1:{port}{ECHO_PATH}"
    with process(
        [PYTHON, "-m", module, str(port), *flags], core=ctx.server_core, port=port
    ) as proc:
        h2load(
            url,
            connections=4,
            streams=8,
            body=body,
            headers=GRPC_HEADERS,
            seconds=1,
            core=ctx.generator_core,
        )  # warm-up
        results = []
        for _ in range(RUNS):
            before = cpu_seconds(proc.pid)
            run = h2load(
                url,
                connections=4,
                streams=8,
                body=body,
                headers=GRPC_HEADERS,
                core=ctx.generator_core,
            )
            calls = run.rps * max(1, round(SECONDS))
            results.append((run, (cpu_seconds(proc.pid) - before) * 1e6 / max(calls, 1)))
    results.sort(key=lambda pair: pair[0].rps)
    return results[len(results) // 2]


def run(ctx: BenchContext) -> list[Row]:
    measured = {name: _measure(ctx, args) for name, args in VARIANTS.items()}
    bare, bare_cpu = measured["bare grpc.aio"]
    rows = []
    for name in ("framework", "framework + tracing"):
        result, cpu = measured[name]
        rows.append(
            Row(
                "framework",
                f"echo throughput c=32, {name}",
                result.rps,
                bare.rps,
                result.rps / bare.rps if bare.rps else 0.0,
                "information",
                True,
                "req/s",
                [
                    f"server cpu per call {cpu:.0f} µs vs bare {bare_cpu:.0f} µs",
                    *flag_generator([bare, result]),
                ],
            )
        )
    return rows
