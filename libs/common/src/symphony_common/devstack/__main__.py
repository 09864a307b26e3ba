"""``python -m symphony_common.devstack run | test -- ARGS | exec -- COMMAND | migrate | down``."""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import Protocol

from symphony_common.devstack._shared import data_dir
from symphony_common.devstack.errors import DevStackError
from symphony_common.devstack.postgres import (
    MAX_CONNECTIONS,
    allowed_connections,
    ensure_postgres,
    stop_postgres,
)
from symphony_common.devstack.redis import ensure_redis, stop_redis
from symphony_common.devstack.supervisor import (
    SERVICES,
    StackPorts,
    StackSettings,
    migrate,
    start_stack,
)


class _Lease(Protocol):
    def release(self) -> bool: ...


class _Stop(Exception):
    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class _StopOnce:
    """Signal handler that interrupts the main thread once; later signals (make relays a
    SIGTERM it got as well, impatient users press Ctrl-C twice) must not cut the clean-up."""

    def __init__(self) -> None:
        self.fired = False

    def __call__(self, signum: int, _frame: FrameType | None) -> None:
        if not self.fired:
            self.fired = True
            raise _Stop(signum)


def _say(message: str) -> None:
    print(f"devstack: {message}", file=sys.stderr, flush=True)


def _backing_services(leases: list[_Lease]) -> tuple[str, str]:
    """DATABASE_URL and REDIS_URL from the environment, or private servers under .data/."""
    database_url = os.environ.get("DATABASE_URL")
    if not database_url:
        pg = ensure_postgres()
        leases.append(pg)
        database_url = pg.url
        _say(f"PostgreSQL {'started' if pg.started else 'reused'} in {pg.pgdata} ({pg.url})")
    redis_url = os.environ.get("REDIS_URL")
    if not redis_url:
        rd = ensure_redis()
        leases.append(rd)
        redis_url = rd.url
        _say(f"Redis {'started' if rd.started else 'reused'} in {rd.directory} ({rd.url})")
    return database_url, redis_url


def _release(leases: list[_Lease]) -> None:
    for lease in reversed(leases):
        try:
            lease.release()
        except Exception as exc:  # keep releasing the others
            _say(f"could not stop {lease}: {exc}")
    leases.clear()


def _service_token(base: Path) -> str:
    """SYMPHONY_SERVICE_TOKEN, or one generated once and kept in .data/service-token."""
    if token := os.environ.get("SYMPHONY_SERVICE_TOKEN"):
        return token
    path = base / "service-token"
    if path.exists():
        return path.read_text().strip()
    token = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(token + "\n")
    return token


def _banner(settings: StackSettings, base: Path) -> str:
    rows = [("gateway", f"{settings.gateway_url}  (/healthz, /openapi.json)")]
    rows += [(svc, f"{settings.grpc_address(svc)}  (gRPC, reflection)") for svc in SERVICES]
    rows += [
        ("PostgreSQL", settings.database_url),
        ("Redis", settings.redis_url),
        ("logs", str(settings.log_dir)),
        ("data", str(base)),
    ]
    lines = ["", "Symphony Backbone is up:"]
    lines += [f"  {name:<11} {value}" for name, value in rows]
    lines += ["Press Ctrl-C to stop everything started here.", ""]
    return "\n".join(lines)


def cmd_run(args: argparse.Namespace) -> int:
    handler = _StopOnce()
    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    leases: list[_Lease] = []
    stack = None
    try:
        base = data_dir()
        ports = StackPorts.configured()
        ports.check_free()
        database_url, redis_url = _backing_services(leases)
        settings = StackSettings(
            database_url=database_url,
            redis_url=redis_url,
            service_token=_service_token(base),
            ports=ports,
            log_dir=base / "logs",
            log_level=os.environ.get("SYMPHONY_LOG_LEVEL", "INFO"),
        )
        echo = None if args.quiet else sys.stdout
        stack = start_stack(settings, timeout=args.timeout, echo=echo)
        print(_banner(settings, base), flush=True)
        while (dead := stack.supervisor.exited()) is None:
            time.sleep(0.5)
        _say(f"{dead.name} exited with code {dead.poll()}; last lines:\n{dead.tail()}")
        return 1
    except _Stop as stop:
        _say(f"{stop} received, stopping")
        return 0
    except (DevStackError, ValueError) as exc:
        _say(f"error: {exc}")
        return 1
    finally:
        handler.fired = True  # from here on signals are ignored; stop() escalates to SIGKILL
        if stack is not None:
            stack.stop()
        _release(leases)
        for sig, old in previous.items():
            signal.signal(sig, old)


def cmd_test(args: argparse.Namespace) -> int:
    pytest_args = list(args.pytest_args)
    if pytest_args[:1] == ["--"]:
        pytest_args = pytest_args[1:]
    configured = os.environ.get("DATABASE_URL")
    allowed = allowed_connections(configured) if configured else None
    if allowed is not None and allowed < MAX_CONNECTIONS:
        _say(
            f"warning: the PostgreSQL at DATABASE_URL allows {allowed} connections and the suite"
            f" can peak near 100; set max_connections = {MAX_CONNECTIONS} there (as the private"
            " server runs), or unset DATABASE_URL to use a private server"
        )
    return _with_backing_services([sys.executable, "-m", "pytest", *pytest_args])


def cmd_exec(args: argparse.Namespace) -> int:
    command = list(args.command)
    if command[:1] == ["--"]:
        command = command[1:]
    if not command:
        _say("error: exec needs a command")
        return 2
    return _with_backing_services(command)


def _with_backing_services(command: list[str]) -> int:
    """Run `command` with DATABASE_URL/REDIS_URL set (private servers when unset), pass its
    exit code back, and release the servers afterwards."""
    leases: list[_Lease] = []
    child: subprocess.Popen[bytes] | None = None

    def forward(signum: int, _frame: FrameType | None) -> None:
        if child is not None and child.poll() is None:
            child.send_signal(signum)

    # Ctrl-C reaches pytest from the terminal directly (same process group): pytest then tears
    # down its fixtures, and we release the servers once it has exited.
    previous = {
        signal.SIGINT: signal.signal(signal.SIGINT, signal.SIG_IGN),
        signal.SIGTERM: signal.signal(signal.SIGTERM, forward),
    }
    try:
        try:
            database_url, redis_url = _backing_services(leases)
        except DevStackError as exc:
            _say(f"error: {exc}")
            return 1
        env = dict(os.environ)
        env.update(
            DATABASE_URL=database_url,
            REDIS_URL=redis_url,
            SYMPHONY_DEV_DATA_DIR=str(data_dir()),
        )
        child = subprocess.Popen(command, env=env)
        code = child.wait()
        return code if code >= 0 else 128 - code
    finally:
        if child is not None and child.poll() is None:
            child.terminate()
            child.wait()
        _release(leases)
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def cmd_migrate(args: argparse.Namespace) -> int:
    leases: list[_Lease] = []
    try:
        base = data_dir()
        database_url, redis_url = _backing_services(leases)
        settings = StackSettings(
            database_url=database_url,
            redis_url=redis_url,
            service_token=_service_token(base),
            ports=StackPorts.configured(),
            log_dir=base / "logs",
        )
        migrate(settings, timeout=args.timeout, echo=sys.stdout)
        _say("every schema is migrated")
        return 0
    except DevStackError as exc:
        _say(f"error: {exc}")
        return 1
    finally:
        _release(leases)


def cmd_down(_args: argparse.Namespace) -> int:
    """Stop the private servers under .data/ even if a killed run left them behind."""
    base = data_dir()
    if (base / "postgres" / "PG_VERSION").exists():
        with contextlib.suppress(DevStackError):
            stop_postgres(base / "postgres")
    stop_redis(base / "redis")
    for name in ("postgres", "redis"):
        (base / f"{name}.holders").unlink(missing_ok=True)
    _say(f"private servers under {base} are stopped")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m symphony_common.devstack",
        description="Local Symphony Backbone stack with private PostgreSQL and Redis.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="migrate and run every service and the gateway")
    run.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for readiness")
    run.add_argument("--quiet", action="store_true", help="do not echo the children's logs")
    run.set_defaults(func=cmd_run)
    test = sub.add_parser("test", help="run pytest against DATABASE_URL/REDIS_URL or private ones")
    test.add_argument("pytest_args", nargs=argparse.REMAINDER)
    test.set_defaults(func=cmd_test)
    run_cmd = sub.add_parser(
        "exec", help="run a command against DATABASE_URL/REDIS_URL or private ones"
    )
    run_cmd.add_argument("command", nargs=argparse.REMAINDER)
    run_cmd.set_defaults(func=cmd_exec)
    mig = sub.add_parser("migrate", help="migrate every service's schema")
    mig.add_argument("--timeout", type=float, default=300.0)
    mig.set_defaults(func=cmd_migrate)
    down = sub.add_parser("down", help="stop private PostgreSQL/Redis left running under .data/")
    down.set_defaults(func=cmd_down)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
