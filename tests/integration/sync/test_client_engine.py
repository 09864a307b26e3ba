"""The client engine (`symphony_client.sync`) against the real service: offline work,
two-device convergence, and RELIABILITY SY-4 (an offline queue replayed over a connection that
drops at random equals applying it once)."""

from __future__ import annotations

import asyncio
import json
import os
import random
import shutil
import uuid
from pathlib import Path

import grpc
import pytest

from symphony.sync.v1 import sync_service_pb2 as A
from symphony_client.sync import KEEP_LOCAL, SyncEngine
from symphony_client.sync.engine import CHANNEL_OPTIONS
from tests.integration.sync.harness import Client
from tests.integration.sync.proxy import FlakyProxy

pytestmark = pytest.mark.asyncio(loop_scope="session")

NIGHTLY = os.environ.get("SYMPHONY_TEST_TIER") == "nightly"
OPS = 1000 if NIGHTLY else int(os.environ.get("SYMPHONY_SYNC_QUEUE_OPS", "1000"))


def engine(server, path: Path, user: str, target=None, **kw) -> SyncEngine:
    return SyncEngine(
        path,
        target or server.address,
        lambda: server.token(user),
        retry_initial=0.02,
        retry_max=0.3,
        call_timeout=10,
        **kw,
    )


async def until(engine_: SyncEngine, attempts: int = 200) -> None:
    """sync_once, retrying through injected faults, until the queue is empty."""
    for attempt in range(attempts):
        try:
            await engine_.sync_once()
            if (await engine_.status())["pending"] == 0:
                return
        except grpc.aio.AioRpcError as error:
            assert error.code() in (
                grpc.StatusCode.UNAVAILABLE,
                grpc.StatusCode.ABORTED,
                grpc.StatusCode.DEADLINE_EXCEEDED,
                grpc.StatusCode.INTERNAL,
                grpc.StatusCode.UNKNOWN,
            ), error
            await asyncio.sleep(0.01 * min(attempt, 10))
    raise AssertionError("the engine never drained its queue")


async def server_state(client: Client) -> dict[tuple[str, str], bytes]:
    items, _ = await client.pull_all()
    return {(i.collection, i.key): i.value for i in items if not i.deleted}


async def local_state(e: SyncEngine) -> dict[tuple[str, str], bytes]:
    return {(i.collection, i.key): i.value for i in await e.items()}


async def test_local_reads_and_writes_work_offline_and_survive_a_restart(
    sync_server, tmp_path: Path
) -> None:
    user = f"u-{uuid.uuid4().hex[:8]}"
    offline = engine(sync_server, tmp_path / "a.db", user, target="127.0.0.1:1")
    await offline.set_json("settings", "editor", {"fontSize": 14})
    await offline.set("keybindings", "ctrl+s", b"save")
    await offline.delete("keybindings", "ctrl+s")
    assert await offline.get_json("settings", "editor") == {"fontSize": 14}
    assert await offline.get("keybindings", "ctrl+s") is None
    with pytest.raises(grpc.aio.AioRpcError):
        await offline.sync_once()
    await offline.close()  # as if the editor quit (or crashed) while offline
    online = engine(sync_server, tmp_path / "a.db", user)
    assert (await online.status())["pending"] == 3
    await until(online)
    channel = sync_server.channel()
    try:
        state = await server_state(Client(sync_server, channel, user=user))
    finally:
        await channel.close()
    assert state == {("settings", "editor"): b'{"fontSize":14}'}
    await online.close()


async def test_two_devices_converge_keeping_every_losing_edit(sync_server, tmp_path: Path) -> None:
    user = f"u-{uuid.uuid4().hex[:8]}"
    a = engine(sync_server, tmp_path / "a.db", user, device_name="A")
    b = engine(sync_server, tmp_path / "b.db", user, device_name="B")
    await a.set_json("settings", "user", {"theme": "light", "fontSize": 12, "tabs": 4})
    await a.set("keybindings", "all", b"[v1]")
    await until(a)
    await until(b)
    assert await local_state(a) == await local_state(b)

    # B goes offline for a while; both edit.
    b_offline = engine(sync_server, tmp_path / "b.db", user, target="127.0.0.1:1")
    await b.close()
    await a.set_json("settings", "user", {"theme": "dark", "fontSize": 12, "tabs": 4})  # theme
    await a.set("keybindings", "all", b"[from A]")
    await a.set("snippets", "a-only", b"A")
    await until(a)
    await b_offline.set_json(
        "settings", "user", {"theme": "light", "fontSize": 16, "tabs": 4}
    )  # fontSize
    await b_offline.set("keybindings", "all", b"[from B]")
    await b_offline.set("snippets", "b-only", b"B")
    await b_offline.delete("snippets", "a-only")  # never saw it: a no-op tombstone
    await b_offline.close()

    b = engine(sync_server, tmp_path / "b.db", user, device_name="B")
    for _ in range(3):
        await until(b)
        await until(a)
    assert await local_state(a) == await local_state(b)
    final = await local_state(a)
    assert json.loads(final[("settings", "user")]) == {
        "theme": "dark",
        "fontSize": 16,
        "tabs": 4,
    }  # merged
    assert final[("keybindings", "all")] == b"[from A]" and ("snippets", "b-only") in final
    copies = await b.conflicts()
    assert [(c.collection, c.key, c.local_value) for c in copies] == [
        ("keybindings", "all", b"[from B]")
    ]
    await a.close()
    await b.close()


async def test_a_conflict_callback_can_keep_the_local_value(sync_server, tmp_path: Path) -> None:
    user = f"u-{uuid.uuid4().hex[:8]}"
    seen = []

    def mine(conflict):
        seen.append(conflict)
        return KEEP_LOCAL

    a = engine(sync_server, tmp_path / "a.db", user)
    b = engine(sync_server, tmp_path / "b.db", user, on_conflict=mine)
    await a.set("tasks", "t", b"1")
    await until(a)
    await b.set("tasks", "t", b"2")
    await until(b)
    await until(a)
    assert await a.get("tasks", "t") == await b.get("tasks", "t") == b"2"
    assert [(c.key, c.local_value, c.server.value) for c in seen] == [("t", b"2", b"1")]
    await a.close()
    await b.close()


async def test_background_loop_follows_watch(sync_server, tmp_path: Path) -> None:
    user = f"u-{uuid.uuid4().hex[:8]}"
    a = engine(sync_server, tmp_path / "a.db", user)
    b = engine(sync_server, tmp_path / "b.db", user)
    a.start()
    b.start()
    try:
        await a.set_json("settings", "live", {"x": 1})
        for _ in range(100):
            if await b.get("settings", "live") is not None:
                break
            await asyncio.sleep(0.05)
        assert await b.get_json("settings", "live") == {"x": 1}
    finally:
        await a.close()
        await b.close()


class RecordingEngine(SyncEngine):
    def __init__(self, *args, **kw) -> None:
        super().__init__(*args, **kw)
        self.sent: dict[str, A.PushRequest] = {}

    async def _call(self, method, request):
        if isinstance(request, A.PushRequest):
            self.sent[request.request_id] = request
        return await super()._call(method, request)


async def test_sy4_offline_queue_replayed_three_times_over_a_flaky_connection(
    sync_server, tmp_path: Path
) -> None:
    user = f"u-{uuid.uuid4().hex[:8]}"
    proxy = await FlakyProxy(sync_server.running.port, seed=4).start()
    target = lambda: grpc.aio.insecure_channel(proxy.address, options=CHANNEL_OPTIONS)  # noqa: E731
    # Register while online, then queue OPS operations offline.
    first = RecordingEngine(
        tmp_path / "q.db",
        target,
        lambda: sync_server.token(user),
        retry_initial=0.02,
        retry_max=0.2,
        call_timeout=5,
    )
    proxy.drop = False
    await until(first)
    rng = random.Random(1)
    expected: dict[tuple[str, str], bytes | None] = {}
    for n in range(OPS):
        collection = rng.choice(["tasks", "snippets", "settings"])
        key = f"k{rng.randrange(150)}"
        if rng.random() < 0.1 and expected.get((collection, key)):
            await first.delete(collection, key)
            expected[(collection, key)] = None
        else:
            value = json.dumps({"op": n}).encode()
            await first.set(collection, key, value)
            expected[(collection, key)] = value
    assert (await first.status())["pending"] == OPS
    copy1, copy2 = tmp_path / "q1.db", tmp_path / "q2.db"
    for copy in (copy1, copy2):
        shutil.copy(tmp_path / "q.db", copy)
        for suffix in ("-wal", "-shm"):
            if (tmp_path / f"q.db{suffix}").exists():
                shutil.copy(tmp_path / f"q.db{suffix}", Path(f"{copy}{suffix}"))

    proxy.drop = True
    proxy.cut_all()
    await until(first, attempts=1000)
    assert proxy.drops > 0
    # Replay 2 and 3: the same requests again (answered from the stored results), and the same
    # offline queue from copies of the cache (new request ids; conditional pushes).
    channel = grpc.aio.insecure_channel(proxy.address, options=CHANNEL_OPTIONS)
    stub = Client(sync_server, channel, user=user)
    for request in first.sent.values():
        for _ in range(2):
            for attempt in range(200):
                try:
                    response = await stub.stub.Push(request, metadata=stub.metadata, timeout=5)
                    break
                except grpc.aio.AioRpcError as error:
                    assert error.code() in (
                        grpc.StatusCode.UNAVAILABLE,
                        grpc.StatusCode.ABORTED,
                        grpc.StatusCode.DEADLINE_EXCEEDED,
                    ), error
                    await asyncio.sleep(0.01 * min(attempt, 10))
            assert response.replayed
    for copy in (copy1, copy2):
        again = engine(sync_server, copy, user, target=target)
        await until(again, attempts=1000)
        assert await again.conflicts() == []
        await again.close()
    proxy.drop = False
    state = await server_state(stub)
    assert state == {k: v for k, v in expected.items() if v is not None}
    config = await stub.stub.GetSyncConfig(A.GetSyncConfigRequest(), metadata=stub.metadata)
    assert config.item_count == len(state)
    await until(first)
    assert await local_state(first) == state
    await channel.close()
    await first.close()
    await proxy.stop()
