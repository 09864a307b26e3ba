"""RELIABILITY SY-6: a Hypothesis stateful model with 2–4 devices (client engines over the real
service) going offline and online and editing the same keys. After a full sync every device
holds byte-identical data, equal to the server's, and every losing value was kept (in the
item's history or as a conflict copy on the device that lost it)."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import threading
import uuid
from collections.abc import Awaitable
from pathlib import Path
from typing import TypeVar

import grpc
import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from symphony.sync.v1 import sync_service_pb2 as A
from symphony_client.sync import SyncEngine
from tests.integration.sync.harness import Client, SyncServer, start_sync

NIGHTLY = os.environ.get("SYMPHONY_TEST_TIER") == "nightly"
EXAMPLES = 2000 if NIGHTLY else 50
T = TypeVar("T")

KEYS = ("a", "b")


class LoopThread:
    """An event loop of the test's own in a thread: the state machine is synchronous."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, awaitable: Awaitable[T], timeout: float = 60) -> T:
        async def wrapped() -> T:
            return await awaitable

        return asyncio.run_coroutine_threadsafe(wrapped(), self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


async def drain(engine: SyncEngine) -> None:
    for _ in range(50):
        await engine.sync_once()
        if (await engine.status())["pending"] == 0:
            return
    raise AssertionError("queue never drained")


def make_machine(lt: LoopThread, server: SyncServer, channel: grpc.aio.Channel, root: Path) -> type:
    class Convergence(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.user = f"conv-{uuid.uuid4().hex[:10]}"
            self.dir = root / self.user
            self.engines: list[SyncEngine] = []
            self.online: list[bool] = []
            self.pending: list[dict[str, bytes]] = []
            self.sent: list[dict[str, set[bytes]]] = []
            self.counter = 0

        def engine(self, d: int, online: bool) -> SyncEngine:
            target = server.address if online else "127.0.0.1:1"
            return SyncEngine(
                self.dir / f"d{d}.db",
                target,
                lambda: server.token(self.user),
                device_name=f"d{d}",
                call_timeout=5,
            )

        @initialize(n=st.integers(2, 4))
        def devices(self, n: int) -> None:
            for d in range(n):
                self.engines.append(self.engine(d, True))
                self.online.append(True)
                self.pending.append({})
                self.sent.append({})

        @rule(data=st.data(), key=st.sampled_from(KEYS))
        def edit(self, data: st.DataObject, key: str) -> None:
            d = data.draw(st.integers(0, len(self.engines) - 1))
            self.counter += 1
            value = f"d{d}-{self.counter}".encode()
            lt.run(self.engines[d].set("keybindings", key, value))
            self.pending[d][key] = value

        @rule(data=st.data(), field=st.sampled_from(["x", "y", "z"]), n=st.integers(0, 3))
        def edit_settings(self, data: st.DataObject, field: str, n: int) -> None:
            d = data.draw(st.integers(0, len(self.engines) - 1))
            e = self.engines[d]
            current = lt.run(e.get_json("settings", "s")) or {}
            current[field] = n
            lt.run(e.set_json("settings", "s", current))

        @rule(data=st.data())
        def toggle(self, data: st.DataObject) -> None:
            d = data.draw(st.integers(0, len(self.engines) - 1))
            lt.run(self.engines[d].close())
            self.online[d] = not self.online[d]
            self.engines[d] = self.engine(d, self.online[d])

        @rule(data=st.data())
        def sync(self, data: st.DataObject) -> None:
            d = data.draw(st.integers(0, len(self.engines) - 1))
            if not self.online[d]:
                return
            lt.run(drain(self.engines[d]))
            for key, value in self.pending[d].items():
                self.sent[d].setdefault(key, set()).add(value)
            self.pending[d].clear()

        @invariant()
        def local_reads_always_work(self) -> None:
            for e in self.engines:
                lt.run(e.get("keybindings", "a"))

        def teardown(self) -> None:
            try:
                if self.engines:
                    self.converge()
            finally:
                for e in self.engines:
                    lt.run(e.close())
                shutil.rmtree(self.dir, ignore_errors=True)

        def converge(self) -> None:
            for d in range(len(self.engines)):
                if not self.online[d]:
                    lt.run(self.engines[d].close())
                    self.engines[d] = self.engine(d, True)
                    self.online[d] = True
            for _ in range(3):
                for d, e in enumerate(self.engines):
                    lt.run(drain(e))
                    for key, value in self.pending[d].items():
                        self.sent[d].setdefault(key, set()).add(value)
                    self.pending[d].clear()
            states = [
                {(i.collection, i.key): i.value for i in lt.run(e.items())} for e in self.engines
            ]
            client = Client(server, channel, user=self.user)
            items, _ = lt.run(client.pull_all())
            server_state = {(i.collection, i.key): i.value for i in items if not i.deleted}
            for state in states:
                assert state == server_state
            for key in KEYS:
                history: set[bytes] = set()
                try:
                    page = lt.run(
                        client.stub.ListItemRevisions(
                            A.ListItemRevisionsRequest(
                                collection="keybindings", item=key, page_size=1000
                            ),
                            metadata=client.metadata,
                        )
                    )
                    history = {r.value for r in page.revisions}
                except grpc.aio.AioRpcError:
                    pass
                for d, e in enumerate(self.engines):
                    copies = {c.local_value for c in lt.run(e.conflicts()) if c.key == key}
                    lost = self.sent[d].get(key, set()) - history - copies
                    assert not lost, f"device {d} lost {sorted(lost)} on {key}"

    return Convergence


# 2,000 sequences take ~250 s alone on 2 cores, more beside other tests: past the default 300 s.
@pytest.mark.timeout(1800 if NIGHTLY else 300)
def test_sy6_devices_converge(database_url: str, redis_url: str) -> None:
    lt = LoopThread()
    root = Path(tempfile.mkdtemp(prefix="sy6-"))
    server = lt.run(start_sync(database_url, redis_url))

    async def open_channel() -> grpc.aio.Channel:
        return server.channel()

    channel = lt.run(open_channel())
    try:
        machine = make_machine(lt, server, channel, root)
        run_state_machine_as_test(
            machine,
            settings=settings(
                max_examples=EXAMPLES,
                stateful_step_count=15,
                derandomize=True,
                deadline=None,
                suppress_health_check=list(HealthCheck),
                database=None,
            ),
        )
    finally:
        lt.run(channel.close())
        lt.run(server.stop())
        lt.close()
        shutil.rmtree(root, ignore_errors=True)


pytestmark = pytest.mark.slow
