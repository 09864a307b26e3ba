"""Small helpers shared by the private servers and the supervisor."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

LOOPBACK = "127.0.0.1"


def data_dir() -> Path:
    """Where private data lives: ``SYMPHONY_DEV_DATA_DIR`` or ``./.data``."""
    configured = os.environ.get("SYMPHONY_DEV_DATA_DIR")
    path = Path(configured) if configured else Path.cwd() / ".data"
    path.mkdir(parents=True, exist_ok=True)
    return path.resolve()


def free_port(host: str = LOOPBACK) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_is_free(port: int, host: str = LOOPBACK) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As servers do: a port held only by TIME_WAIT sockets of a stopped server is free.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def tcp_open(port: int, host: str = LOOPBACK, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie still answers kill(0); it is dead for our purposes.
    with contextlib.suppress(OSError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat.rsplit(")", 1)[1].split()[0] == "Z":
            return False
    return True


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def env_port(name: str) -> int | None:
    raw = os.environ.get(name)
    if not raw:
        return None
    try:
        port = int(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a port number") from None
    if not 0 < port < 65536:
        raise ValueError(f"{name}={raw!r} is not a port number")
    return port


def tail(path: Path, lines: int = 40) -> str:
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 64 * 1024))
            text = handle.read().decode("utf-8", "replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:]) or "(empty log)"


class Holders:
    """Which live processes use a private server, kept in ``<name>.holders`` under a file lock.

    `make run` and `make test` may share one private PostgreSQL; the last process to let go
    stops it, and a server left behind by a killed process is adopted by the next one.
    """

    def __init__(self, directory: Path, name: str) -> None:
        self._path = directory / f"{name}.holders"
        self._lock_path = directory / f"{name}.lock"

    @contextlib.contextmanager
    def locked(self) -> Iterator[list[int]]:
        """Yield the live holders under an exclusive lock; changes to the list are saved."""
        with self._lock_path.open("a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                holders = [pid for pid in self._read() if pid_alive(pid)]
                yield holders
                self._path.write_text(json.dumps(sorted(set(holders))))
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _read(self) -> list[int]:
        try:
            data = json.loads(self._path.read_text())
        except (OSError, ValueError):
            return []
        return [int(pid) for pid in data if isinstance(pid, int)]
