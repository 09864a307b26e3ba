"""Initial sync schema: per-user counters, items, history, devices, snapshots, idempotency.

Revision ID: 0001
Revises:
"""
# ruff: noqa: S608, E501

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SCHEMA = "sync"

UPGRADE = f"""
-- One row per user: the revision counter that only increases. Every write locks this row
-- (SELECT ... FOR UPDATE) before taking revisions, so a user's writes commit in revision
-- order and a pull cursor never skips a commit.
CREATE TABLE {SCHEMA}.users (
    user_id          text PRIMARY KEY,
    revision         bigint NOT NULL DEFAULT 0,
    generation       integer NOT NULL DEFAULT 1,
    usage_bytes      bigint NOT NULL DEFAULT 0,
    item_count       bigint NOT NULL DEFAULT 0,
    -- Cursors below this revision may have missed deletions (purged tombstones, a reset):
    -- pulls from them answer reset_required.
    tombstone_floor  bigint NOT NULL DEFAULT 0,
    create_time      timestamptz NOT NULL DEFAULT now(),
    update_time      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_revision_nonnegative CHECK (revision >= 0)
);

-- The latest version of every item (tombstones included until they expire).
CREATE TABLE {SCHEMA}.items (
    user_id       text NOT NULL,
    collection    text NOT NULL,
    key           text NOT NULL,
    revision      bigint NOT NULL,
    value         bytea NOT NULL DEFAULT ''::bytea,
    content_type  text NOT NULL DEFAULT '',
    encrypted     boolean NOT NULL DEFAULT false,
    mergeable     boolean NOT NULL DEFAULT false,
    deleted       boolean NOT NULL DEFAULT false,
    device        text NOT NULL DEFAULT '',
    size_bytes    bigint NOT NULL DEFAULT 0,
    update_time   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, collection, key)
);
CREATE UNIQUE INDEX items_user_revision ON {SCHEMA}.items (user_id, revision);
CREATE INDEX items_tombstones ON {SCHEMA}.items (update_time) WHERE deleted;

-- Every retained version of every item (the current one included), newest history_depth.
CREATE TABLE {SCHEMA}.item_versions (
    user_id       text NOT NULL,
    revision      bigint NOT NULL,
    collection    text NOT NULL,
    key           text NOT NULL,
    value         bytea NOT NULL DEFAULT ''::bytea,
    content_type  text NOT NULL DEFAULT '',
    encrypted     boolean NOT NULL DEFAULT false,
    mergeable     boolean NOT NULL DEFAULT false,
    deleted       boolean NOT NULL DEFAULT false,
    device        text NOT NULL DEFAULT '',
    update_time   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, revision)
);
CREATE INDEX item_versions_item ON {SCHEMA}.item_versions (user_id, collection, key, revision DESC);
CREATE INDEX item_versions_time ON {SCHEMA}.item_versions (update_time);

CREATE TABLE {SCHEMA}.devices (
    user_id               text NOT NULL,
    uid                   text NOT NULL,
    display_name          text NOT NULL,
    platform              text NOT NULL DEFAULT '',
    excluded_collections  text[] NOT NULL DEFAULT '{{}}',
    disabled              boolean NOT NULL DEFAULT false,
    create_time           timestamptz NOT NULL DEFAULT now(),
    update_time           timestamptz NOT NULL DEFAULT now(),
    last_seen_time        timestamptz,
    PRIMARY KEY (user_id, uid)
);
CREATE INDEX devices_order ON {SCHEMA}.devices (user_id, create_time, uid);

CREATE TABLE {SCHEMA}.snapshots (
    user_id      text NOT NULL,
    uid          text NOT NULL,
    description  text NOT NULL DEFAULT '',
    trigger      smallint NOT NULL,
    generation   integer NOT NULL,
    revision     bigint NOT NULL,
    item_count   integer NOT NULL DEFAULT 0,
    size_bytes   bigint NOT NULL DEFAULT 0,
    device       text NOT NULL DEFAULT '',
    create_time  timestamptz NOT NULL DEFAULT now(),
    expire_time  timestamptz NOT NULL,
    PRIMARY KEY (user_id, uid)
);
CREATE INDEX snapshots_order ON {SCHEMA}.snapshots (user_id, create_time DESC, uid DESC);
CREATE INDEX snapshots_expiry ON {SCHEMA}.snapshots (expire_time);

CREATE TABLE {SCHEMA}.snapshot_items (
    user_id       text NOT NULL,
    snapshot_uid  text NOT NULL,
    collection    text NOT NULL,
    key           text NOT NULL,
    value         bytea NOT NULL DEFAULT ''::bytea,
    content_type  text NOT NULL DEFAULT '',
    encrypted     boolean NOT NULL DEFAULT false,
    mergeable     boolean NOT NULL DEFAULT false,
    PRIMARY KEY (user_id, snapshot_uid, collection, key),
    FOREIGN KEY (user_id, snapshot_uid) REFERENCES {SCHEMA}.snapshots (user_id, uid) ON DELETE CASCADE
);

-- Stored results of mutations by request id (idempotency), kept idempotency_retention.
CREATE TABLE {SCHEMA}.requests (
    user_id      text NOT NULL,
    method       text NOT NULL,
    request_id   text NOT NULL,
    fingerprint  bytea NOT NULL,
    result       jsonb NOT NULL,
    create_time  timestamptz NOT NULL DEFAULT now(),
    expire_time  timestamptz NOT NULL,
    PRIMARY KEY (user_id, method, request_id)
);
CREATE INDEX requests_expiry ON {SCHEMA}.requests (expire_time);
"""

DOWNGRADE = f"""
DROP TABLE IF EXISTS {SCHEMA}.requests;
DROP TABLE IF EXISTS {SCHEMA}.snapshot_items;
DROP TABLE IF EXISTS {SCHEMA}.snapshots;
DROP TABLE IF EXISTS {SCHEMA}.devices;
DROP TABLE IF EXISTS {SCHEMA}.item_versions;
DROP TABLE IF EXISTS {SCHEMA}.items;
DROP TABLE IF EXISTS {SCHEMA}.users;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
