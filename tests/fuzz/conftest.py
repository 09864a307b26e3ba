"""The fuzz harness' fixtures: the four services in-process on a database of their own."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.common.stack import (
    REDIS_DATABASES,
    fresh_database,
    with_database,
    worker_index,
    worker_name,
)
from tests.fuzz.harness import FuzzStack, rss_bytes


@pytest.fixture(scope="session")
def fuzz_redis_url(admin_redis_url: str) -> Iterator[str]:
    """A Redis database counted down from the top (``redis_url`` counts up from 1), so the
    fuzzer's rate-limit counters cannot throttle other tests of this worker."""
    import redis

    url = with_database(admin_redis_url, str(REDIS_DATABASES - 1 - worker_index() % 7))
    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
        yield url
        client.flushdb()
    finally:
        client.close()


@pytest.fixture(scope="session")
def fuzz_stack(admin_database_url: str, fuzz_redis_url: str) -> Iterator[FuzzStack]:
    """Auth, registry, sync and analytics through `start_service`, peers wired to each other.

    The database is the harness' own (created like ``database_url``, dropped at the end):
    fuzzed rows (users, namespaces, rate-limit state) must not leak into other tests of this
    worker, which expect ``database_url`` to hold only what they wrote."""
    name = f"symphony_fuzz_{worker_name()}_{secrets.token_hex(3)}".lower()
    with fresh_database(admin_database_url, name) as url:
        stack = FuzzStack(database_url=url, redis_url=fuzz_redis_url)
        stack.start()
        stack.warm_up()
        stack.rss_after_warm_up = rss_bytes()
        try:
            yield stack
        finally:
            stack.stop()
            if report := os.environ.get("SYMPHONY_FUZZ_REPORT"):
                path = Path(f"{report}.{worker_name()}.json")
                path.write_text(
                    json.dumps(
                        {
                            "stats": {k: dict(v) for k, v in sorted(stack.stats.items())},
                            "rss_growth_bytes": stack.rss_growth,
                            "rss_deltas": stack.rss_deltas,
                            "rss_after_warm_up_bytes": stack.rss_after_warm_up,
                            "rss_end_bytes": rss_bytes(),
                            "start_errors": stack.start_errors,
                        },
                        indent=1,
                    )
                )


@pytest.fixture
def checked_stack(fuzz_stack: FuzzStack) -> Iterator[FuzzStack]:
    """The stack, checked after the test: the event loop still runs and every service still
    answers its liveness check (the services share this process, so a crash shows here)."""
    yield fuzz_stack
    dead = fuzz_stack.alive()
    assert not dead, f"a service stopped answering: {dead}"
