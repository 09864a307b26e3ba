"""A PostgreSQL of the test's own (never the machine's shared one), so a test may stop it with
`pg_ctl stop -m immediate`: the system `initdb`/`pg_ctl`, a temp directory, a free port."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _bin(name: str) -> str:
    found = shutil.which(name) or f"/usr/local/bin/{name}"
    return found


def _as_user() -> dict[str, Any]:
    if os.geteuid() != 0:
        return {}
    entry = pwd.getpwnam("postgres")  # PostgreSQL refuses to run as root
    return {"user": entry.pw_uid, "group": entry.pw_gid}


def _command(*args: str) -> list[str]:
    """As root, run through `runuser`: switching users inside a forked child of a process with
    gRPC threads is unsafe, while a plain fork+exec (vfork) is fine."""
    if os.geteuid() != 0:
        return list(args)
    return [shutil.which("runuser") or "/usr/sbin/runuser", "-u", "postgres", "--", *args]


@dataclass
class PrivatePostgres:
    base: Path
    port: int

    @property
    def pgdata(self) -> Path:
        return self.base / "data"

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _pg_ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            _command(_bin("pg_ctl"), "-D", str(self.pgdata), *args),
            capture_output=True,
            text=True,
            check=check,
            cwd="/",
            stdin=subprocess.DEVNULL,
        )

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' "
            "-c max_connections=100 -c fsync=on"
        )
        self._pg_ctl("-l", str(self.base / "server.log"), "-w", "-t", "60", "-o", options, "start")

    def stop_immediate(self) -> None:
        """A crash as far as the data is concerned: no checkpoint, recovery on the next start."""
        self._pg_ctl("stop", "-m", "immediate", "-w")

    def stop(self) -> None:
        self._pg_ctl("stop", "-m", "fast", "-w", check=False)

    def running(self) -> bool:
        return self._pg_ctl("status", check=False).returncode == 0


def create_private_postgres() -> PrivatePostgres:
    base = Path(tempfile.mkdtemp(prefix="symphony-an1-", dir="/tmp"))
    user = _as_user()
    if user:
        os.chown(base, user["user"], user["group"])
    subprocess.run(
        _command(
            _bin("initdb"),
            "-D",
            str(base / "data"),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        ),
        capture_output=True,
        text=True,
        check=True,
        cwd="/",
    )
    pg = PrivatePostgres(base, free_port())
    pg.start()
    return pg


def destroy(pg: PrivatePostgres) -> None:
    pg.stop()
    for _ in range(50):
        if not pg.running():
            break
        time.sleep(0.1)
    shutil.rmtree(pg.base, ignore_errors=True)
