# ruff: noqa: E501 - SQL text
"""Analytics schema: partitioned raw events, the dedupe table, rollups, counters, downloads.

Revision ID: 0001
Revises:
"""

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SCHEMA = "analytics"

UPGRADE = r"""
-- Raw events, exactly the allowlisted fields (symphony_analytics.domain.models.STORED_FIELDS),
-- one partition per UTC day of event_time. No primary key: a partitioned table's unique index
-- must contain the partition key, so dedupe lives in event_ids instead.
CREATE TABLE analytics.events (
    event_id uuid NOT NULL,
    name text NOT NULL,
    event_time timestamptz NOT NULL,
    receive_time timestamptz NOT NULL,
    install_id uuid NOT NULL,
    session_id uuid NOT NULL,
    editor_version text NOT NULL,
    platform text NOT NULL,
    properties jsonb NOT NULL,
    schema_version smallint NOT NULL
) PARTITION BY RANGE (event_time);

-- Dedupe: every id accepted within the dedupe window, with its own retention (purged by
-- receive_time, independently of the event partitions).
CREATE TABLE analytics.event_ids (
    event_id uuid PRIMARY KEY,
    receive_time timestamptz NOT NULL
);
CREATE INDEX event_ids_receive_time ON analytics.event_ids (receive_time);

-- Rollups at install grain: events per (bucket, event, install, dimensions). Counts are sums,
-- distinct installs are count(*) over a group, so any group-by and filter combination is exact.
CREATE TABLE analytics.activity_hourly (
    bucket timestamptz NOT NULL,
    event text NOT NULL,
    install_id uuid NOT NULL,
    editor_version text NOT NULL,
    platform text NOT NULL,
    extension text NOT NULL,
    event_count bigint NOT NULL,
    PRIMARY KEY (event, bucket, install_id, editor_version, platform, extension)
);
CREATE TABLE analytics.activity_daily (
    day timestamptz NOT NULL,
    event text NOT NULL,
    install_id uuid NOT NULL,
    editor_version text NOT NULL,
    platform text NOT NULL,
    extension text NOT NULL,
    extension_version text NOT NULL,
    event_count bigint NOT NULL,
    PRIMARY KEY (event, day, install_id, editor_version, platform, extension, extension_version)
);
CREATE INDEX activity_daily_day ON analytics.activity_daily (day);
CREATE INDEX activity_daily_extension ON analytics.activity_daily (extension, day) WHERE extension <> '';

-- Counters (per receive hour): drops by reason and event, accepted and duplicate totals.
-- ingest_counts is sharded so concurrent batches do not queue on one row lock.
CREATE TABLE analytics.dropped_counts (
    bucket timestamptz NOT NULL,
    reason text NOT NULL,
    event text NOT NULL,
    dropped bigint NOT NULL,
    PRIMARY KEY (bucket, reason, event)
);
CREATE TABLE analytics.ingest_counts (
    bucket timestamptz NOT NULL,
    shard smallint NOT NULL,
    accepted bigint NOT NULL,
    duplicates bigint NOT NULL,
    PRIMARY KEY (bucket, shard)
);

-- Downloads from the registry's outbox, deduped by outbox id.
CREATE TABLE analytics.download_outbox_ids (
    outbox_id bigint PRIMARY KEY,
    record_time timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE analytics.downloads_daily (
    namespace text NOT NULL,
    extension text NOT NULL,
    day timestamptz NOT NULL,
    version text NOT NULL,
    target_platform text NOT NULL,
    downloads bigint NOT NULL,
    PRIMARY KEY (namespace, extension, day, version, target_platform)
);

-- Partition upkeep, serialised by an advisory lock so replicas do not race.
CREATE FUNCTION analytics.ensure_event_partitions(first_day date, last_day date)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    d date := first_day;
    part text;
    created integer := 0;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('analytics.events partitions'));
    WHILE d <= last_day LOOP
        part := 'events_p' || to_char(d, 'YYYYMMDD');
        IF to_regclass('analytics.' || part) IS NULL THEN
            EXECUTE format(
                'CREATE TABLE analytics.%I PARTITION OF analytics.events FOR VALUES FROM (%L) TO (%L)',
                part, (d::timestamp AT TIME ZONE 'UTC'), ((d + 1)::timestamp AT TIME ZONE 'UTC'));
            created := created + 1;
        END IF;
        d := d + 1;
    END LOOP;
    RETURN created;
END $$;

CREATE FUNCTION analytics.drop_event_partitions_before(cutoff date)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    part record;
    dropped integer := 0;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('analytics.events partitions'));
    FOR part IN
        SELECT c.relname FROM pg_inherits i
        JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'analytics.events'::regclass AND c.relname ~ '^events_p[0-9]{8}$'
    LOOP
        IF to_date(substr(part.relname, 9), 'YYYYMMDD') + 1 <= cutoff THEN
            EXECUTE format('DROP TABLE analytics.%I', part.relname);
            dropped := dropped + 1;
        END IF;
    END LOOP;
    RETURN dropped;
END $$;

-- Partitions ahead of time: the accepted event-time window (30 days back) and a week ahead.
SELECT analytics.ensure_event_partitions((now() AT TIME ZONE 'UTC')::date - 32, (now() AT TIME ZONE 'UTC')::date + 7);
"""

DOWNGRADE = """
DROP FUNCTION IF EXISTS analytics.drop_event_partitions_before(date);
DROP FUNCTION IF EXISTS analytics.ensure_event_partitions(date, date);
DROP TABLE IF EXISTS analytics.downloads_daily;
DROP TABLE IF EXISTS analytics.download_outbox_ids;
DROP TABLE IF EXISTS analytics.ingest_counts;
DROP TABLE IF EXISTS analytics.dropped_counts;
DROP TABLE IF EXISTS analytics.activity_daily;
DROP TABLE IF EXISTS analytics.activity_hourly;
DROP TABLE IF EXISTS analytics.event_ids;
DROP TABLE IF EXISTS analytics.events;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
