"""Backing services and the whole stack for tests.

- ``database_url``: a fresh database for this test worker, created through the admin connection
  of ``DATABASE_URL`` and dropped at session end. Tests run the migrations into it.
- ``redis_url``: this worker's own Redis database number, flushed before and after.
- ``stack``: the four services and the gateway as real processes on free ports, migrated, on a
  second per-worker database (so migration tests that downgrade ``database_url`` cannot pull
  the schemas out from under it). Started by the same code as ``make run``.

Without ``DATABASE_URL``/``REDIS_URL`` (pytest run directly, not through ``make test``) the
private servers of ``make run`` are started and released at session end.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest

from symphony_common.devstack import (
    RunningStack,
    StackPorts,
    StackSettings,
    ensure_postgres,
    ensure_redis,
    start_stack,
)

REDIS_DATABASES = 16  # Redis' default; database 0 is left to `make run`


def worker_name() -> str:
    """``gw0``, ``gw1``… under pytest-xdist, ``main`` otherwise."""
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def worker_index() -> int:
    match = re.fullmatch(r"gw(\d+)", worker_name())
    return int(match.group(1)) if match else 0


def with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{database}"))


@contextlib.contextmanager
def fresh_database(admin_url: str, database: str) -> Iterator[str]:
    """Create ``database`` (dropping a leftover of the same name) and drop it afterwards."""
    import psycopg
    from psycopg import sql

    ident = sql.Identifier(database)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(ident))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(ident))
    try:
        yield with_database(admin_url, database)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(ident))


@pytest.fixture(scope="session")
def admin_database_url() -> Iterator[str]:
    """``DATABASE_URL``, or the private server's when unset. Do not write to it in tests."""
    if url := os.environ.get("DATABASE_URL"):
        yield url
        return
    pg = ensure_postgres()
    try:
        yield pg.url
    finally:
        pg.release()


@pytest.fixture(scope="session")
def admin_redis_url() -> Iterator[str]:
    if url := os.environ.get("REDIS_URL"):
        yield url
        return
    rd = ensure_redis()
    try:
        yield rd.url
    finally:
        rd.release()


def _database_name(purpose: str) -> str:
    # Unique per run too, so two runs against one server (CI and a developer) do not collide.
    return f"symphony_{purpose}_{worker_name()}_{secrets.token_hex(3)}".lower()


@pytest.fixture(scope="session")
def database_url(admin_database_url: str) -> Iterator[str]:
    """An empty database of this worker's own; migrate it in the test or fixture that needs it."""
    with fresh_database(admin_database_url, _database_name("test")) as url:
        yield url


@pytest.fixture(scope="session")
def redis_url(admin_redis_url: str) -> Iterator[str]:
    """This worker's Redis database (1..15 by worker index), flushed before and after."""
    import redis

    db = 1 + worker_index() % (REDIS_DATABASES - 1)
    url = with_database(admin_redis_url, str(db))
    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
        yield url
        client.flushdb()
    finally:
        client.close()


@pytest.fixture(scope="session")
def stack_database_url(admin_database_url: str) -> Iterator[str]:
    with fresh_database(admin_database_url, _database_name("stack")) as url:
        yield url


@pytest.fixture(scope="session")
def stack(
    stack_database_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningStack]:
    """All four services and the gateway, migrated and ready, on free loopback ports.

    ``stack.gateway_url``, ``stack.grpc_address("auth")``, ``stack.service_token``; the
    children's logs are in ``stack.log_dir`` and their last lines appear in any start-up error.
    """
    settings = StackSettings(
        database_url=stack_database_url,
        redis_url=redis_url,
        service_token=secrets.token_urlsafe(32),
        ports=StackPorts.free(),
        log_dir=tmp_path_factory.mktemp("stack-logs"),
        log_level=os.environ.get("SYMPHONY_LOG_LEVEL", "INFO"),
    )
    running = start_stack(settings, timeout=float(os.environ.get("SYMPHONY_STACK_TIMEOUT", "120")))
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(autouse=True)
def _stack_outlives_each_test(request: pytest.FixtureRequest) -> Iterator[None]:
    """A stack child that dies during a test (a crash in native code, say) fails that test with
    the child's last lines, instead of every later test failing without saying why."""
    yield
    if "stack" not in request.fixturenames:
        return
    running: RunningStack = request.getfixturevalue("stack")
    if (child := running.supervisor.exited()) is not None:
        pytest.fail(
            f"{child.name} exited with code {child.poll()} during this test; "
            f"last lines of {child.log_path}:\n{child.tail()}"
        )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests that use ``stack`` (or live in tests/e2e) are ``e2e``; under ``--dist loadgroup``
    they all go to one worker, so only one stack starts per run."""
    e2e_dir = config.rootpath / "tests" / "e2e"
    grouped = config.pluginmanager.hasplugin("xdist")
    for item in items:
        if "stack" not in getattr(item, "fixturenames", ()) and e2e_dir not in item.path.parents:
            continue
        if item.get_closest_marker("e2e") is None:
            item.add_marker(pytest.mark.e2e)
        if grouped and item.get_closest_marker("xdist_group") is None:
            item.add_marker(pytest.mark.xdist_group("stack"))
