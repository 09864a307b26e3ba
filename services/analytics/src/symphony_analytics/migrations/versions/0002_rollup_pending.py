# ruff: noqa: E501 - SQL text
"""Rollups folded in the background: ingest appends deltas to rollup_pending, a fold drains
them into activity_hourly/activity_daily (see NOTES.md "Ingest speed").

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

UPGRADE = r"""
-- Rollup deltas of committed ingest batches, not yet in the rollups: one row per (hour, event,
-- install, dimensions, extension_version) of a batch. Append-only for ingest (no index, so no
-- conflicts or lock waits); the fold deletes what it adds, in one transaction. Logged on
-- purpose: crash recovery empties an UNLOGGED table, which would lose acknowledged counts.
CREATE TABLE analytics.rollup_pending (
    bucket timestamptz NOT NULL,
    event text NOT NULL,
    install_id uuid NOT NULL,
    editor_version text NOT NULL,
    platform text NOT NULL,
    extension text NOT NULL,
    extension_version text NOT NULL,
    event_count bigint NOT NULL
);

-- One row: every batch acknowledged before folded_through is in the rollups.
CREATE TABLE analytics.rollup_folds (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    folded_through timestamptz NOT NULL
);
INSERT INTO analytics.rollup_folds (folded_through) VALUES (now());
"""

# Fold what is pending before the table goes, so going down loses no count.
DOWNGRADE = """
SELECT pg_advisory_xact_lock(hashtext('analytics.rollups'));
LOCK TABLE analytics.rollup_pending IN SHARE ROW EXCLUSIVE MODE;
INSERT INTO analytics.activity_hourly AS t (bucket, event, install_id, editor_version, platform, extension, event_count)
SELECT bucket, event, install_id, editor_version, platform, extension, sum(event_count)
FROM analytics.rollup_pending GROUP BY 1, 2, 3, 4, 5, 6
ON CONFLICT (event, bucket, install_id, editor_version, platform, extension)
DO UPDATE SET event_count = t.event_count + EXCLUDED.event_count;
INSERT INTO analytics.activity_daily AS t (day, event, install_id, editor_version, platform, extension, extension_version, event_count)
SELECT date_trunc('day', bucket, 'UTC'), event, install_id, editor_version, platform, extension, extension_version, sum(event_count)
FROM analytics.rollup_pending GROUP BY 1, 2, 3, 4, 5, 6, 7
ON CONFLICT (event, day, install_id, editor_version, platform, extension, extension_version)
DO UPDATE SET event_count = t.event_count + EXCLUDED.event_count;
DROP TABLE analytics.rollup_folds;
DROP TABLE analytics.rollup_pending;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
