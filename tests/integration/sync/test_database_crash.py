"""RELIABILITY SY-5, second half: `pg_ctl stop -m immediate` (a PostgreSQL crash: no checkpoint,
no clean shutdown, recovery from WAL on restart) during batches, on a PostgreSQL of this test's
own. After recovery: no acknowledged write missing, no partial batch visible.

The private server runs with `synchronous_commit=off` (the dev stack's speed setting); the sync
service turns it back on for its own sessions, since an acknowledged change must survive a
crash. pg_ctl runs through `runuser` when we are root: this process has gRPC threads, and
switching users in a forked child of a threaded process is unsafe."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import shutil
import subprocess
import uuid
from collections.abc import Iterator

import grpc
import pytest

from symphony.sync.v1 import sync_service_pb2
from symphony_common.devstack import PrivatePostgres, ensure_postgres
from symphony_common.testing.tokens import TestSigner
from tests.integration.sync.harness import Client, SyncServer, change, migrate
from tests.integration.sync.test_crash import BATCH, _Running, spawn

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="session")]

ITERATIONS = 10 if os.environ.get("SYMPHONY_TEST_TIER") == "nightly" else 3


@pytest.fixture(scope="module")
def private_postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivatePostgres]:
    server = ensure_postgres(tmp_path_factory.mktemp("sync-crash-pg"), database="sync_crash")
    try:
        yield server
    finally:
        server.release()


def _pg_ctl(pg: PrivatePostgres, *args: str) -> None:
    command = [str(pg.bin_dir / "pg_ctl"), "-D", str(pg.pgdata), *args]
    if pg.run_as and os.geteuid() == 0:
        command = [shutil.which("runuser") or "/usr/sbin/runuser", "-u", pg.run_as, "--", *command]
    subprocess.run(
        command,
        check=True,
        capture_output=True,
        cwd="/",
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        timeout=120,
    )


def crash(pg: PrivatePostgres) -> None:
    _pg_ctl(pg, "-m", "immediate", "-w", "stop")


def restart(pg: PrivatePostgres) -> None:
    # The options the dev stack starts it with (synchronous_commit=off included).
    options = (
        f"-p {pg.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' "
        "-c max_connections=300 -c synchronous_commit=off"
    )
    _pg_ctl(pg, "-l", str(pg.pgdata / "server.log"), "-w", "-t", "60", "-o", options, "start")


async def _until_pushes_succeed(client: Client, within: float = 60.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while True:
        try:
            await client.stub.Push(
                sync_service_pb2.PushRequest(
                    request_id=str(uuid.uuid4()), changes=[change("tasks", "probe", b"p")]
                ),
                metadata=client.metadata,
                timeout=5,
            )
            return
        except grpc.aio.AioRpcError as error:
            # A probe whose own deadline ran out while the service reconnected has not seen
            # it recover yet either; `within` still bounds the recovery.
            if error.code() not in (
                grpc.StatusCode.UNAVAILABLE,
                grpc.StatusCode.ABORTED,
                grpc.StatusCode.DEADLINE_EXCEEDED,
            ):
                raise
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError("the service did not recover") from error
            await asyncio.sleep(0.25)


async def test_sy5_postgres_crash_during_batches_loses_nothing_acknowledged(
    private_postgres: PrivatePostgres, redis_url: str
) -> None:
    url = private_postgres.url
    await migrate(url)
    signer = TestSigner()
    user = f"pgcrash-{random.randrange(1 << 30)}"
    acknowledged: set[str] = set()
    attempted: list[str] = []
    rng = random.Random(55)
    proc, port = await spawn(url, redis_url, signer)
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    client = Client(SyncServer(_Running(port), signer), channel, user=user)  # type: ignore[arg-type]
    try:
        for iteration in range(ITERATIONS):

            async def write(writer: int, iteration: int = iteration) -> None:
                for n in range(10_000):
                    batch = f"i{iteration}-w{writer}-b{n}"
                    attempted.append(batch)
                    await client.push(
                        *[change("tasks", f"{batch}/{p}", b"x" * 100) for p in range(BATCH)],
                        atomic=True,
                    )
                    acknowledged.add(batch)

            writers = [asyncio.create_task(write(w)) for w in range(3)]
            await asyncio.sleep(0.3 + rng.random())
            await asyncio.to_thread(crash, private_postgres)
            for task in writers:
                with contextlib.suppress(grpc.aio.AioRpcError):
                    await asyncio.wait_for(task, 60)
            await asyncio.to_thread(restart, private_postgres)
            await _until_pushes_succeed(client)

        items, _ = await client.pull_all()
    finally:
        await channel.close()
        proc.kill()
        await proc.wait()
    counts: dict[str, int] = {}
    for item in items:
        if item.key == "probe":
            continue
        batch = item.key.split("/")[0]
        counts[batch] = counts.get(batch, 0) + 1
    assert acknowledged, "no batch was acknowledged before the crashes"
    assert len(acknowledged) < len(attempted), "no crash landed during a batch"
    assert [b for b in acknowledged if counts.get(b) != BATCH] == []
    assert [b for b, n in counts.items() if n != BATCH] == []
    assert set(counts) <= set(attempted)
