"""What scenarios share: the database to measure against, and the bare echo server."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from bench.harness import PYTHON, ROOT, cores, free_port, process

# One database per run, so two runs on one server (CI and a developer) cannot clobber each other.
BENCH_DB = f"symphony_bench_{os.getpid()}"


@dataclass
class BenchContext:
    database_url: str
    redis_url: str
    admin_url: str = ""
    logs: Path = field(default_factory=lambda: ROOT / "bench" / "results" / "logs")

    @property
    def server_core(self) -> int | None:
        """Where servers run: the first core; generators get the last one."""
        return cores()[0] if len(cores()) > 1 else None

    @property
    def generator_core(self) -> int | None:
        return cores()[-1] if len(cores()) > 1 else None

    @contextlib.contextmanager
    def bare_echo(self, core: int | None) -> Iterator[str]:
        port = free_port()
        self.logs.mkdir(parents=True, exist_ok=True)
        with process(
            [PYTHON, "-m", "bench.bare_echo", str(port)],
            core=core,
            port=port,
            log=self.logs / "bare_echo.log",
        ):
            yield f"127.0.0.1:{port}"


def bench_database(admin_url: str) -> str:
    """A database of its own for the benchmarks, recreated each run."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {BENCH_DB}")
    base, _, _ = admin_url.rpartition("/")
    return f"{base}/{BENCH_DB}"


def context_from_env() -> BenchContext:
    admin = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    return BenchContext(
        database_url=bench_database(admin),
        redis_url=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        admin_url=admin,
    )


def drop_bench_database(ctx: BenchContext) -> None:
    with psycopg.connect(ctx.admin_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
