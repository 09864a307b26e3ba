"""Initial auth schema: accounts, sessions and refresh-token families, personal access tokens,
device and external logins, organizations, audit events, signing keys and the outboxes.

Revision ID: 0001
Revises:
"""

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SCHEMA = "auth"

TABLES = [
    """
    CREATE TABLE auth.users (
        id uuid PRIMARY KEY,
        email text,
        email_verified boolean NOT NULL DEFAULT false,
        display_name text NOT NULL DEFAULT '',
        password_hash text,
        state text NOT NULL DEFAULT 'active',
        lock_expire_time timestamptz,
        password_change_time timestamptz,
        create_time timestamptz NOT NULL DEFAULT now(),
        update_time timestamptz NOT NULL DEFAULT now(),
        delete_time timestamptz,
        version integer NOT NULL DEFAULT 1,
        CONSTRAINT users_state_valid CHECK (state IN ('active', 'disabled', 'locked', 'deleted'))
    )
    """,
    # Unique among accounts that still have an email (a deleted account's email is erased).
    "CREATE UNIQUE INDEX users_email_key ON auth.users (lower(email)) WHERE email IS NOT NULL",
    """
    CREATE TABLE auth.identities (
        provider text NOT NULL,
        subject text NOT NULL,
        user_id uuid NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
        email text,
        create_time timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (provider, subject)
    )
    """,
    "CREATE INDEX identities_user_idx ON auth.identities (user_id)",
    """
    CREATE TABLE auth.sessions (
        id uuid PRIMARY KEY,
        user_id uuid NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
        device_name text NOT NULL DEFAULT '',
        platform text NOT NULL DEFAULT '',
        method smallint NOT NULL,
        identity_provider text NOT NULL DEFAULT '',
        client_address text NOT NULL DEFAULT '',
        user_agent text NOT NULL DEFAULT '',
        scopes text NOT NULL DEFAULT '',
        create_time timestamptz NOT NULL,
        last_use_time timestamptz NOT NULL,
        idle_expire_time timestamptz NOT NULL,
        absolute_expire_time timestamptz NOT NULL,
        revoke_time timestamptz,
        revoke_reason text
    )
    """,
    "CREATE INDEX sessions_user_idx ON auth.sessions (user_id, last_use_time DESC)",
    """
    CREATE TABLE auth.refresh_tokens (
        token_hash bytea PRIMARY KEY,
        session_id uuid NOT NULL REFERENCES auth.sessions (id) ON DELETE CASCADE,
        parent_hash bytea,
        create_time timestamptz NOT NULL,
        used_time timestamptz
    )
    """,
    "CREATE INDEX refresh_tokens_session_idx ON auth.refresh_tokens (session_id)",
    """
    CREATE TABLE auth.personal_access_tokens (
        id uuid PRIMARY KEY,
        user_id uuid NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
        display_name text NOT NULL,
        scopes text[] NOT NULL,
        token_hash bytea NOT NULL UNIQUE,
        token_hint text NOT NULL,
        create_time timestamptz NOT NULL,
        expire_time timestamptz NOT NULL,
        last_use_time timestamptz,
        revoke_time timestamptz,
        revoke_reason text
    )
    """,
    "CREATE INDEX personal_access_tokens_user_idx ON auth.personal_access_tokens (user_id, "
    "create_time DESC)",
    """
    CREATE TABLE auth.device_authorizations (
        id uuid PRIMARY KEY,
        device_code_hash bytea NOT NULL UNIQUE,
        user_code text NOT NULL,
        device_name text NOT NULL DEFAULT '',
        platform text NOT NULL DEFAULT '',
        client_address text NOT NULL DEFAULT '',
        scopes text NOT NULL DEFAULT '',
        state text NOT NULL DEFAULT 'pending',
        user_id uuid REFERENCES auth.users (id) ON DELETE CASCADE,
        session_id uuid,
        poll_interval integer NOT NULL,
        last_poll_time timestamptz,
        create_time timestamptz NOT NULL,
        expire_time timestamptz NOT NULL
    )
    """,
    "CREATE INDEX device_authorizations_user_code_idx ON auth.device_authorizations (user_code)",
    """
    CREATE TABLE auth.user_code_attempts (
        user_id uuid NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
        create_time timestamptz NOT NULL
    )
    """,
    "CREATE INDEX user_code_attempts_idx ON auth.user_code_attempts (user_id, create_time)",
    """
    CREATE TABLE auth.external_logins (
        state_hash bytea PRIMARY KEY,
        provider text NOT NULL,
        redirect_uri text NOT NULL,
        nonce text NOT NULL,
        code_verifier text NOT NULL,
        create_time timestamptz NOT NULL,
        expire_time timestamptz NOT NULL,
        used_time timestamptz,
        session_id uuid
    )
    """,
    """
    CREATE TABLE auth.email_tokens (
        token_hash bytea PRIMARY KEY,
        user_id uuid NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
        purpose text NOT NULL,
        create_time timestamptz NOT NULL,
        expire_time timestamptz NOT NULL,
        used_time timestamptz
    )
    """,
    "CREATE INDEX email_tokens_user_idx ON auth.email_tokens (user_id, purpose)",
    """
    CREATE TABLE auth.organizations (
        id text PRIMARY KEY,
        uid uuid NOT NULL UNIQUE,
        display_name text NOT NULL,
        description text NOT NULL DEFAULT '',
        create_time timestamptz NOT NULL,
        update_time timestamptz NOT NULL,
        version integer NOT NULL DEFAULT 1
    )
    """,
    """
    CREATE TABLE auth.organization_members (
        organization_id text NOT NULL REFERENCES auth.organizations (id) ON DELETE CASCADE,
        user_id uuid NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
        role smallint NOT NULL,
        create_time timestamptz NOT NULL,
        update_time timestamptz NOT NULL,
        version integer NOT NULL DEFAULT 1,
        PRIMARY KEY (organization_id, user_id)
    )
    """,
    "CREATE INDEX organization_members_user_idx ON auth.organization_members (user_id)",
    """
    CREATE TABLE auth.audit_events (
        id uuid PRIMARY KEY,
        user_id uuid NOT NULL,
        type smallint NOT NULL,
        actor text NOT NULL DEFAULT '',
        resource text NOT NULL DEFAULT '',
        session text NOT NULL DEFAULT '',
        client_address text NOT NULL DEFAULT '',
        user_agent text NOT NULL DEFAULT '',
        attributes jsonb NOT NULL DEFAULT '{}'::jsonb,
        create_time timestamptz NOT NULL
    )
    """,
    "CREATE INDEX audit_events_user_idx ON auth.audit_events (user_id, create_time DESC, id DESC)",
    """
    CREATE TABLE auth.signing_keys (
        kid text PRIMARY KEY,
        private_key text NOT NULL,
        public_key text NOT NULL,
        create_time timestamptz NOT NULL,
        activate_time timestamptz NOT NULL,
        retire_time timestamptz,
        delete_time timestamptz
    )
    """,
    """
    CREATE TABLE auth.email_outbox (
        id bigserial PRIMARY KEY,
        recipient text NOT NULL,
        subject text NOT NULL,
        body text NOT NULL,
        create_time timestamptz NOT NULL DEFAULT now(),
        next_attempt_time timestamptz NOT NULL DEFAULT now(),
        attempts integer NOT NULL DEFAULT 0,
        sent_time timestamptz,
        last_error text
    )
    """,
    "CREATE INDEX email_outbox_pending_idx ON auth.email_outbox (next_attempt_time) WHERE "
    "sent_time IS NULL",
    """
    CREATE TABLE auth.peer_outbox (
        id bigserial PRIMARY KEY,
        peer text NOT NULL,
        user_id uuid NOT NULL,
        request_id uuid NOT NULL,
        create_time timestamptz NOT NULL DEFAULT now(),
        next_attempt_time timestamptz NOT NULL DEFAULT now(),
        attempts integer NOT NULL DEFAULT 0,
        done_time timestamptz,
        last_error text
    )
    """,
    "CREATE INDEX peer_outbox_pending_idx ON auth.peer_outbox (next_attempt_time) WHERE done_time "
    "IS NULL",
    """
    CREATE TABLE auth.idempotency_keys (
        caller text NOT NULL,
        method text NOT NULL,
        request_id text NOT NULL,
        fingerprint text NOT NULL,
        response bytea NOT NULL,
        create_time timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (caller, method, request_id)
    )
    """,
]

DROP_ORDER = [
    "idempotency_keys",
    "peer_outbox",
    "email_outbox",
    "signing_keys",
    "audit_events",
    "organization_members",
    "organizations",
    "email_tokens",
    "external_logins",
    "user_code_attempts",
    "device_authorizations",
    "personal_access_tokens",
    "refresh_tokens",
    "sessions",
    "identities",
    "users",
]


def upgrade() -> None:
    # The schema itself is created by env.py (it must exist for the version table).
    for statement in TABLES:
        op.execute(statement)


def downgrade() -> None:
    for table in DROP_ORDER:
        op.execute(f"DROP TABLE IF EXISTS {SCHEMA}.{table}")
