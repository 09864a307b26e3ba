"""Initial registry schema.

Revision ID: 0001
Revises:
"""

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SCHEMA = "registry"

UPGRADE = """
CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public;

CREATE TABLE registry.namespaces (
    id uuid PRIMARY KEY,
    name text NOT NULL,
    skeleton text NOT NULL,
    display_name text NOT NULL DEFAULT '',
    description text NOT NULL DEFAULT '',
    website_url text NOT NULL DEFAULT '',
    support_url text NOT NULL DEFAULT '',
    owner text NOT NULL,
    verified boolean NOT NULL DEFAULT false,
    verify_time timestamptz,
    frozen boolean NOT NULL DEFAULT false,
    create_time timestamptz NOT NULL DEFAULT now(),
    update_time timestamptz NOT NULL DEFAULT now(),
    revision integer NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX namespaces_name_key ON registry.namespaces (lower(name));
CREATE UNIQUE INDEX namespaces_skeleton_key ON registry.namespaces (skeleton);
CREATE INDEX namespaces_skeleton_trgm ON registry.namespaces
    USING gin (skeleton public.gin_trgm_ops);
CREATE INDEX namespaces_owner ON registry.namespaces (owner);

CREATE TABLE registry.namespace_members (
    id uuid PRIMARY KEY,
    namespace_id uuid NOT NULL REFERENCES registry.namespaces (id) ON DELETE CASCADE,
    user_id text NOT NULL,
    role smallint NOT NULL CHECK (role IN (1, 2)),
    create_time timestamptz NOT NULL DEFAULT now(),
    update_time timestamptz NOT NULL DEFAULT now(),
    revision integer NOT NULL DEFAULT 1,
    UNIQUE (namespace_id, user_id)
);
CREATE INDEX namespace_members_user ON registry.namespace_members (user_id);

CREATE TABLE registry.extensions (
    id uuid PRIMARY KEY,
    namespace_id uuid NOT NULL REFERENCES registry.namespaces (id) ON DELETE CASCADE,
    name text NOT NULL,
    skeleton text NOT NULL,
    display_name text NOT NULL DEFAULT '',
    description text NOT NULL DEFAULT '',
    categories text[] NOT NULL DEFAULT '{}',
    tags text[] NOT NULL DEFAULT '{}',
    target_platforms text[] NOT NULL DEFAULT '{}',
    has_visible boolean NOT NULL DEFAULT false,
    has_stable boolean NOT NULL DEFAULT false,
    publish_time timestamptz,
    deprecated boolean NOT NULL DEFAULT false,
    deprecation_replacement uuid REFERENCES registry.extensions (id) ON DELETE SET NULL,
    deprecation_message text NOT NULL DEFAULT '',
    deprecate_time timestamptz,
    download_count bigint NOT NULL DEFAULT 0,
    review_count integer NOT NULL DEFAULT 0,
    rating_sum integer NOT NULL DEFAULT 0,
    rating_counts integer[] NOT NULL DEFAULT '{0,0,0,0,0}',
    search_text text NOT NULL DEFAULT '',
    search_tsv tsvector NOT NULL DEFAULT ''::tsvector,
    create_time timestamptz NOT NULL DEFAULT now(),
    update_time timestamptz NOT NULL DEFAULT now(),
    revision integer NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX extensions_name_key ON registry.extensions (namespace_id, lower(name));
CREATE UNIQUE INDEX extensions_skeleton_key ON registry.extensions (namespace_id, skeleton);
CREATE INDEX extensions_search_tsv ON registry.extensions USING gin (search_tsv) WHERE has_visible;
CREATE INDEX extensions_search_trgm ON registry.extensions
    USING gin (search_text public.gin_trgm_ops) WHERE has_visible;
CREATE INDEX extensions_name_trgm ON registry.extensions
    USING gin (lower(name) public.gin_trgm_ops);
CREATE INDEX extensions_downloads ON registry.extensions (download_count DESC) WHERE has_visible;

CREATE TABLE registry.versions (
    id uuid PRIMARY KEY,
    extension_id uuid NOT NULL REFERENCES registry.extensions (id) ON DELETE CASCADE,
    version text NOT NULL,
    semver_key text COLLATE "C" NOT NULL,
    target_platform text NOT NULL,
    pre_release boolean NOT NULL DEFAULT false,
    display_name text NOT NULL DEFAULT '',
    description text NOT NULL DEFAULT '',
    categories text[] NOT NULL DEFAULT '{}',
    tags text[] NOT NULL DEFAULT '{}',
    license text NOT NULL DEFAULT '',
    homepage_url text NOT NULL DEFAULT '',
    repository_url text NOT NULL DEFAULT '',
    bugs_url text NOT NULL DEFAULT '',
    engines jsonb NOT NULL DEFAULT '[]',
    dependencies text[] NOT NULL DEFAULT '{}',
    bundled_extensions text[] NOT NULL DEFAULT '{}',
    files jsonb NOT NULL DEFAULT '{}',
    entries jsonb NOT NULL DEFAULT '[]',
    package_size bigint NOT NULL,
    package_sha256 text NOT NULL,
    signature_key uuid,
    signature bytea,
    signed_manifest bytea,
    scan_state smallint NOT NULL DEFAULT 1,
    publisher_id text NOT NULL,
    yanked boolean NOT NULL DEFAULT false,
    yank_reason text NOT NULL DEFAULT '',
    yank_time timestamptz,
    unpublished boolean NOT NULL DEFAULT false,
    unpublish_time timestamptz,
    download_count bigint NOT NULL DEFAULT 0,
    create_time timestamptz NOT NULL DEFAULT now(),
    update_time timestamptz NOT NULL DEFAULT now(),
    UNIQUE (extension_id, version, target_platform)
);
CREATE INDEX versions_resolve ON registry.versions
    (extension_id, semver_key DESC) WHERE scan_state = 4 AND NOT unpublished;
CREATE INDEX versions_sha ON registry.versions (package_sha256);
CREATE INDEX versions_dependencies ON registry.versions USING gin (dependencies);

CREATE TABLE registry.version_files (
    version_id uuid NOT NULL REFERENCES registry.versions (id) ON DELETE CASCADE,
    kind text NOT NULL,
    path text NOT NULL,
    content_type text NOT NULL,
    size bigint NOT NULL,
    sha256 text NOT NULL,
    content bytea NOT NULL,
    PRIMARY KEY (version_id, kind)
);

CREATE TABLE registry.scans (
    id uuid PRIMARY KEY,
    version_id uuid NOT NULL REFERENCES registry.versions (id) ON DELETE CASCADE,
    namespace text NOT NULL,
    extension text NOT NULL,
    version text NOT NULL,
    target_platform text NOT NULL,
    publisher_id text NOT NULL,
    package_sha256 text NOT NULL,
    state smallint NOT NULL,
    checks jsonb NOT NULL DEFAULT '[]',
    findings jsonb NOT NULL DEFAULT '[]',
    decision jsonb,
    create_time timestamptz NOT NULL DEFAULT now(),
    update_time timestamptz NOT NULL DEFAULT now(),
    complete_time timestamptz,
    revision integer NOT NULL DEFAULT 1
);
CREATE INDEX scans_namespace ON registry.scans (lower(namespace), create_time DESC);
CREATE INDEX scans_state ON registry.scans (state, create_time DESC);
CREATE INDEX scans_version ON registry.scans (version_id);

CREATE TABLE registry.scan_jobs (
    id bigserial PRIMARY KEY,
    scan_id uuid NOT NULL UNIQUE REFERENCES registry.scans (id) ON DELETE CASCADE,
    run_after timestamptz NOT NULL DEFAULT now(),
    lease_until timestamptz,
    attempts integer NOT NULL DEFAULT 0,
    last_error text NOT NULL DEFAULT ''
);
CREATE INDEX scan_jobs_due ON registry.scan_jobs (run_after);

CREATE TABLE registry.blocklist (
    id uuid PRIMARY KEY,
    sha256 text NOT NULL UNIQUE,
    reason text NOT NULL,
    creator text NOT NULL,
    create_time timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE registry.reviews (
    id uuid PRIMARY KEY,
    extension_id uuid NOT NULL REFERENCES registry.extensions (id) ON DELETE CASCADE,
    author_id text NOT NULL,
    author_display_name text NOT NULL DEFAULT '',
    rating smallint NOT NULL CHECK (rating BETWEEN 1 AND 5),
    title text NOT NULL,
    text text NOT NULL DEFAULT '',
    version text NOT NULL DEFAULT '',
    create_time timestamptz NOT NULL DEFAULT now(),
    update_time timestamptz NOT NULL DEFAULT now(),
    revision integer NOT NULL DEFAULT 1,
    UNIQUE (extension_id, author_id)
);
CREATE INDEX reviews_author ON registry.reviews (author_id);

CREATE TABLE registry.signing_keys (
    id uuid PRIMARY KEY,
    private_key bytea NOT NULL,
    public_key bytea NOT NULL,
    active boolean NOT NULL,
    create_time timestamptz NOT NULL DEFAULT now(),
    retire_time timestamptz
);
CREATE UNIQUE INDEX signing_keys_one_active ON registry.signing_keys (active) WHERE active;

CREATE TABLE registry.download_outbox (
    id bigserial PRIMARY KEY,
    version_id uuid NOT NULL,
    namespace text NOT NULL,
    extension text NOT NULL,
    version text NOT NULL,
    target_platform text NOT NULL,
    day date NOT NULL,
    downloads bigint NOT NULL,
    sealed boolean NOT NULL DEFAULT false,
    sent_time timestamptz
);
CREATE UNIQUE INDEX download_outbox_open ON registry.download_outbox
    (version_id, day) WHERE NOT sealed;
CREATE INDEX download_outbox_unsent ON registry.download_outbox (id) WHERE sent_time IS NULL;

CREATE TABLE registry.idempotency_keys (
    method text NOT NULL,
    principal text NOT NULL,
    request_id text NOT NULL,
    result text NOT NULL,
    create_time timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (method, principal, request_id)
);

CREATE TABLE registry.blobs (
    sha256 text PRIMARY KEY,
    size bigint NOT NULL,
    chunk_size integer NOT NULL,
    create_time timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE registry.blob_chunks (
    sha256 text NOT NULL REFERENCES registry.blobs (sha256) ON DELETE CASCADE,
    seq integer NOT NULL,
    data bytea NOT NULL,
    PRIMARY KEY (sha256, seq)
);
ALTER TABLE registry.blob_chunks ALTER COLUMN data SET STORAGE EXTERNAL;
"""

TABLES = (
    "blob_chunks",
    "blobs",
    "idempotency_keys",
    "download_outbox",
    "signing_keys",
    "reviews",
    "blocklist",
    "scan_jobs",
    "scans",
    "version_files",
    "versions",
    "extensions",
    "namespace_members",
    "namespaces",
)


def upgrade() -> None:
    # The schema itself is created by env.py (it must exist for the version table).
    op.execute(UPGRADE)


def downgrade() -> None:
    # pg_trgm is database-wide and may serve other schemas: it stays.
    for table in TABLES:
        op.execute(f"DROP TABLE IF EXISTS {SCHEMA}.{table} CASCADE")
