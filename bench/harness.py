"""Measurement plumbing shared by the scenarios: load generators (h2load for gRPC and HTTP/2,
wrk for HTTP/1.1), CPU pinning, generator CPU accounting, medians, result rows.

Absolute numbers on a shared 2-core machine drift; each scenario therefore measures the project
and a bare baseline back to back in the same run and reports the ratio. A figure measured with a
saturated generator says nothing about the server, so every row carries the generator's CPU
share and is flagged when it exceeds GENERATOR_SATURATED.
"""

from __future__ import annotations

import contextlib
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
GENERATOR_SATURATED = 0.9  # share of one core
RUNS = int(os.environ.get("SYMPHONY_BENCH_RUNS", "3"))
SECONDS = float(os.environ.get("SYMPHONY_BENCH_SECONDS", "4"))


@dataclass
class Measurement:
    """One load run: requests per second, latency percentiles (ms), generator CPU share."""

    rps: float
    p50_ms: float
    p95_ms: float | None = None
    generator_cpu: float = 0.0
    errors: int = 0


@dataclass
class Row:
    scenario: str
    metric: str
    project: float
    baseline: float
    ratio: float
    target: str
    passed: bool
    unit: str = ""
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def cores() -> list[int]:
    return sorted(os.sched_getaffinity(0))


def pin_prefix(core: int | None) -> list[str]:
    if core is None or not shutil.which("taskset") or len(cores()) < 2:
        return []
    return ["taskset", "-c", str(core)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {port}")


@contextlib.contextmanager
def process(
    cmd: Sequence[str],
    *,
    env: dict[str, str] | None = None,
    core: int | None = None,
    port: int | None = None,
    log: Path | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    out = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115
    proc = subprocess.Popen(
        [*pin_prefix(core), *cmd],
        env={**os.environ, **(env or {})},
        stdout=out,
        stderr=out,
        cwd=ROOT,
        start_new_session=True,
    )
    try:
        if port is not None:
            wait_port(port)
        yield proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        if log:
            out.close()  # type: ignore[union-attr]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_generator(cmd: Sequence[str], core: int | None) -> tuple[str, float, float]:
    """Run a load generator to completion: (stdout, wall seconds, CPU share of one core)."""
    cpu_before, started = _children_cpu(), time.perf_counter()
    result = subprocess.run([*pin_prefix(core), *cmd], capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    cpu = (_children_cpu() - cpu_before) / wall if wall else 0.0
    if result.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed: {result.stderr[-500:]}")
    return result.stdout, wall, cpu


_H2_RPS = re.compile(r"finished in [\d.]+\w+, ([\d.]+) req/s")
_H2_STATUS = re.compile(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx")
_H2_TIME = re.compile(
    r"time for request:\s+([\d.]+)(us|ms|s)\s+([\d.]+)(us|ms|s)\s+([\d.]+)(us|ms|s)"
)
_UNIT = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def h2load(
    url: str,
    *,
    connections: int,
    streams: int,
    seconds: float = SECONDS,
    body: Path | None = None,
    headers: Sequence[str] = (),
    h1: bool = False,
    core: int | None = None,
) -> Measurement:
    """h2load for a fixed duration; gRPC calls are POSTs of a framed message with
    `content-type: application/grpc`. Latency here is h2load's mean per request (it does not
    print a median), so latency scenarios use `sequential_latency` instead."""
    cmd = [
        "h2load",
        "-D",
        str(max(1, round(seconds))),
        "-c",
        str(connections),
        "-m",
        str(streams),
        "-t",
        "1",
    ]
    if h1:
        cmd.append("--h1")
    for header in headers:
        cmd += ["-H", header]
    if body is not None:
        cmd += ["-d", str(body)]
    cmd.append(url)
    out, _, cpu = run_generator(cmd, core)
    rps = float(_H2_RPS.search(out).group(1))  # type: ignore[union-attr]
    status = _H2_STATUS.search(out)
    errors = sum(int(x) for x in status.groups()[1:]) if status else 0
    timing = _H2_TIME.search(out)
    mean = float(timing.group(3)) * _UNIT[timing.group(4)] if timing else float("nan")
    return Measurement(rps=rps, p50_ms=mean, generator_cpu=cpu, errors=errors)


def grpc_frame(message: bytes) -> Path:
    """A file holding one length-prefixed gRPC message, for h2load -d."""
    handle = tempfile.NamedTemporaryFile(prefix="grpc-body-", suffix=".bin", delete=False)  # noqa: SIM115
    handle.write(b"\x00" + len(message).to_bytes(4, "big") + message)
    handle.close()
    return Path(handle.name)


def sequential_latency(
    call: Callable[[], object], *, samples: int = 2000, warmup: int = 200
) -> Measurement:
    """Concurrency 1: time each call in turn; median and p95 in ms."""
    for _ in range(warmup):
        call()
    times = []
    started = time.perf_counter()
    for _ in range(samples):
        t0 = time.perf_counter()
        call()
        times.append((time.perf_counter() - t0) * 1000)
    wall = time.perf_counter() - started
    times.sort()
    return Measurement(
        rps=samples / wall, p50_ms=statistics.median(times), p95_ms=times[int(len(times) * 0.95)]
    )


def median_of(runs: int, measure: Callable[[], Measurement]) -> Measurement:
    """Median of `runs` measurements, by throughput; CPU and errors of the worst run kept."""
    results = sorted((measure() for _ in range(runs)), key=lambda m: m.rps)
    middle = results[len(results) // 2]
    middle.generator_cpu = max(r.generator_cpu for r in results)
    middle.errors = max(r.errors for r in results)
    return middle


def flag_generator(measurements: Sequence[Measurement]) -> list[str]:
    worst = max((m.generator_cpu for m in measurements), default=0.0)
    notes = [f"generator cpu {worst:.0%} of a core"]
    if worst > GENERATOR_SATURATED:
        notes.append("GENERATOR SATURATED: ratio not meaningful")
    if any(m.errors for m in measurements):
        notes.append(f"errors: {max(m.errors for m in measurements)}")
    return notes


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) used so far by a process and its descendants."""
    total = 0.0
    for candidate in [pid, *_descendants(pid)]:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{candidate}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children (MB)."""
    total = 0
    for candidate in [pid, *_descendants(pid)]:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{candidate}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total / 1024


def _descendants(pid: int) -> list[int]:
    found = []
    with contextlib.suppress(OSError):
        for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
            found.append(int(child))
            found.extend(_descendants(int(child)))
    return found
