"""A gRPC load-generator process for the sync scenario: `python -m bench.sync_load CONFIG`.

h2load replays one fixed body, which a push cannot use (a repeated `request_id` is answered
from the idempotency store without writing anything). These processes send distinct requests
through `grpc.aio` instead; the scenario runs the very same processes against the bare echo
server, so both sides of the ratio come from the same generator.

CONFIG is a JSON file: mode (`push` | `echo`), address, slots (one per in-flight call: token,
device), seconds. Once connected the process prints `ready` and reads the start time (epoch
seconds) from stdin; after one second of warm-up, calls completing inside [start, start +
seconds] are counted. Prints one JSON line: calls, errors, median latency (ms), CPU seconds.
"""

from __future__ import annotations

import asyncio
import json
import resource
import statistics
import sys
import time
import uuid
from typing import Any

import grpc
import uvloop

from symphony.sync.v1 import resources_pb2, sync_service_pb2, sync_service_pb2_grpc
from symphony.testing.v1 import echo_service_pb2, echo_service_pb2_grpc

KEYS_PER_SLOT = 8
VALUE = b'{"editor.fontSize": 14, "editor.tabSize": 4, "files.autoSave": "afterDelay"}'


async def _slot(
    mode: str, channel: grpc.aio.Channel, slot: dict[str, Any], window: tuple[float, float]
) -> tuple[int, int, list[float]]:
    metadata = (("authorization", f"Bearer {slot['token']}"),)
    start, end = window
    calls = errors = 0
    latencies: list[float] = []
    if mode == "echo":
        echo = echo_service_pb2_grpc.EchoServiceStub(channel)
        request = echo_service_pb2.EchoRequest(message="hello")

        async def call(n: int) -> None:
            await echo.Echo(request, metadata=metadata, timeout=10)

    else:
        sync = sync_service_pb2_grpc.SyncServiceStub(channel)
        # Keys of this process only: the scenario runs the generator several times against one
        # server, and a later run starting from base revision 0 on an earlier run's keys would
        # only get conflicts.
        run = uuid.uuid4().hex[:8]
        bases = [0] * KEYS_PER_SLOT

        async def call(n: int) -> None:
            index = n % KEYS_PER_SLOT
            response = await sync.Push(
                sync_service_pb2.PushRequest(
                    request_id=str(uuid.uuid4()),
                    device=slot["device"],
                    changes=[
                        sync_service_pb2.Change(
                            collection="tasks",
                            key=f"task-{run}-{index}",
                            value=VALUE,
                            content_type="application/json",
                            base_revision=bases[index],
                        )
                    ],
                ),
                metadata=metadata,
                timeout=10,
            )
            result = response.results[0]
            if result.outcome != resources_pb2.CHANGE_OUTCOME_APPLIED:
                raise RuntimeError(f"push not applied: {result.outcome}")
            bases[index] = result.item.revision

    n = 0
    while time.time() < end:
        t0 = time.perf_counter()
        try:
            await call(n)
            ok = True
        except (grpc.aio.AioRpcError, RuntimeError) as error:
            ok = False
            if errors == 0:
                print(f"first error: {error!r}"[:400], file=sys.stderr)
        n += 1
        finished = time.time()
        if start <= finished <= end:
            calls += ok
            errors += not ok
            latencies.append((time.perf_counter() - t0) * 1000)
    return calls, errors, latencies


async def main(config: dict[str, Any]) -> None:
    channel = grpc.aio.insecure_channel(config["address"])
    await channel.channel_ready()
    print("ready", flush=True)
    start_at = float(await asyncio.to_thread(sys.stdin.readline))
    window = (start_at, start_at + config["seconds"])
    delay = start_at - 1.0 - time.time()  # warm up for the last second before start
    if delay > 0:
        await asyncio.sleep(delay)
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    results = await asyncio.gather(
        *(_slot(config["mode"], channel, slot, window) for slot in config["slots"])
    )
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    await channel.close()
    latencies = [x for _, _, lat in results for x in lat]
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    print(
        json.dumps(
            {
                "calls": sum(c for c, _, _ in results),
                "errors": sum(e for _, e, _ in results),
                "p50_ms": statistics.median(latencies) if latencies else float("nan"),
                # CPU over the warm-up second plus the window.
                "cpu_seconds": cpu * config["seconds"] / (config["seconds"] + 1.0),
            }
        )
    )


if __name__ == "__main__":
    with open(sys.argv[1]) as handle:
        uvloop.run(main(json.load(handle)))
