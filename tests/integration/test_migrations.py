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


def test_analytics_dedupe_key_moves_to_the_install_and_back(admin_database_url: str) -> None:
    """0004 keys the dedupe by (install_id, event_id): known ids take their event's install, an
    id whose event is gone the nil install; going back keeps one row per id."""
    definition = importlib.import_module("symphony_analytics.bootstrap").DEFINITION
    up = (definition.schema, definition.migrations_dir)
    with fresh_database(admin_database_url, _database_name("dedupe_key")) as url:
        migrations.upgrade(url, *up, "0003")
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(
                "INSERT INTO analytics.events SELECT gen_random_uuid(), 'file_opened', now(),"
                " now(), gen_random_uuid(), gen_random_uuid(), '1.0.0', 'web', '{}', 2"
                " FROM generate_series(1, 3)"
            )
            conn.execute(
                "INSERT INTO analytics.event_ids"
                " SELECT event_id, receive_time FROM analytics.events"
            )
            conn.execute("INSERT INTO analytics.event_ids VALUES (gen_random_uuid(), now())")
        migrations.upgrade(url, *up, "0004")
        with psycopg.connect(url, autocommit=True) as conn:
            known = conn.execute(
                "SELECT count(*) FROM analytics.event_ids JOIN analytics.events"
                " USING (install_id, event_id)"
            ).fetchone()[0]
            orphans = conn.execute(
                "SELECT count(*) FROM analytics.event_ids"
                " WHERE install_id = '00000000-0000-0000-0000-000000000000'"
            ).fetchone()[0]
            assert (known, orphans) == (3, 1)
            # The same id from a second install: another event now.
            conn.execute(
                "INSERT INTO analytics.event_ids (install_id, event_id, receive_time)"
                " SELECT gen_random_uuid(), event_id, receive_time + interval '1 second'"
                " FROM analytics.events"
            )
            before = conn.execute("SELECT event_id, receive_time FROM analytics.events").fetchall()
        migrations.downgrade(url, *up, "0003")
        with psycopg.connect(url) as conn:
            after = conn.execute(
                "SELECT event_id, receive_time FROM analytics.event_ids JOIN analytics.events"
                " USING (event_id, receive_time)"
            ).fetchall()
            assert sorted(after) == sorted(before)  # one row per id, the earliest
            assert conn.execute("SELECT count(*) FROM analytics.event_ids").fetchone()[0] == 4
