"""Leaked tokens waiting for auth to revoke them (see NOTES.md "Leaked tokens").

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# A row lives from the moment the secrets check finds a token until auth has answered for it:
# the token itself is kept (auth revokes by token) and deleted with the row.
UPGRADE = """
CREATE TABLE registry.token_revocations (
    id bigserial PRIMARY KEY,
    token text NOT NULL UNIQUE,
    location text NOT NULL,
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_time timestamptz NOT NULL,
    last_error text NOT NULL DEFAULT '',
    create_time timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX token_revocations_due ON registry.token_revocations (next_attempt_time);
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS registry.token_revocations")
