"""Root conftest: registers the shared fixtures (tests/common) for every layer. The repository
root is on sys.path through pytest's `pythonpath` setting, so `tests.common` imports."""

import os

# Many services run at once in a test session (in-process servers per module, the e2e stack,
# the fuzz harness), each with its own pool: keep few idle connections per pool so the suite
# fits PostgreSQL's default of 100 connections. Bursts may still open more (max_overflow), and
# a test that sets its own pool size keeps it. Subprocesses (the e2e stack) inherit these.
for _svc in ("AUTH", "REGISTRY", "SYNC", "ANALYTICS"):
    os.environ.setdefault(f"SYMPHONY_{_svc}_DB_POOL_SIZE", "2")
    os.environ.setdefault(f"SYMPHONY_{_svc}_DB_MAX_OVERFLOW", "8")

pytest_plugins = ["tests.common.stack"]
