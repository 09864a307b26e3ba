# ruff: noqa: E501 - SQL text
"""The dedupe table's receive_time index becomes a BRIN: it only serves the purge, and ids are
appended in receive order, so a block-range summary finds the old rows; a B-tree cost every
ingested id an index insert and its WAL (see NOTES.md "Ingest speed").

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# autosummarize: ranges filled since the last vacuum are summarised as they fill (an
# unsummarised range is always scanned, so the purge stays correct either way).
UPGRADE = """
DROP INDEX analytics.event_ids_receive_time;
CREATE INDEX event_ids_receive_time ON analytics.event_ids USING brin (receive_time) WITH (autosummarize = on);
"""

DOWNGRADE = """
DROP INDEX analytics.event_ids_receive_time;
CREATE INDEX event_ids_receive_time ON analytics.event_ids (receive_time);
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
