"""Analytics (issue 6): ingest throughput against a bare COPY, the 30-day time series against
the same rollup SQL run bare and against computing it from raw events, and the service's
resident memory under sustained ingest.

Layout: the service (`python -m symphony_analytics serve`, a real process) is pinned to the
server core; the load generator is this process, pinned to the generator core while it sends,
with its CPU share reported; PostgreSQL is not pinned. Ingest is anonymous (no token); the
service's rate limits are raised for the run (the limiter still counts every batch, and settles
with Redis in the background).

(a) Ingest: batches of 500 fresh events, pre-serialised before timing, `INGEST_CONCURRENCY`
    batches in flight over one channel; every answer must accept all 500. Bare side: the
    identical rows, pre-encoded as COPY text, COPYed in the same batches of 500 (one
    transaction each, same concurrency, one connection per in-flight batch) into a copy of the
    events table layout (daily RANGE partitions, no index). Ratio = service / bare events per
    second; target ≥ 0.4. Diagnostics in the notes: the service's store path run bare, and a
    plain durable per-event dedupe (the rows COPYed and their ids COPYed into a copy of the
    dedupe table, one transaction), with how busy the machine was.
(b) Query: SYMPHONY_BENCH_EVENTS (default 10M) raw events over the 30 days before today,
    generated inside PostgreSQL straight into the daily partitions (bench/analytics_data.py),
    rollups built by the service's own `python -m symphony_analytics rebuild-rollups`. Then,
    interleaved per run: QueryTimeSeries (gRPC, c=1) against the exact SQL the repository issues
    for it (psycopg, c=1), and that against the same figures from raw events. Targets: median
    ≤ 1.5 × bare; raw ≥ 20 × slower than the RPC.
(c) RSS: the service's resident memory sampled every 100 ms during (a); target < 256 MB.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import threading
import time
from collections.abc import Awaitable, Callable
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import psycopg

from bench import analytics_data as data
from bench.context import BenchContext
from bench.harness import PYTHON, ROOT, RUNS, Row, free_port, process, rss_mb
from symphony.analytics.v1 import analytics_service_pb2 as spb
from symphony.analytics.v1 import analytics_service_pb2_grpc
from symphony.analytics.v1 import resources_pb2 as rpb

BATCH = 500
INGEST_EVENTS = int(os.environ.get("SYMPHONY_BENCH_INGEST_EVENTS", "50000"))
INGEST_CONCURRENCY = int(os.environ.get("SYMPHONY_BENCH_INGEST_CONCURRENCY", "4"))
QUERY_SAMPLES = int(os.environ.get("SYMPHONY_BENCH_QUERY_SAMPLES", "40"))
RAW_SAMPLES = int(os.environ.get("SYMPHONY_BENCH_RAW_SAMPLES", "3"))
RSS_LIMIT_MB = 256.0
QUERY_EVENT = "command_executed"
INGEST_PATH = "/symphony.analytics.v1.AnalyticsService/BatchIngestEvents"
SERVICE_ENV = {
    "SYMPHONY_ANALYTICS_INSTALL_EVENTS_PER_MINUTE": str(10**9),
    "SYMPHONY_ANALYTICS_ADDRESS_EVENTS_PER_MINUTE": str(10**9),
    "SYMPHONY_ANALYTICS_ADDRESS_QUERIES_PER_MINUTE": str(10**9),
    "SYMPHONY_SERVICE_TOKEN": "bench-service-token",
    "SYMPHONY_LOG_LEVEL": "WARNING",
}


# --- process plumbing ------------------------------------------------------------------------


def _env(ctx: BenchContext) -> dict[str, str]:
    return {**SERVICE_ENV, "DATABASE_URL": ctx.database_url, "REDIS_URL": ctx.redis_url}


def _migrate(ctx: BenchContext) -> None:
    subprocess.run(
        [PYTHON, "-m", "symphony_analytics", "migrate"],
        env={**os.environ, **_env(ctx)},
        cwd=ROOT,
        check=True,
        capture_output=True,
    )


@contextmanager
def _service(ctx: BenchContext):  # type: ignore[no-untyped-def]
    port = free_port()
    ctx.logs.mkdir(parents=True, exist_ok=True)
    with process(
        [PYTHON, "-m", "symphony_analytics", "serve"],
        env={**_env(ctx), "SYMPHONY_ANALYTICS_GRPC_PORT": str(port)},
        core=ctx.server_core,
        port=port,
        log=ctx.logs / "analytics.log",
    ) as proc:
        yield proc, f"127.0.0.1:{port}"


@contextmanager
def _pinned(core: int | None):  # type: ignore[no-untyped-def]
    """Run the generator (this process) on its core for the duration; CPU share measured."""
    before = os.sched_getaffinity(0)
    if core is not None and len(before) > 1:
        os.sched_setaffinity(0, {core})
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


class RssSampler:
    def __init__(self, pid: int, every: float = 0.1) -> None:
        self.pid, self.every, self.samples = pid, every, []  # type: ignore[var-annotated]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.samples.append(rss_mb(self.pid))

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


# --- (a) ingest -------------------------------------------------------------------------------


def _timed(work: Callable[[], None]) -> tuple[float, float]:
    """(wall seconds, generator CPU share of one core) of `work` in this process."""
    cpu, wall = time.process_time(), time.perf_counter()
    work()
    wall = time.perf_counter() - wall
    return wall, (time.process_time() - cpu) / wall


async def _timed_workers(worker: Callable[[], Awaitable[None]]) -> tuple[float, float]:
    """`_timed` of INGEST_CONCURRENCY `worker`s run together on this event loop."""
    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(INGEST_CONCURRENCY)))
    wall = time.perf_counter() - wall
    return wall, (time.process_time() - cpu) / wall


def ingest_rate(address: str, batches: list[data.Batch]) -> tuple[float, float]:
    """Events/s through BatchIngestEvents; every batch must be accepted whole. The channel is
    connected before timing, as the bare sides open their connections before theirs."""

    async def go() -> tuple[float, float]:
        async with grpc.aio.insecure_channel(address) as channel:
            await channel.channel_ready()
            call = channel.unary_unary(
                INGEST_PATH,
                request_serializer=lambda b: b,
                response_deserializer=spb.BatchIngestEventsResponse.FromString,
            )
            queue = list(reversed(batches))

            async def worker() -> None:
                while queue:
                    batch = queue.pop()
                    answer = await call(batch.request, timeout=60)
                    if answer.accepted_count != batch.events:
                        raise RuntimeError(f"ingest accepted {answer.accepted_count}: {answer}")

            return await _timed_workers(worker)

    wall, cpu = asyncio.run(go())
    return sum(b.events for b in batches) / wall, cpu


ROWS_COPY = (
    "COPY public.bare_events (event_id, name, event_time, receive_time, install_id,"
    " session_id, editor_version, platform, properties, schema_version) FROM STDIN"
)
IDS_COPY = "COPY public.bare_events_ids (install_id, event_id, receive_time) FROM STDIN"


def _machine_ticks() -> tuple[int, int]:
    """(busy, total) CPU ticks of the whole machine so far, from /proc/stat."""
    with open("/proc/stat") as stat:
        ticks = [int(t) for t in stat.readline().split()[1:]]
    idle = ticks[3] + ticks[4]  # idle + iowait
    return sum(ticks) - idle, sum(ticks)


def _drain(
    database_url: str,
    work: list[Any],
    step: Callable[[int, psycopg.Connection, Any], None],
    *,
    autocommit: bool = False,
) -> tuple[float, float, float]:
    """Runs `step(worker, connection, item)` over `work` from INGEST_CONCURRENCY threads, one
    connection each: (wall seconds, this process's CPU share, the machine's busy share)."""
    conns = [
        psycopg.connect(database_url, autocommit=autocommit) for _ in range(INGEST_CONCURRENCY)
    ]
    queue = list(reversed(work))
    lock = threading.Lock()

    def worker(n: int, conn: psycopg.Connection) -> None:
        while True:
            with lock:
                if not queue:
                    return
                item = queue.pop()
            step(n, conn, item)

    def go() -> None:
        threads = [threading.Thread(target=worker, args=(n, c)) for n, c in enumerate(conns)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    busy, total = _machine_ticks()
    try:
        wall, cpu = _timed(go)
    finally:
        for conn in conns:
            conn.close()
    after_busy, after_total = _machine_ticks()
    return wall, cpu, (after_busy - busy) / max(1, after_total - total)


def copy_rate(database_url: str, batches: list[data.Batch]) -> tuple[float, float]:
    """Events/s of a bare COPY of the same rows, same batches, same concurrency."""

    def step(_n: int, conn: psycopg.Connection, batch: data.Batch) -> None:
        with conn.transaction(), conn.cursor().copy(ROWS_COPY) as copy:
            copy.write(batch.copy_text)

    wall, cpu, _ = _drain(database_url, batches, step)
    return sum(b.events for b in batches) / wall, cpu


def dedupe_bound_rate(database_url: str, batches: list[data.Batch]) -> tuple[float, float]:
    """Diagnostic: a durable per-event dedupe at its plainest: the same rows COPYed as in
    `copy_rate`, plus their (fresh) ids COPYed as text into a copy of the dedupe table, in the
    same transaction: no conflict handling, rollups, counters, validation or gRPC. (The
    service's store path, binary arrays in one statement, now does better than this.)
    Returns (events/s, the machine's busy share meanwhile: what is left for a service)."""
    work = []
    for batch in batches:  # before timing
        fields = [line.split(b"\t") for line in batch.copy_text.splitlines()]
        ids = b"".join(f[4] + b"\t" + f[0] + b"\t" + f[3] + b"\n" for f in fields)
        work.append((batch.copy_text, ids))

    def step(_n: int, conn: psycopg.Connection, item: tuple[bytes, bytes]) -> None:
        row_text, id_text = item
        with conn.transaction():
            with conn.cursor().copy(IDS_COPY) as copy:
                copy.write(id_text)
            with conn.cursor().copy(ROWS_COPY) as copy:
                copy.write(row_text)

    wall, _, busy = _drain(database_url, work, step)
    return sum(b.events for b in batches) / wall, busy


def _stored_events(batch: data.Batch) -> list[Any]:
    """The batch's rows as the service's validated events (from its COPY text)."""
    from symphony_analytics.domain.models import StoredEvent

    out = []
    for line in batch.copy_text.decode().splitlines():
        f = line.split("\t")
        out.append(
            StoredEvent(
                f[0],
                f[1],
                datetime.fromisoformat(f[2]),
                datetime.fromisoformat(f[3]),
                f[4],
                f[5],
                f[6],
                f[7],
                json.loads(f[8]),
                int(f[9]),
            )
        )
    return out


def sql_pipeline_rate(database_url: str, batches: list[data.Batch]) -> tuple[float, float]:
    """Diagnostic: the service's own store path run bare, i.e. the service without gRPC,
    validation and parameter encoding (`staging.stage`, done before timing): per batch one
    `SqlIngestUnitOfWork` on a psycopg pool, a single-statement unit as the service runs a
    batch without rejections, and `SqlEventRepository.store_staged` (repository.py: the
    plain-insert statement for new ids, the deduping one when a batch meets a known id); same
    rows and concurrency as the other sides. The rollups themselves are folded in the
    background, outside the ingest transaction, as in the service. Returns (events/s, this
    process's CPU share of one core)."""
    from symphony_analytics.db.staging import stage
    from symphony_analytics.db.unit_of_work import SqlIngestUnitOfWork
    from symphony_common.db.driver import create_pool

    work = [(stage(e), len(e)) for e in map(_stored_events, batches)]
    bucket = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)

    async def drain() -> tuple[float, float]:
        pool = create_pool(
            database_url,
            application_name="bench-analytics-sql",
            pool_size=INGEST_CONCURRENCY,
            max_overflow=0,
            pool_timeout=30,
        )
        await pool.open(wait=True)
        queue = list(reversed(work))

        async def worker() -> None:
            while queue:
                staged, count = queue.pop()
                async with SqlIngestUnitOfWork(pool, single_statement=True) as uow:
                    result = await uow.events.store_staged(staged, count, bucket, 0)
                    await uow.commit()
                if result.accepted != count:
                    raise RuntimeError(f"the store path accepted {result.accepted} of {count}")

        try:
            return await _timed_workers(worker)
        finally:
            await pool.close()

    wall, cpu = asyncio.run(drain())
    return sum(b.events for b in batches) / wall, cpu


def measure_ingest(ctx: BenchContext, proc: subprocess.Popen[bytes], address: str) -> list[Row]:
    n_batches = max(1, INGEST_EVENTS // BATCH)
    data.create_bare_events(ctx.database_url)
    service, bare, pipeline, bound, gen_cpu, rss = [], [], [], [], [], []
    idle_rss = rss_mb(proc.pid)
    warm = data.ingest_batches(4, BATCH, seed=999)
    ingest_rate(address, warm)
    copy_rate(ctx.database_url, warm)
    for run in range(RUNS):
        batches = data.ingest_batches(n_batches, BATCH, seed=run)
        with _pinned(ctx.generator_core):
            rate, cpu = copy_rate(ctx.database_url, batches)
            bare.append(rate)
            gen_cpu.append(cpu)
            with RssSampler(proc.pid) as sampler:
                rate, cpu = ingest_rate(address, batches)
            service.append(rate)
            gen_cpu.append(cpu)
            rss.extend(sampler.samples)
            fresh = data.ingest_batches(n_batches, BATCH, seed=1000 + run)
            pipeline.append(sql_pipeline_rate(ctx.database_url, fresh)[0])
            fresh = data.ingest_batches(n_batches, BATCH, seed=2000 + run)
            bound.append(dedupe_bound_rate(ctx.database_url, fresh))
    ours, theirs = statistics.median(service), statistics.median(bare)
    ratio = ours / theirs if theirs else 0.0
    notes = [
        f"generator cpu {max(gen_cpu):.0%} of a core",
        f"{n_batches} batches × {BATCH} per run, {INGEST_CONCURRENCY} in flight; runs: "
        + ", ".join(f"{s:,.0f}/{b:,.0f}" for s, b in zip(service, bare, strict=True)),
    ]
    if max(gen_cpu) > 0.9:
        notes.append("GENERATOR SATURATED: ratio not meaningful")
    sql_only = statistics.median(pipeline)
    notes.append(
        f"the service's ingest SQL run bare (its store path, no gRPC/validation/encoding):"
        f" {sql_only:,.0f} events/s ="
        f" {sql_only / theirs:.2f}× COPY; service = {ours / sql_only:.2f}× its own SQL"
    )
    least = statistics.median(rate for rate, _ in bound)
    notes.append(
        f"a plain durable dedupe (COPY rows + COPY ids into the dedupe table):"
        f" {least:,.0f} events/s = {least / theirs:.2f}× COPY, the machine"
        f" {max(busy for _, busy in bound):.0%} busy meanwhile"
    )
    peak = max(rss) if rss else rss_mb(proc.pid)
    return [
        Row(
            "analytics",
            f"ingest batches of {BATCH}, c={INGEST_CONCURRENCY} vs bare COPY",
            ours,
            theirs,
            ratio,
            "≥ 0.4",
            ratio >= 0.4,
            "events/s",
            notes,
        ),
        Row(
            "analytics",
            "service RSS under sustained ingest (peak)",
            peak,
            RSS_LIMIT_MB,
            peak / RSS_LIMIT_MB,
            "< 256 MB",
            peak < RSS_LIMIT_MB,
            "MB",
            [f"idle {idle_rss:.0f} MB before ingest; {len(rss)} samples every 100 ms"],
        ),
    ]


# --- (b) 30-day time series ---------------------------------------------------------------------


def load_and_rebuild(ctx: BenchContext, events: int) -> dict[str, float]:
    timings = data.bulk_load(ctx.database_url, events)
    started = time.perf_counter()
    result = subprocess.run(
        [PYTHON, "-m", "symphony_analytics", "rebuild-rollups", "--days", "31"],
        env={**os.environ, **_env(ctx)},
        cwd=ROOT,
        check=False,
        capture_output=True,
    )
    if result.returncode:
        raise RuntimeError(f"rebuild-rollups failed: {result.stderr.decode()[-800:]}")
    timings["rebuild_rollups_s"] = time.perf_counter() - started
    timings["vacuum_rollups_s"] = data.vacuum_rollups(ctx.database_url)
    return timings


# The SQL SqlQueryRepository issues for QueryTimeSeries (interval day); keep in step with
# services/analytics/src/symphony_analytics/db/repository.py.
BARE_BUCKETS = """SELECT day, '', sum(event_count), count(DISTINCT install_id)
FROM analytics.activity_daily
WHERE event = %(event)s AND day >= %(start)s AND day < %(end)s GROUP BY 1, 2"""
BARE_GROUP_TOTALS = """SELECT platform, sum(event_count), count(DISTINCT install_id)
FROM analytics.activity_daily
WHERE event = %(event)s AND day >= %(start)s AND day < %(end)s GROUP BY 1"""
BARE_GROUP_BUCKETS = """SELECT day, CASE WHEN platform = ANY(%(groups)s) THEN platform ELSE '' END,
       sum(event_count), count(DISTINCT install_id)
FROM analytics.activity_daily
WHERE event = %(event)s AND day >= %(start)s AND day < %(end)s GROUP BY 1, 2"""


def _latencies(call: Callable[[], object], samples: int, warmup: int = 3) -> list[float]:
    for _ in range(warmup):
        call()
    out = []
    for _ in range(samples):
        t0 = time.perf_counter()
        call()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def _paired(
    first: Callable[[], object], second: Callable[[], object], samples: int, warmup: int = 3
) -> tuple[float, float]:
    """Median latency (ms) of two calls measured alternately, so both see the same cache state
    and the same machine load."""
    for _ in range(warmup):
        first()
        second()
    a, b = [], []
    for _ in range(samples):
        t0 = time.perf_counter()
        first()
        t1 = time.perf_counter()
        second()
        t2 = time.perf_counter()
        a.append((t1 - t0) * 1000)
        b.append((t2 - t1) * 1000)
    return statistics.median(a), statistics.median(b)


def measure_queries(
    ctx: BenchContext, address: str, events: int, timings: dict[str, float]
) -> list[Row]:
    end = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start = end - timedelta(days=30)
    channel = grpc.insecure_channel(address)
    stub = analytics_service_pb2_grpc.AnalyticsServiceStub(channel)
    request = spb.QueryTimeSeriesRequest(event=QUERY_EVENT, interval=rpb.INTERVAL_DAY)
    request.start_time.FromDatetime(start)
    request.end_time.FromDatetime(end)
    grouped = spb.QueryTimeSeriesRequest()
    grouped.CopyFrom(request)
    grouped.group_by = "platform"
    params = {"event": QUERY_EVENT, "start": start, "end": end}

    # Sanity: the RPC, the bare rollup SQL and the raw recount agree.
    answer = stub.QueryTimeSeries(request, timeout=120)
    rpc_points = [(p.event_count, p.install_count) for p in answer.series[0].points]
    raw = data.raw_series(ctx.database_url, QUERY_EVENT, start, end)
    if rpc_points != [(int(r[1]), int(r[2])) for r in raw]:
        raise RuntimeError(f"rollup figures differ from raw: {rpc_points[:3]} vs {raw[:3]}")
    groups = [
        s.group for s in stub.QueryTimeSeries(grouped, timeout=120).series if s.group != "other"
    ]

    # Unprepared, as psql runs it: with psycopg's default prepare_threshold the sixth call on
    # switches PostgreSQL to a generic plan that is several times slower for this query.
    conn = psycopg.connect(ctx.database_url, autocommit=True, prepare_threshold=None)

    def bare() -> None:
        conn.execute(BARE_BUCKETS, params).fetchall()

    def bare_grouped() -> None:
        conn.execute(BARE_GROUP_TOTALS, params).fetchall()
        conn.execute(BARE_GROUP_BUCKETS, {**params, "groups": groups}).fetchall()

    def from_raw() -> None:
        conn.execute(data.RAW_SERIES, params).fetchall()

    rpc_ms, bare_ms, rpc_g_ms, bare_g_ms, raw_ms = [], [], [], [], []
    try:
        for _ in range(RUNS):
            a, b = _paired(bare, lambda: stub.QueryTimeSeries(request, timeout=60), QUERY_SAMPLES)
            bare_ms.append(a)
            rpc_ms.append(b)
            a, b = _paired(
                bare_grouped, lambda: stub.QueryTimeSeries(grouped, timeout=60), QUERY_SAMPLES
            )
            bare_g_ms.append(a)
            rpc_g_ms.append(b)
            raw_ms.append(statistics.median(_latencies(from_raw, RAW_SAMPLES, warmup=1)))
    finally:
        conn.close()
        channel.close()
    rpc, bare_m, rpc_g, bare_g, raw_m = (
        statistics.median(x) for x in (rpc_ms, bare_ms, rpc_g_ms, bare_g_ms, raw_ms)
    )
    load = (
        f"{events:,} events loaded in {timings['load_raw_s']:.0f} s (+ analyze "
        f"{timings['analyze_raw_s']:.0f} s), rollups rebuilt by the service in "
        f"{timings['rebuild_rollups_s']:.0f} s (+ vacuum {timings['vacuum_rollups_s']:.0f} s)"
    )
    return [
        Row(
            "analytics",
            f"30-day series over {events / 1e6:g}M events: RPC vs bare SQL",
            rpc,
            bare_m,
            rpc / bare_m,
            "≤ 1.5×",
            rpc / bare_m <= 1.5,
            "ms",
            [
                f"event {QUERY_EVENT}, interval day, c=1, {QUERY_SAMPLES} samples × {RUNS} runs",
                load,
            ],
        ),
        Row(
            "analytics",
            "30-day series grouped by platform: RPC vs bare SQL",
            rpc_g,
            bare_g,
            rpc_g / bare_g,
            "≤ 1.5×",
            rpc_g / bare_g <= 1.5,
            "ms",
            ["two statements (group totals, then buckets), as the repository issues them"],
        ),
        Row(
            "analytics",
            "30-day series: RPC vs recount from raw events",
            rpc,
            raw_m,
            raw_m / rpc,
            "≥ 20× faster",
            raw_m / rpc >= 20,
            "ms",
            [f"raw: {RAW_SAMPLES} samples × {RUNS} runs; ratio = raw / RPC"],
        ),
    ]


def run(ctx: BenchContext) -> list[Row]:
    _migrate(ctx)
    events = data.bench_events()
    rows: list[Row] = []
    with _service(ctx) as (proc, address):
        rows += measure_ingest(ctx, proc, address)
        timings = load_and_rebuild(ctx, events)
        rows += measure_queries(ctx, address, events, timings)
    return rows
