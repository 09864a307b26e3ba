"""The bare baselines every ratio is measured against, reported on their own too: a bare
`grpc.aio` echo (h2load, concurrency 32), a bare COPY, a bare primary-key SELECT."""

from __future__ import annotations

import time

import psycopg

from bench.context import BenchContext
from bench.harness import RUNS, Measurement, Row, grpc_frame, h2load, median_of
from symphony.testing.v1 import echo_service_pb2

ECHO_PATH = "/symphony.testing.v1.EchoService/Echo"
GRPC_HEADERS = ("content-type: application/grpc", "te: trailers")


def echo_body() -> bytes:
    return echo_service_pb2.EchoRequest(message="hello").SerializeToString()


def grpc_echo_rps(ctx: BenchContext, address: str, concurrency: int = 32) -> Measurement:
    """Throughput of Echo over gRPC at `concurrency` in-flight calls (4 connections)."""
    body = grpc_frame(echo_body())
    connections = min(4, concurrency)
    return median_of(
        RUNS,
        lambda: h2load(
            f"http://{address}{ECHO_PATH}",
            connections=connections,
            streams=concurrency // connections,
            body=body,
            headers=GRPC_HEADERS,
            core=ctx.generator_core,
        ),
    )


def copy_rows_per_second(database_url: str, rows: int = 200_000) -> float:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_copy")
        conn.execute(
            "CREATE UNLOGGED TABLE bench_copy (id bigint, name text, value double precision)"
        )
        started = time.perf_counter()
        with conn.cursor().copy("COPY bench_copy (id, name, value) FROM STDIN") as copy:
            for i in range(rows):
                copy.write_row((i, f"name-{i}", i * 0.5))
        elapsed = time.perf_counter() - started
        conn.execute("DROP TABLE bench_copy")
    return rows / elapsed


def pk_selects_per_second(database_url: str, queries: int = 5000) -> float:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_pk")
        conn.execute("CREATE TABLE bench_pk (id bigint PRIMARY KEY, name text)")
        conn.execute("INSERT INTO bench_pk SELECT g, 'n' || g FROM generate_series(1, 10000) g")
        cur = conn.cursor()
        started = time.perf_counter()
        for i in range(queries):
            cur.execute("SELECT id, name FROM bench_pk WHERE id = %s", ((i % 10000) + 1,))
            cur.fetchone()
        elapsed = time.perf_counter() - started
        conn.execute("DROP TABLE bench_pk")
    return queries / elapsed


def run(ctx: BenchContext) -> list[Row]:
    with ctx.bare_echo(ctx.server_core) as address:
        echo = grpc_echo_rps(ctx, address)
    copy = sorted(copy_rows_per_second(ctx.database_url) for _ in range(RUNS))[RUNS // 2]
    select = sorted(pk_selects_per_second(ctx.database_url) for _ in range(RUNS))[RUNS // 2]
    return [
        Row(
            "baseline",
            "bare grpc.aio echo, c=32",
            echo.rps,
            echo.rps,
            1.0,
            "reference",
            True,
            "req/s",
            [f"generator cpu {echo.generator_cpu:.0%}"],
        ),
        Row("baseline", "bare COPY", copy, copy, 1.0, "reference", True, "rows/s"),
        Row("baseline", "bare PK SELECT, c=1", select, select, 1.0, "reference", True, "queries/s"),
    ]
