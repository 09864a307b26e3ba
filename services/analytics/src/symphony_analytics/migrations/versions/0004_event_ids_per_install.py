# ruff: noqa: E501 - SQL text
"""An event is known by its install and its id: the dedupe key becomes (install_id, event_id).

A retry resends the same event, install id included, so every retry is still caught; and the
ids of a batch (one install, as the editor sends them) now land on a few neighbouring pages of
the key instead of 500 random ones, which halves the dedupe's cost per batch (NOTES.md,
"Ingest speed", Step 7). PostHog's events keep the same identity (distinct id + uuid).

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# Ids kept for the dedupe window all have their events (raw retention is longer); an id whose
# event is gone can no longer be told apart, and keeps the nil install (it then dedupes
# nothing, as its event is gone anyway).
UPGRADE = """
ALTER TABLE analytics.event_ids ADD COLUMN install_id uuid;
UPDATE analytics.event_ids i SET install_id = e.install_id
FROM analytics.events e WHERE e.event_id = i.event_id;
UPDATE analytics.event_ids SET install_id = '00000000-0000-0000-0000-000000000000' WHERE install_id IS NULL;
ALTER TABLE analytics.event_ids ALTER COLUMN install_id SET NOT NULL;
ALTER TABLE analytics.event_ids DROP CONSTRAINT event_ids_pkey;
ALTER TABLE analytics.event_ids ADD CONSTRAINT event_ids_pkey PRIMARY KEY (install_id, event_id);
"""

# Back to one row per id: of an id stored for several installs, the earliest stays.
DOWNGRADE = """
DELETE FROM analytics.event_ids a USING analytics.event_ids b
WHERE a.event_id = b.event_id AND (a.receive_time, a.install_id) > (b.receive_time, b.install_id);
ALTER TABLE analytics.event_ids DROP CONSTRAINT event_ids_pkey;
ALTER TABLE analytics.event_ids DROP COLUMN install_id;
ALTER TABLE analytics.event_ids ADD CONSTRAINT event_ids_pkey PRIMARY KEY (event_id);
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
