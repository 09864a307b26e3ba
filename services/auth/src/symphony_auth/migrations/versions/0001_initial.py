"""Initial auth schema.

Revision ID: 0001
Revises:
"""

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SCHEMA = "auth"


def upgrade() -> None:
    # The schema itself is created by env.py (it must exist for the version table).
    op.execute("SELECT 1")


def downgrade() -> None:
    op.execute("SELECT 1")
