"""Daily partitions created ahead of time, raw-event retention by dropping partitions, and the
dedupe table's own retention."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg

from symphony_analytics.bootstrap import make_service
from symphony_analytics.config import AnalyticsSettings
from symphony_common.db.engine import create_engine


def partitions(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        return sorted(
            r[0]
            for r in conn.execute(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                "WHERE i.inhparent = 'analytics.events'::regclass"
            )
        )


async def test_partitions_ahead_retention_and_dedupe_purge(analytics_url, clean) -> None:
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    engine = create_engine(analytics_url, application_name="test-retention")
    try:
        settings = AnalyticsSettings(database_url=analytics_url, raw_retention_days=90)
        service = make_service(settings, engine, registry=None, rate_limiter=None)
        await service.ensure_partitions()
        names = partitions(analytics_url)
        assert f"events_p{(today + timedelta(days=7)):%Y%m%d}" in names  # a week ahead
        assert f"events_p{(today - timedelta(days=31)):%Y%m%d}" in names  # the accepted window back
        old = today - timedelta(days=120)
        await service.ensure_partitions(old, old + timedelta(days=1))
        with psycopg.connect(analytics_url, autocommit=True) as conn:
            conn.execute(
                "INSERT INTO analytics.event_ids (install_id, event_id, receive_time) VALUES "
                "(gen_random_uuid(), gen_random_uuid(), now() - interval '40 days'),"
                " (gen_random_uuid(), gen_random_uuid(), now())"
            )
        dropped, purged = await service.apply_retention()
        assert dropped == 2 and purged == 1
        names = partitions(analytics_url)
        assert f"events_p{old:%Y%m%d}" not in names
        assert f"events_p{(today - timedelta(days=31)):%Y%m%d}" in names
        with psycopg.connect(analytics_url) as conn:
            assert conn.execute("SELECT count(*) FROM analytics.event_ids").fetchone()[0] == 1
    finally:
        await engine.dispose()


async def test_dedupe_purge_is_exact_whatever_the_order_ids_arrived_in(
    analytics_url, clean
) -> None:
    """event_ids' receive_time index is a BRIN (no per-id B-tree insert at ingest); the purge
    must still forget exactly the ids past the cutoff: old ids in summarised ranges, in ranges
    not summarised yet, and old ids written after newer ones, over several purge chunks."""
    engine = create_engine(analytics_url, application_name="test-retention")
    try:
        settings = AnalyticsSettings(database_url=analytics_url)
        service = make_service(settings, engine, registry=None, rate_limiter=None)
        insert = (
            "INSERT INTO analytics.event_ids (install_id, event_id, receive_time)"
            " SELECT gen_random_uuid(), gen_random_uuid(), now() - %s::interval"
            " FROM generate_series(1, %s)"
        )
        with psycopg.connect(analytics_url, autocommit=True) as conn:
            index = conn.execute(
                "SELECT indexdef FROM pg_indexes"
                " WHERE schemaname = 'analytics' AND indexname = 'event_ids_receive_time'"
            ).fetchone()[0]
            assert "USING brin" in index
            conn.execute(insert, ("40 days", 6_000))
            conn.execute(insert, ("1 hour", 9_000))
            conn.execute("SELECT brin_summarize_new_values('analytics.event_ids_receive_time')")
            conn.execute(insert, ("35 days", 8_000))  # old ids after newer ones
            conn.execute(insert, ("2 days", 1_000))
            conn.execute(insert, ("31 days 1 hour", 7_000))  # just past window + 1 day margin
            conn.execute(insert, ("30 days", 500))  # inside the margin: kept
        _, purged = await service.apply_retention()
        assert purged == 21_000
        with psycopg.connect(analytics_url) as conn:
            left = conn.execute(
                "SELECT count(*), min(receive_time) > now() - interval '31 days'"
                " FROM analytics.event_ids"
            ).fetchone()
        assert left == (10_500, True)
    finally:
        await engine.dispose()
