"""RELIABILITY SY-5: `kill -9` of the sync service process at random points during batches.
After recovery: no acknowledged write missing, no partial batch visible, unacknowledged
batches all-or-nothing. (`pg_ctl stop -m immediate` needs a test-owned PostgreSQL; the shared
one here is not ours to stop.)"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import sys
from pathlib import Path

import grpc
import pytest
from cryptography.hazmat.primitives import serialization

from symphony_common.testing.tokens import TestSigner
from tests.integration.sync.harness import Client, SyncServer, change, migrate

pytestmark = pytest.mark.asyncio(loop_scope="session")

ITERATIONS = 20 if os.environ.get("SYMPHONY_TEST_TIER") == "nightly" else 3
BATCH = 5
ROOT = Path(__file__).resolve().parents[3]


class _Running:
    def __init__(self, port: int) -> None:
        self.port = port


async def spawn(
    database_url: str, redis_url: str, signer: TestSigner
) -> tuple[asyncio.subprocess.Process, int]:
    pem = signer.private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    env = {
        **os.environ,
        "SYNC_TEST_KEY": pem,
        "SYNC_TEST_DATABASE_URL": database_url,
        "SYNC_TEST_REDIS_URL": redis_url,
        "PYTHONPATH": str(ROOT),
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.integration.sync.sync_process",
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), 60)
    return proc, int(line)


async def test_sy5_kill_9_during_batches_loses_nothing_acknowledged(
    database_url: str, redis_url: str
) -> None:
    await migrate(database_url)
    signer = TestSigner()
    user = f"crash-{random.randrange(1 << 30)}"
    acknowledged: set[str] = set()
    attempted: list[str] = []
    rng = random.Random(5)
    for iteration in range(ITERATIONS):
        proc, port = await spawn(database_url, redis_url, signer)
        server = SyncServer(_Running(port), signer)  # type: ignore[arg-type]
        channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
        client = Client(server, channel, user=user)

        async def write(client: Client = client, iteration: int = iteration) -> None:
            for n in range(10_000):
                batch = f"i{iteration}-b{n}"
                attempted.append(batch)
                await client.push(
                    *[change("tasks", f"{batch}/{p}", b"x" * 100) for p in range(BATCH)],
                    atomic=True,
                )
                acknowledged.add(batch)

        writers = [asyncio.create_task(write()) for _ in range(3)]
        await asyncio.sleep(0.3 + rng.random())
        proc.kill()  # SIGKILL: no drain, no cleanup
        await proc.wait()
        for task in writers:
            with contextlib.suppress(grpc.aio.AioRpcError):
                await task
        await channel.close()

    proc, port = await spawn(database_url, redis_url, signer)
    try:
        channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
        client = Client(SyncServer(_Running(port), signer), channel, user=user)  # type: ignore[arg-type]
        items, _ = await client.pull_all()
        await channel.close()
    finally:
        proc.kill()
        await proc.wait()
    counts: dict[str, int] = {}
    for item in items:
        batch = item.key.split("/")[0]
        counts[batch] = counts.get(batch, 0) + 1
    assert acknowledged, "no batch was acknowledged before the kills"
    assert [b for b in acknowledged if counts.get(b) != BATCH] == []
    assert [b for b, n in counts.items() if n != BATCH] == []
    assert set(counts) <= set(attempted)
