"""RG-4: with the scanner raising, timing out, or the database pool saturated during 50
concurrent uploads, no version is downloadable without a recorded PASSED result, and every
upload ends REJECTED, ERRORED or QUARANTINED, or completes after a retry."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator

import grpc
import psycopg
import pytest

from symphony.registry.v1 import registry_service_pb2 as spb
from symphony.registry.v1 import resources_pb2 as pb
from symphony_common.db import migrations
from symphony_registry.bootstrap import DEFINITION
from symphony_registry.domain.checks import BlocklistCheck, ScanContext
from symphony_registry.domain.models import Check, Finding
from tests.common.stack import _database_name, fresh_database
from tests.integration.registry.conftest import RegistryHarness, start_registry
from tests.integration.registry.vsix import build_vsix

UPLOADS = 50 if os.environ.get("SYMPHONY_TEST_TIER") != "nightly" else 200


class FlakyCheck:
    """Raises, hangs, or passes in turn; the behaviour is chosen per package by file name."""

    check = Check.SECRETS

    def __init__(self) -> None:
        self.calls = 0
        self.seen: set[str] = set()

    async def run(self, ctx: ScanContext) -> list[Finding]:
        self.calls += 1
        names = {e.path for e in ctx.entries}
        if "extension/raise" in names:
            raise RuntimeError("scanner crashed")
        if "extension/hang" in names:
            await asyncio.sleep(3600)
        if "extension/flaky" in names and ctx.location not in self.seen:
            self.seen.add(ctx.location)
            raise RuntimeError("transient")
        return []


@pytest.fixture(scope="module")
async def flaky_registry(
    admin_database_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[RegistryHarness]:
    with fresh_database(admin_database_url, _database_name("regfail")) as url:
        await asyncio.to_thread(
            migrations.upgrade, url, DEFINITION.schema, DEFINITION.migrations_dir
        )
        harness = await start_registry(
            url,
            redis_url,
            tmp_path_factory.mktemp("spool-fail"),
            checks=[BlocklistCheck(), FlakyCheck()],
            check_timeout_seconds=0.5,
            scan_max_attempts=3,
            db_pool_size=2,
            db_max_overflow=0,
            db_pool_timeout_seconds=1.0,
            worker_concurrency=2,
            cache_enabled=False,
            scan_lease_seconds=3.0,
        )
        try:
            yield harness
        finally:
            await harness.channel.close()
            await harness.running.stop(0.5)


def visible_without_pass(url: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute(
            """SELECT count(*) FROM registry.versions v WHERE v.scan_state = 4 AND NOT EXISTS (
                 SELECT 1 FROM registry.scans s WHERE s.version_id = v.id AND s.state = 4)"""
        ).fetchone()[0]


async def test_fail_closed_under_scanner_failures_and_a_saturated_pool(
    flaky_registry: RegistryHarness,
) -> None:
    reg = flaky_registry
    ns = await reg.namespace("owner")
    md = reg.token("owner")
    kinds = ["raise", "hang", "flaky", "ok"]

    async def one(i: int) -> tuple[str, str | None, grpc.StatusCode | None]:
        kind = kinds[i % len(kinds)]
        data = build_vsix(ns, f"ext{i}", "1.0.0", files={f"extension/{kind}": "x"})
        for _attempt in range(20):  # the client retries what the saturated pool refused
            try:
                response = await reg.upload(data, md)
                return kind, response.scan.name, None
            except grpc.aio.AioRpcError as error:
                if error.code() not in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.ABORTED):
                    return kind, None, error.code()
                await asyncio.sleep(0.1)
        return kind, None, grpc.StatusCode.UNAVAILABLE

    # Hold connections of the pool while uploads arrive.
    engine = reg.running.wiring.registry["engine"]  # type: ignore[attr-defined]

    async def hog() -> None:
        async with engine.connect() as conn:
            from sqlalchemy import text

            await conn.execute(text("SELECT pg_sleep(1.5)"))

    results = await asyncio.gather(hog(), *(one(i) for i in range(UPLOADS)))
    uploads = results[1:]
    assert all(code is None for _, _, code in uploads), [c for _, _, c in uploads if c]

    final: dict[str, int] = {}
    for kind, scan_name, _ in uploads:
        scan = await reg.wait_scan(scan_name, md, within=60)
        final[scan_name] = scan.state
        if kind in ("raise", "hang"):
            assert scan.state == pb.SCAN_STATE_ERRORED, (kind, scan)
            assert any(c.state == pb.CHECK_STATE_ERRORED for c in scan.checks)
        else:
            # Passed after a retry, or ERRORED when the saturated pool used up the attempts.
            assert scan.state in (pb.SCAN_STATE_PASSED, pb.SCAN_STATE_ERRORED), (kind, scan)
    # Nothing downloadable without a PASSED scan, checked from both sides.
    assert sum(state == pb.SCAN_STATE_PASSED for state in final.values()) >= UPLOADS // 4
    assert visible_without_pass(reg.settings.database_url) == 0
    for i, (_kind, scan_name, _) in enumerate(uploads):
        name = f"namespaces/{ns}/extensions/ext{i}/versions/1.0.0"
        if final[scan_name] != pb.SCAN_STATE_PASSED:
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await reg.download(name)
            assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    assert os.listdir(reg.spool_dir) == []


async def test_republishing_an_errored_version_retries(flaky_registry: RegistryHarness) -> None:
    reg = flaky_registry
    ns = await reg.namespace("owner")
    _, scan = await reg.publish(
        build_vsix(ns, "again", "1.0.0", files={"extension/raise": "x"}), "owner"
    )
    assert scan.state == pb.SCAN_STATE_ERRORED
    _, scan = await reg.publish(
        build_vsix(ns, "again", "1.0.0", files={"extension/fine": "x"}), "owner"
    )
    assert scan.state == pb.SCAN_STATE_PASSED
    got = await reg.stub.GetVersion(
        spb.GetVersionRequest(name=f"namespaces/{ns}/extensions/again/versions/1.0.0")
    )
    assert got.scan_state == pb.SCAN_STATE_PASSED


async def test_a_transient_check_failure_passes_after_retry(
    flaky_registry: RegistryHarness,
) -> None:
    reg = flaky_registry
    ns = await reg.namespace("owner")
    _, scan = await reg.publish(
        build_vsix(ns, "retry", "1.0.0", files={"extension/flaky": "x"}), "owner"
    )
    assert scan.state == pb.SCAN_STATE_PASSED
