"""Every service's migrations go up, all the way down, and up again on a database of their own,
and each service writes only inside its own schema."""

from __future__ import annotations

import importlib
from collections.abc import Iterator

import psycopg
import pytest

from symphony_common.db import migrations
from tests.common.stack import _database_name, fresh_database

SERVICES = ("auth", "registry", "sync", "analytics")


@pytest.fixture(scope="module")
def scratch_database(admin_database_url: str) -> Iterator[str]:
    with fresh_database(admin_database_url, _database_name("migrations")) as url:
        yield url


def tables(url: str, schema: str) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (schema,)
        ).fetchall()
    return {row[0] for row in rows}


def schemas(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg_%' "
            "AND nspname <> 'information_schema'"
        ).fetchall()
    return {row[0] for row in rows}


@pytest.mark.parametrize("svc", SERVICES)
def test_upgrade_downgrade_upgrade(svc: str, scratch_database: str) -> None:
    definition = importlib.import_module(f"symphony_{svc}.bootstrap").DEFINITION
    before = schemas(scratch_database)

    migrations.upgrade(scratch_database, definition.schema, definition.migrations_dir)
    created = tables(scratch_database, svc)
    assert "alembic_version" in created
    # Nothing outside the service's own schema (the extensions a migration may enable aside).
    assert schemas(scratch_database) - before <= {svc}

    migrations.downgrade(scratch_database, definition.schema, definition.migrations_dir, "base")
    assert tables(scratch_database, svc) == {"alembic_version"}

    migrations.upgrade(scratch_database, definition.schema, definition.migrations_dir)
    assert tables(scratch_database, svc) == created
