"""Sync (issue 4): push and pull throughput against the bare gRPC echo, watch delivery latency
with 500 open streams, resident memory of 1,000 idle watch streams.

Targets: Push of one item at concurrency 32 ≥ 0.35 × bare echo; Pull ≥ 0.5 × bare echo; watch
delivery (push acknowledged → change on another device's stream, median) ≤ 2 × the median push
round trip with 500 open streams; 1,000 idle streams < 60 MB extra RSS.

Generators. Pull has a fixed body, so h2load drives it and the bare echo alike. A push needs a
fresh `request_id` per call (a repeated one is answered from the idempotency store), so pushes
come from `bench.sync_load` processes (grpc.aio, distinct requests; 32 users, one in-flight call
each, so the figure is the service's, not one user's row lock). The same processes are run
against the bare echo too: on a 2-core machine that Python generator saturates long before the
echo server does, so the target row compares with the h2load echo (the issue's "bare gRPC echo
throughput", the stricter baseline) and a second row gives the same-generator ratio, with the
generator's echo capacity showing the push figure is not generator-bound.

Servers run as real processes (`bench.sync_server` = `serve` with the bench's JWKS) pinned to
the server core; generators to the other core.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import grpc

from bench.context import BenchContext
from bench.harness import (
    PYTHON,
    RUNS,
    SECONDS,
    Measurement,
    Row,
    flag_generator,
    free_port,
    grpc_frame,
    h2load,
    median_of,
    pin_prefix,
    process,
    rss_mb,
)
from bench.scenarios.baselines import GRPC_HEADERS, grpc_echo_rps
from symphony.sync.v1 import resources_pb2, sync_service_pb2, sync_service_pb2_grpc
from symphony_common.testing.tokens import TestSigner

CONCURRENCY = 32
GENERATOR_PROCESSES = 2
WATCH_STREAMS = 500
WATCH_SAMPLES = 200
IDLE_STREAMS = 1000
STREAMS_PER_CONNECTION = 50
SCOPES = ("sync.read", "sync.write")
PULL_PATH = "/symphony.sync.v1.SyncService/PullChanges"
CHANNEL_OPTIONS = [("grpc.use_local_subchannel_pool", 1)]


class Users:
    def __init__(self) -> None:
        self.signer = TestSigner()
        self.run = uuid.uuid4().hex[:8]

    def token(self, user: str) -> str:
        return self.signer.mint(user, scopes=SCOPES, ttl=3600)

    def metadata(self, user: str) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {self.token(user)}"),)


def _env(ctx: BenchContext, port: int, users: Users) -> dict[str, str]:
    return {
        "DATABASE_URL": ctx.database_url,
        "REDIS_URL": ctx.redis_url,
        "SYMPHONY_SERVICE_TOKEN": "bench-service-token",
        "SYMPHONY_PAGE_TOKEN_SECRET": "bench",
        "SYMPHONY_SYNC_GRPC_PORT": str(port),
        "SYMPHONY_SYNC_BIND": "127.0.0.1",
        "SYMPHONY_LOG_LEVEL": "WARNING",
        "SYMPHONY_BENCH_JWKS": json.dumps([users.signer.jwk()]),
    }


def _migrate(ctx: BenchContext, users: Users) -> None:
    subprocess.run(
        [PYTHON, "-m", "symphony_sync", "migrate"],
        env={**os.environ, **_env(ctx, 0, users)},
        check=True,
        capture_output=True,
    )


def _sync_server(ctx: BenchContext, users: Users, port: int, name: str) -> Any:
    ctx.logs.mkdir(parents=True, exist_ok=True)
    return process(
        [PYTHON, "-m", "bench.sync_server"],
        env=_env(ctx, port, users),
        core=ctx.server_core,
        port=port,
        log=ctx.logs / f"{name}.log",
    )


# ---------------------------------------------------------------- Python generator


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process (all its threads) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def python_load(
    ctx: BenchContext,
    mode: str,
    address: str,
    slots: list[dict[str, str]],
    server_pid: int,
    cpu_per_call: list[float],
) -> Measurement:
    """Run GENERATOR_PROCESSES `bench.sync_load` processes pinned to the generator core;
    appends the server's CPU per call (µs) to `cpu_per_call`."""

    procs, files = [], []
    for i in range(GENERATOR_PROCESSES):
        config = {
            "mode": mode,
            "address": address,
            "slots": slots[i::GENERATOR_PROCESSES],
            "seconds": SECONDS,
        }
        handle = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)  # noqa: SIM115
        json.dump(config, handle)
        handle.close()
        files.append(Path(handle.name))
        procs.append(
            subprocess.Popen(
                [*pin_prefix(ctx.generator_core), PYTHON, "-m", "bench.sync_load", handle.name],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    for proc in procs:  # all connected (imports done) before the clock starts
        assert proc.stdout is not None
        if proc.stdout.readline().strip() != "ready":
            raise RuntimeError(f"sync_load did not start: {proc.stderr.read()[-800:]}")  # type: ignore[union-attr]
    start = time.time() + 1.5
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write(f"{start}\n")
        proc.stdin.flush()
    time.sleep(max(0.0, start - time.time()))
    cpu0 = cpu_seconds(server_pid)
    time.sleep(SECONDS)
    cpu1 = cpu_seconds(server_pid)
    outputs = []
    for proc in procs:
        out, err = proc.communicate(timeout=SECONDS + 60)
        if proc.returncode != 0:
            raise RuntimeError(f"sync_load failed: {err[-800:]}")
        outputs.append(json.loads(out.strip().splitlines()[-1]))
    for path in files:
        path.unlink(missing_ok=True)
    calls = sum(o["calls"] for o in outputs)
    cpu_per_call.append((cpu1 - cpu0) / max(calls, 1) * 1e6)
    return Measurement(
        rps=calls / SECONDS,
        p50_ms=statistics.median(o["p50_ms"] for o in outputs),
        generator_cpu=sum(o["cpu_seconds"] for o in outputs) / SECONDS,
        errors=sum(o["errors"] for o in outputs),
    )


def h2load_with_cpu(server_pid: int, cpu_per_call: list[float], **kwargs: Any) -> Measurement:
    """h2load (see bench.harness) plus the server's CPU per call (µs), appended."""
    started, cpu0 = time.perf_counter(), cpu_seconds(server_pid)
    measured = h2load(**kwargs)
    wall, cpu1 = time.perf_counter() - started, cpu_seconds(server_pid)
    cpu_per_call.append((cpu1 - cpu0) / max(measured.rps * wall, 1) * 1e6)
    return measured


# ---------------------------------------------------------------- set-up over gRPC


async def _register_devices(address: str, users: Users, names: list[str]) -> dict[str, str]:
    async with grpc.aio.insecure_channel(address) as channel:
        stub = sync_service_pb2_grpc.SyncServiceStub(channel)

        async def one(user: str) -> tuple[str, str]:
            device = await stub.RegisterDevice(
                sync_service_pb2.RegisterDeviceRequest(
                    request_id=str(uuid.uuid4()),
                    device=resources_pb2.Device(display_name="bench", platform="linux"),
                ),
                metadata=users.metadata(user),
            )
            return user, device.name.rsplit("/", 1)[-1]

        return dict(await asyncio.gather(*(one(u) for u in names)))


async def _seed_for_pull(address: str, users: Users, user: str, device: str) -> int:
    """Eight items; returns the cursor one revision before the latest (a pull of one change)."""
    async with grpc.aio.insecure_channel(address) as channel:
        stub = sync_service_pb2_grpc.SyncServiceStub(channel)
        response = await stub.Push(
            sync_service_pb2.PushRequest(
                request_id=str(uuid.uuid4()),
                device=device,
                changes=[
                    sync_service_pb2.Change(collection="tasks", key=f"seed-{i}", value=b"v" * 80)
                    for i in range(8)
                ],
            ),
            metadata=users.metadata(user),
        )
        since = response.latest_revision - 1
        check = await stub.PullChanges(
            sync_service_pb2.PullChangesRequest(since=since, device=device),
            metadata=users.metadata(user),
        )
        if len(check.changes) != 1:
            raise RuntimeError(f"pull check returned {len(check.changes)} changes")
        return since


# ---------------------------------------------------------------- watch


async def _open_streams(
    address: str, users: Users, names: list[str], within: float = 120.0
) -> tuple[list[grpc.aio.Channel], list[Any]]:
    """One idle watch stream per user (STREAMS_PER_CONNECTION per connection); returns once
    every stream has said CAUGHT_UP."""
    channels = [
        grpc.aio.insecure_channel(address, options=CHANNEL_OPTIONS)
        for _ in range(max(1, -(-len(names) // STREAMS_PER_CONNECTION)))
    ]
    calls = []
    for i, user in enumerate(names):
        stub = sync_service_pb2_grpc.SyncServiceStub(channels[i // STREAMS_PER_CONNECTION])
        calls.append(stub.Watch(sync_service_pb2.WatchRequest(), metadata=users.metadata(user)))

    async def caught_up(call: Any) -> None:
        while True:
            event = await call.read()
            if event is grpc.aio.EOF:
                raise RuntimeError("watch stream ended before CAUGHT_UP")
            if event.type == resources_pb2.WATCH_EVENT_TYPE_CAUGHT_UP:
                return

    await asyncio.wait_for(asyncio.gather(*(caught_up(c) for c in calls)), within)
    return channels, calls


async def _close_streams(channels: list[grpc.aio.Channel], calls: list[Any]) -> None:
    for call in calls:
        call.cancel()
    for channel in channels:
        await channel.close()


async def _watch_delivery(
    address: str, users: Users
) -> tuple[list[float], list[float], list[float]]:
    """(push round trips, ack → arrival, send → arrival) in ms, with WATCH_STREAMS idle
    streams of other users open."""
    background = [f"bench-{users.run}-watch-{i}" for i in range(WATCH_STREAMS)]
    channels, calls = await _open_streams(address, users, background)
    user = f"bench-{users.run}-watcher"
    devices = await _register_devices(address, users, [user])
    async with (
        grpc.aio.insecure_channel(address, options=CHANNEL_OPTIONS) as push_channel,
        grpc.aio.insecure_channel(address, options=CHANNEL_OPTIONS) as watch_channel,
    ):
        pusher = sync_service_pb2_grpc.SyncServiceStub(push_channel)
        watcher = sync_service_pb2_grpc.SyncServiceStub(watch_channel)
        other_device = await _register_devices(address, users, [user + "-b"])  # noqa: F841
        stream = watcher.Watch(sync_service_pb2.WatchRequest(), metadata=users.metadata(user))
        arrivals: asyncio.Queue[tuple[float, int]] = asyncio.Queue()

        async def reader() -> None:
            async for event in stream:
                if event.type == resources_pb2.WATCH_EVENT_TYPE_CHANGES:
                    now = time.perf_counter()
                    for item in event.changes:
                        arrivals.put_nowait((now, item.revision))

        task = asyncio.create_task(reader())
        metadata = users.metadata(user)
        rtts, after_ack, after_send = [], [], []
        base = 0
        for n in range(WATCH_SAMPLES + 20):
            t_send = time.perf_counter()
            response = await pusher.Push(
                sync_service_pb2.PushRequest(
                    request_id=str(uuid.uuid4()),
                    device=devices[user],
                    changes=[
                        sync_service_pb2.Change(
                            collection="tasks",
                            key="watched",
                            value=b"x" * 64,
                            base_revision=base,
                        )
                    ],
                ),
                metadata=metadata,
                timeout=10,
            )
            t_ack = time.perf_counter()
            base = response.results[0].item.revision
            while True:
                arrived, revision = await asyncio.wait_for(arrivals.get(), 10)
                if revision >= base:
                    break
            if n >= 20:  # warm-up
                rtts.append((t_ack - t_send) * 1000)
                after_ack.append((arrived - t_ack) * 1000)
                after_send.append((arrived - t_send) * 1000)
        stream.cancel()
        task.cancel()
    await _close_streams(channels, calls)
    return rtts, after_ack, after_send


async def _idle_memory(address: str, users: Users, pid: int) -> tuple[float, float]:
    # Warm the server (pools, code paths) with a few streams before the "before" reading.
    warm = [f"bench-{users.run}-warm-{i}" for i in range(20)]
    channels, calls = await _open_streams(address, users, warm)
    await _close_streams(channels, calls)
    await asyncio.sleep(1.0)
    before = rss_mb(pid)
    names = [f"bench-{users.run}-idle-{i}" for i in range(IDLE_STREAMS)]
    channels, calls = await _open_streams(address, users, names)
    await asyncio.sleep(2.0)
    after = rss_mb(pid)
    await _close_streams(channels, calls)
    return before, after


def _listener_pid(port: int) -> int:
    """The pid of the process listening on `port` (the bare echo's context hides its Popen)."""
    inode = ""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            parts = line.split()
            if int(parts[1].rsplit(":", 1)[1], 16) == port and parts[3] == "0A":
                inode = parts[9]
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            for fd in (entry / "fd").iterdir():
                if os.readlink(fd) == f"socket:[{inode}]":
                    return int(entry.name)
    raise RuntimeError(f"no process listens on {port}")


def _us(values: list[float]) -> str:
    return f"{statistics.median(values):,.0f} µs" if values else "n/a"


# ---------------------------------------------------------------- the scenario


def run(ctx: BenchContext) -> list[Row]:
    users = Users()
    _migrate(ctx, users)
    port = free_port()
    address = f"127.0.0.1:{port}"
    names = [f"bench-{users.run}-push-{i}" for i in range(CONCURRENCY)]
    cpu: dict[str, list[float]] = {"push": [], "pull": [], "echo": [], "echo_py": []}
    with _sync_server(ctx, users, port, "sync") as server:
        devices = asyncio.run(_register_devices(address, users, names))
        slots = [{"token": users.token(u), "device": devices[u]} for u in names]
        push = median_of(
            RUNS, lambda: python_load(ctx, "push", address, slots, server.pid, cpu["push"])
        )

        reader = f"bench-{users.run}-pull"
        device = asyncio.run(_register_devices(address, users, [reader]))[reader]
        since = asyncio.run(_seed_for_pull(address, users, reader, device))
        body = grpc_frame(
            sync_service_pb2.PullChangesRequest(since=since, device=device).SerializeToString()
        )
        headers = (*GRPC_HEADERS, f"authorization: Bearer {users.token(reader)}")
        pull = median_of(
            RUNS,
            lambda: h2load_with_cpu(
                server.pid,
                cpu["pull"],
                url=f"http://{address}{PULL_PATH}",
                connections=4,
                streams=CONCURRENCY // 4,
                body=body,
                headers=headers,
                core=ctx.generator_core,
            ),
        )
        body.unlink(missing_ok=True)
        rtts, after_ack, after_send = asyncio.run(_watch_delivery(address, users))

    with ctx.bare_echo(ctx.server_core) as echo_address:
        echo_pid = _listener_pid(int(echo_address.rsplit(":", 1)[1]))
        before_cpu = cpu_seconds(echo_pid)
        started = time.perf_counter()
        echo_h2 = grpc_echo_rps(ctx, echo_address, CONCURRENCY)
        calls = echo_h2.rps * (time.perf_counter() - started)
        cpu["echo"].append((cpu_seconds(echo_pid) - before_cpu) / max(calls, 1) * 1e6)
        echo_py = median_of(
            RUNS,
            lambda: python_load(ctx, "echo", echo_address, slots, echo_pid, cpu["echo_py"]),
        )

    port = free_port()
    with _sync_server(ctx, users, port, "sync-memory") as proc:
        before, after = asyncio.run(_idle_memory(f"127.0.0.1:{port}", users, proc.pid))

    rows = []
    ratio = push.rps / echo_h2.rps if echo_h2.rps else 0.0
    rows.append(
        Row(
            "sync",
            "push 1 item c=32 vs h2load echo",
            push.rps,
            echo_h2.rps,
            ratio,
            "≥ 0.35",
            ratio >= 0.35,
            "req/s",
            [
                *flag_generator([push]),
                f"push p50 {push.p50_ms:.1f} ms; Python generator's echo capacity "
                f"{echo_py.rps:,.0f} req/s (cpu {echo_py.generator_cpu:.0%})",
                f"server CPU per call: push {_us(cpu['push'])}, bare echo {_us(cpu['echo'])}",
            ],
        )
    )
    same = push.rps / echo_py.rps if echo_py.rps else 0.0
    rows.append(
        Row(
            "sync",
            "push 1 item c=32 vs echo, same Python generator",
            push.rps,
            echo_py.rps,
            same,
            "info",
            True,
            "req/s",
            flag_generator([echo_py]),
        )
    )
    ratio = pull.rps / echo_h2.rps if echo_h2.rps else 0.0
    rows.append(
        Row(
            "sync",
            "pull 1 change c=32 (h2load both sides)",
            pull.rps,
            echo_h2.rps,
            ratio,
            "≥ 0.5",
            ratio >= 0.5 and not pull.errors,
            "req/s",
            [
                *flag_generator([pull, echo_h2]),
                f"server CPU per call: pull {_us(cpu['pull'])}, bare echo {_us(cpu['echo'])}",
            ],
        )
    )
    rtt = statistics.median(rtts)
    delivery = statistics.median(after_ack)
    ratio = delivery / rtt if rtt else 0.0
    rows.append(
        Row(
            "sync",
            f"watch delivery after ack, {WATCH_STREAMS} streams open",
            delivery,
            rtt,
            ratio,
            "≤ 2 × push rtt",
            ratio <= 2.0,
            "ms",
            [
                f"median push send → arrival {statistics.median(after_send):.2f} ms; "
                f"p95 ack → arrival {sorted(after_ack)[int(len(after_ack) * 0.95)]:.2f} ms; "
                f"{len(rtts)} samples"
            ],
        )
    )
    extra = after - before
    rows.append(
        Row(
            "sync",
            f"RSS of {IDLE_STREAMS:,} idle watch streams (ratio = MB added)",
            after,
            before,
            extra,
            "< 60 MB added",
            extra < 60,
            "MB",
            [
                f"{extra * 1024 / IDLE_STREAMS:.1f} KB per stream, "
                f"{STREAMS_PER_CONNECTION} streams per connection"
            ],
        )
    )
    return rows
