"""Run the migrations, then the four services and the gateway as child processes; wait until
each one is ready; stop them all (gateway first) without leaving orphans."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TextIO

from symphony_common.devstack._shared import LOOPBACK, env_port, free_port, port_is_free
from symphony_common.devstack.errors import DevStackError

SERVICES: tuple[str, ...] = ("auth", "registry", "sync", "analytics")
DEFAULT_GRPC_PORTS: Mapping[str, int] = {
    "auth": 50051,
    "registry": 50052,
    "sync": 50053,
    "analytics": 50054,
}
DEFAULT_GATEWAY_PORT = 8080
GATEWAY = "gateway"
TAIL_LINES = 40

Probe = Callable[[], bool]


# Runs first in each child (no site, stdlib only, a few ms): asks the kernel to SIGTERM it if
# the supervisor dies without cleaning up (SIGKILL), then execs the real command, which keeps
# that setting. Done by exec rather than preexec_fn so that no Python runs between fork and
# exec in a parent that has gRPC's threads (its fork handlers abort there).
_PDEATHSIG_LAUNCHER = (
    "import ctypes, os, signal, sys\n"
    "ctypes.CDLL(None).prctl(1, signal.SIGTERM)\n"  # PR_SET_PDEATHSIG
    "if os.getppid() != int(sys.argv[1]):\n"  # the supervisor died before prctl
    "    os._exit(1)\n"
    "os.execvp(sys.argv[2], sys.argv[2:])\n"
)


def _with_parent_death_signal(argv: Sequence[str]) -> list[str]:
    if not sys.platform.startswith("linux"):
        return list(argv)
    return [sys.executable, "-I", "-S", "-c", _PDEATHSIG_LAUNCHER, str(os.getpid()), *argv]


class ManagedProcess:
    """One child in its own process group, its output copied to a log file (and optionally to
    the terminal with a name prefix), the last lines kept for error messages."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        env: Mapping[str, str],
        log_path: Path,
        *,
        echo: TextIO | None = None,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self._lines: deque[str] = deque(maxlen=TAIL_LINES)
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = log_path.open("a", encoding="utf-8")
        self._log.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} $ {' '.join(self.argv)}\n")
        self._log.flush()
        self._echo = echo
        self.popen = subprocess.Popen(
            _with_parent_death_signal(self.argv),
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # own group: we signal it; the terminal's Ctrl-C does not
        )
        self._reader = threading.Thread(target=self._pump, name=f"log-{name}", daemon=True)
        self._reader.start()

    def _pump(self) -> None:
        stream: IO[bytes] | None = self.popen.stdout
        assert stream is not None
        prefix = f"{self.name:<9}| "
        for raw in stream:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            self._lines.append(line)
            self._log.write(line + "\n")
            self._log.flush()
            if self._echo is not None:
                with contextlib.suppress(ValueError, OSError):
                    self._echo.write(prefix + line + "\n")
                    self._echo.flush()

    @property
    def pid(self) -> int:
        return self.popen.pid

    def poll(self) -> int | None:
        return self.popen.poll()

    def tail(self) -> str:
        if self.popen.poll() is not None:
            self._reader.join(timeout=0.5)  # let the last lines arrive
        return "\n".join(self._lines) or "(no output)"

    def signal_group(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signum)

    def wait(self, timeout: float) -> int | None:
        try:
            return self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def close(self) -> None:
        self._reader.join(timeout=2)
        if self.popen.stdout is not None:
            self.popen.stdout.close()
        self._log.close()


class Supervisor:
    """Starts children, waits for readiness, stops them in reverse order of start."""

    def __init__(self, log_dir: Path, *, echo: TextIO | None = None) -> None:
        self.log_dir = log_dir
        self.echo = echo
        self.children: list[ManagedProcess] = []

    def run_to_completion(
        self, name: str, argv: Sequence[str], env: Mapping[str, str], timeout: float
    ) -> None:
        self.run_all([(name, argv, env)], timeout)

    def run_all(
        self, jobs: Iterable[tuple[str, Sequence[str], Mapping[str, str]]], timeout: float
    ) -> None:
        """Run one-shot commands (migrations) concurrently; raise with the log of the first
        that fails or outlives ``timeout``."""
        procs = [
            ManagedProcess(name, argv, env, self.log_dir / f"{name}.log", echo=self.echo)
            for name, argv, env in jobs
        ]
        deadline = time.monotonic() + timeout
        try:
            for proc in procs:
                code = proc.wait(max(0.0, deadline - time.monotonic()))
                if code is None:
                    raise DevStackError(
                        f"{proc.name} did not finish within {timeout:.0f}s; "
                        f"last lines of {proc.log_path}:\n{proc.tail()}"
                    )
                if code != 0:
                    raise DevStackError(
                        f"{proc.name} failed with exit code {code}; "
                        f"last lines of {proc.log_path}:\n{proc.tail()}"
                    )
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.signal_group(signal.SIGKILL)
                    proc.wait(5)
                proc.close()

    def start(self, name: str, argv: Sequence[str], env: Mapping[str, str]) -> ManagedProcess:
        proc = ManagedProcess(name, argv, env, self.log_dir / f"{name}.log", echo=self.echo)
        self.children.append(proc)
        return proc

    def wait_ready(self, probes: Mapping[str, Probe], timeout: float) -> None:
        """Poll each child's probe until all pass; fail fast when a child exits."""
        by_name = {child.name: child for child in self.children}
        pending = dict(probes)
        deadline = time.monotonic() + timeout
        while pending:
            for name in list(pending):
                child = by_name[name]
                code = child.poll()
                if code is not None:
                    raise DevStackError(
                        f"{name} exited with code {code} during start-up; "
                        f"last lines of {child.log_path}:\n{child.tail()}"
                    )
                if pending[name]():
                    del pending[name]
            if not pending:
                return
            if time.monotonic() >= deadline:
                details = "\n\n".join(
                    f"{name} is not ready after {timeout:.0f}s; last lines of "
                    f"{by_name[name].log_path}:\n{by_name[name].tail()}"
                    for name in pending
                )
                raise DevStackError(details)
            time.sleep(0.2)

    def exited(self) -> ManagedProcess | None:
        """The first child that has exited, if any."""
        return next((child for child in self.children if child.poll() is not None), None)

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM each child (reverse start order, so the gateway drains before the services
        behind it), wait, then SIGKILL what is left. Safe to call twice."""
        children, self.children = list(reversed(self.children)), []
        for child in children:
            if child.poll() is None:
                child.signal_group(signal.SIGTERM)
            if child.name == GATEWAY:
                child.wait(timeout)
        deadline = time.monotonic() + timeout
        for child in children:
            if child.wait(max(0.0, deadline - time.monotonic())) is None:
                child.signal_group(signal.SIGKILL)
                child.wait(5)
            # Leftover members of the group (a worker the child forked) go too.
            child.signal_group(signal.SIGKILL)
            child.close()


def grpc_health_probe(address: str) -> Probe:
    """Ready when grpc.health.v1 Check(service="") answers SERVING."""
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    state: dict[str, grpc.Channel] = {}

    def probe() -> bool:
        channel = state.get("channel")
        if channel is None:
            channel = state["channel"] = grpc.insecure_channel(address)
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=""), timeout=1.0
            )
        except grpc.RpcError:
            return False
        if reply.status == health_pb2.HealthCheckResponse.SERVING:
            channel.close()
            state.pop("channel")
            return True
        return False

    return probe


_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http_probe(url: str) -> Probe:
    """Ready when GET ``url`` answers 200 (no proxy: it is loopback)."""

    def probe() -> bool:
        try:
            with _NO_PROXY.open(url, timeout=1.0) as response:
                return int(response.status) == 200
        except (urllib.error.URLError, OSError, ValueError):
            return False

    return probe


@dataclass(frozen=True)
class StackPorts:
    grpc: Mapping[str, int]
    gateway: int

    @classmethod
    def configured(cls) -> StackPorts:
        """DESIGN.md §6 defaults, each overridable by ``SYMPHONY_<SVC>_GRPC_PORT`` and
        ``SYMPHONY_GATEWAY_PORT``."""
        grpc_ports = {
            svc: env_port(f"SYMPHONY_{svc.upper()}_GRPC_PORT") or DEFAULT_GRPC_PORTS[svc]
            for svc in SERVICES
        }
        return cls(grpc_ports, env_port("SYMPHONY_GATEWAY_PORT") or DEFAULT_GATEWAY_PORT)

    @classmethod
    def free(cls) -> StackPorts:
        ports: set[int] = set()
        while len(ports) < len(SERVICES) + 1:
            ports.add(free_port())
        chosen = sorted(ports)
        return cls(dict(zip(SERVICES, chosen, strict=False)), chosen[-1])

    def check_free(self, host: str = LOOPBACK) -> None:
        taken = [
            f"{name} {port} (set {var})"
            for name, port, var in [
                *((s, p, f"SYMPHONY_{s.upper()}_GRPC_PORT") for s, p in self.grpc.items()),
                (GATEWAY, self.gateway, "SYMPHONY_GATEWAY_PORT"),
            ]
            if not port_is_free(port, host)
        ]
        if taken:
            raise DevStackError("ports already in use: " + ", ".join(taken))


@dataclass
class StackSettings:
    database_url: str
    redis_url: str
    service_token: str
    ports: StackPorts
    log_dir: Path
    host: str = LOOPBACK
    log_level: str = "INFO"
    python: str = sys.executable
    services: Sequence[str] = SERVICES
    extra_env: Mapping[str, str] = field(default_factory=dict)
    # (component, action) -> argv; the default runs `python -m symphony_<component> <action>`.
    command: Callable[[str, str], list[str]] | None = None

    def argv(self, component: str, action: str) -> list[str]:
        if self.command is not None:
            return self.command(component, action)
        return [self.python, "-m", f"symphony_{component}", action]

    def grpc_address(self, svc: str) -> str:
        return f"{self.host}:{self.ports.grpc[svc]}"

    @property
    def gateway_url(self) -> str:
        return f"http://{self.host}:{self.ports.gateway}"

    def env(self) -> dict[str, str]:
        """The environment every child gets: inherited, plus the stack's wiring."""
        env = dict(os.environ)
        env.update(
            DATABASE_URL=self.database_url,
            REDIS_URL=self.redis_url,
            SYMPHONY_SERVICE_TOKEN=self.service_token,
            SYMPHONY_LOG_LEVEL=self.log_level,
            SYMPHONY_GATEWAY_PORT=str(self.ports.gateway),
            PYTHONUNBUFFERED="1",
            # A crash in native code (grpc, psycopg) leaves the Python stacks in the child's log.
            PYTHONFAULTHANDLER="1",
        )
        for svc in SERVICES:
            env[f"SYMPHONY_{svc.upper()}_GRPC_PORT"] = str(self.ports.grpc[svc])
            env[f"SYMPHONY_{svc.upper()}_ADDRESS"] = self.grpc_address(svc)
        env.update(self.extra_env)
        return env


@dataclass
class RunningStack:
    """What a caller (``make run`` or the ``stack`` fixture) needs to reach the stack."""

    settings: StackSettings
    supervisor: Supervisor

    @property
    def gateway_url(self) -> str:
        return self.settings.gateway_url

    def grpc_address(self, svc: str) -> str:
        if svc not in self.settings.ports.grpc:
            raise KeyError(f"unknown service {svc!r}; expected one of {', '.join(SERVICES)}")
        return self.settings.grpc_address(svc)

    @property
    def service_token(self) -> str:
        return self.settings.service_token

    @property
    def database_url(self) -> str:
        return self.settings.database_url

    @property
    def redis_url(self) -> str:
        return self.settings.redis_url

    @property
    def log_dir(self) -> Path:
        return self.settings.log_dir

    def stop(self) -> None:
        self.supervisor.stop()

    def __enter__(self) -> RunningStack:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def migrate(settings: StackSettings, *, timeout: float = 120.0, echo: TextIO | None = None) -> None:
    """``python -m symphony_<svc> migrate`` for every service, concurrently (each migrates its
    own schema under its own advisory lock)."""
    env = settings.env()
    Supervisor(settings.log_dir, echo=echo).run_all(
        ((f"{svc}-migrate", settings.argv(svc, "migrate"), env) for svc in settings.services),
        timeout,
    )


def start_stack(
    settings: StackSettings,
    *,
    timeout: float = 90.0,
    run_migrations: bool = True,
    echo: TextIO | None = None,
) -> RunningStack:
    """Migrate, start the services and the gateway, wait until all are ready. On any failure
    whatever was started is stopped before the error propagates."""
    settings.log_dir.mkdir(parents=True, exist_ok=True)
    if run_migrations:
        migrate(settings, timeout=timeout, echo=echo)
    supervisor = Supervisor(settings.log_dir, echo=echo)
    env = settings.env()
    try:
        probes: dict[str, Probe] = {}
        for svc in settings.services:
            supervisor.start(svc, settings.argv(svc, "serve"), env)
            probes[svc] = grpc_health_probe(settings.grpc_address(svc))
        supervisor.wait_ready(probes, timeout)
        supervisor.start(GATEWAY, settings.argv(GATEWAY, "serve"), env)
        supervisor.wait_ready({GATEWAY: http_probe(f"{settings.gateway_url}/healthz")}, timeout)
    except BaseException:
        supervisor.stop()
        raise
    return RunningStack(settings, supervisor)
