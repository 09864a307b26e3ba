"""AN-1 (at-least-once + dedupe under faults) and AN-2 (backpressure: never ack then drop).

The service runs as a real process against a PostgreSQL of this test's own, which the test
crashes with `pg_ctl stop -m immediate`; the service is killed with SIGKILL. The client is the
editor's real `AnalyticsBuffer`, which resends un-acknowledged batches with the same ids."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import grpc
import psutil
import psycopg
import pytest
import pytest_asyncio

from symphony.analytics.v1 import analytics_service_pb2, analytics_service_pb2_grpc
from symphony_analytics.bootstrap import DEFINITION
from symphony_client.analytics import AnalyticsBuffer
from symphony_client.config import ClientConfig
from symphony_common.db import migrations
from tests.integration.analytics.private_pg import (
    PrivatePostgres,
    create_private_postgres,
    destroy,
    free_port,
)
from tests.integration.analytics.test_queries import recount

NIGHTLY = os.environ.get("SYMPHONY_TEST_TIER") == "nightly"
EVENTS = 200_000 if NIGHTLY else 20_000
BATCH = 500
ROOT = Path(__file__).resolve().parents[3]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def private_pg() -> Iterator[PrivatePostgres]:
    pg = create_private_postgres()
    try:
        migrations.upgrade(pg.url, DEFINITION.schema, DEFINITION.migrations_dir)
        yield pg
    finally:
        destroy(pg)


class ServiceProcess:
    def __init__(self, database_url: str, redis_url: str, log: Path) -> None:
        self.port = free_port()
        self.log = log
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "SYMPHONY_ANALYTICS_GRPC_PORT": str(self.port),
            "SYMPHONY_SERVICE_TOKEN": "an1-token",
            "SYMPHONY_ANALYTICS_INSTALL_EVENTS_PER_MINUTE": "100000000",
            "SYMPHONY_ANALYTICS_ADDRESS_EVENTS_PER_MINUTE": "100000000",
            "SYMPHONY_ANALYTICS_DB_POOL_TIMEOUT_SECONDS": "2",
            # Fold often, so crashes land between ingest and fold and in the middle of folds.
            "SYMPHONY_ANALYTICS_ROLLUP_FOLD_INTERVAL_SECONDS": "0.2",
            "SYMPHONY_LOG_LEVEL": "WARNING",
        }
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "symphony_analytics", "serve"],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
            )

    async def wait_ready(self, within: float = 60) -> None:
        deadline = time.monotonic() + within
        while True:
            # A fresh channel each time: a channel that saw the port closed backs off for seconds.
            async with grpc.aio.insecure_channel(self.address) as channel:
                stub = analytics_service_pb2_grpc.AnalyticsServiceStub(channel)
                try:
                    await stub.GetEventSchema(
                        analytics_service_pb2.GetEventSchemaRequest(), timeout=1
                    )
                    return
                except grpc.aio.AioRpcError:
                    if time.monotonic() > deadline:
                        raise AssertionError(
                            f"analytics did not start:\n{self.log.read_text()[-3000:]}"
                        ) from None
            await asyncio.sleep(0.1)

    def kill9(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def rss_mb(self) -> float:
        assert self.proc is not None
        return psutil.Process(self.proc.pid).memory_info().rss / 2**20

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


@pytest_asyncio.fixture(scope="module")
async def service(
    private_pg: PrivatePostgres, redis_url: str, tmp_path_factory
) -> AsyncIterator[ServiceProcess]:
    proc = ServiceProcess(private_pg.url, redis_url, tmp_path_factory.mktemp("an1") / "service.log")
    proc.start()
    try:
        await proc.wait_ready()
        yield proc
    finally:
        proc.stop()


def stored(pg: PrivatePostgres) -> tuple[int, set[str]]:
    with psycopg.connect(pg.url) as conn:
        rows = conn.execute("SELECT event_id::text FROM analytics.events").fetchall()
    return len(rows), {r[0] for r in rows}


def make_buffer(tmp: Path, address: str) -> AnalyticsBuffer:
    return AnalyticsBuffer(
        ClientConfig(analytics_address=address, home=tmp),
        editor_version="1.2.3",
        platform="linux-x64",
        batch_events=BATCH,
        max_pending=EVENTS,  # the nightly tier sends more than the default bound holds
    )


async def test_an1_no_loss_no_duplicates_under_database_crashes_and_service_kills(
    private_pg: PrivatePostgres, service: ServiceProcess, tmp_path: Path
) -> None:
    buffer = make_buffer(tmp_path, service.address)
    languages = ["python", "rust", "go", "typescript"]
    ids = buffer.record_many(
        [("file_opened", {"language": languages[i % 4]}) for i in range(EVENTS)]
    )
    assert len(set(ids)) == EVENTS == buffer.pending_count()

    faults = ["pg", "kill", "pg", "kill", "pg", "kill"]
    thresholds = [EVENTS * (i + 1) // (len(faults) + 1) for i in range(len(faults))]
    injected: list[str] = []
    errors: list[str] = []

    async def inject() -> None:
        for fault, threshold in zip(faults, thresholds, strict=True):
            while EVENTS - buffer.pending_count() < threshold:  # noqa: ASYNC110 - polls a file
                await asyncio.sleep(0.01)
            if fault == "pg":
                await asyncio.to_thread(private_pg.stop_immediate)
                await asyncio.sleep(0.5)
                await asyncio.to_thread(private_pg.start)
            else:
                service.kill9()
                await asyncio.sleep(0.2)
                service.start()
                await service.wait_ready()
            injected.append(fault)

    async def deliver() -> None:
        deadline = time.monotonic() + (1800 if NIGHTLY else 240)
        while buffer.pending_count():
            assert time.monotonic() < deadline, "delivery did not finish"
            result = await buffer.flush(max_batches=1)
            if result.error:
                errors.append(result.error)
                await asyncio.sleep(0.1)

    injector = asyncio.create_task(inject())
    await deliver()
    await asyncio.wait_for(injector, 120)
    # Events may all be delivered before the last fault fires; then the injector still ran it.
    await buffer.flush()
    await buffer.aclose()

    assert injected == faults
    assert errors, "the faults were never observed by the client"
    count, distinct = stored(private_pg)
    assert count == EVENTS, (
        f"{count - len(distinct)} duplicate rows" if count > len(distinct) else "lost events"
    )
    assert distinct == set(ids)  # 0 lost, 0 duplicated
    with psycopg.connect(private_pg.url) as conn:
        folded = conn.execute("SELECT coalesce(sum(event_count), 0) FROM analytics.activity_daily")
        assert folded.fetchone()[0] > 0, "the service never folded its rollups"
    # What is still pending is folded by the CLI; the rollups then equal a recount.
    await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "symphony_analytics", "fold-rollups"],
        env=service.env,
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    hourly, stored_h, daily, stored_d = recount(private_pg.url)
    assert stored_h == hourly and stored_d == daily


async def test_an2_database_down_means_unavailable_never_an_ack(
    private_pg: PrivatePostgres, service: ServiceProcess, tmp_path: Path
) -> None:
    buffer = make_buffer(tmp_path, service.address)
    ids = buffer.record_many([("editor_started", {"first_run": False}) for _ in range(2_000)])
    before, _ = stored(private_pg)
    await asyncio.to_thread(private_pg.stop_immediate)
    try:
        codes = set()
        peak = 0.0
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline:
            result = await buffer.flush()
            assert result.sent == 0 and result.remaining == 2_000  # nothing acknowledged
            codes.add(result.error)
            peak = max(peak, service.rss_mb())
        assert codes <= {"UNAVAILABLE", "RESOURCE_EXHAUSTED"}, codes
        assert peak < 256, f"service RSS {peak:.0f} MB"
    finally:
        await asyncio.to_thread(private_pg.start)
    # The service recovers by itself; every buffered event then arrives exactly once.
    for _ in range(100):
        result = await buffer.flush()
        if not result.remaining:
            break
        await asyncio.sleep(0.2)
    await buffer.aclose()
    after, distinct = stored(private_pg)
    assert after - before == 2_000 and set(ids) <= distinct
