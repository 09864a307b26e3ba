"""Alembic per service schema: the version table lives in the service's own schema, and an
advisory lock keeps two replicas (or a Helm Job and a pod) from migrating at once."""

from __future__ import annotations

import zlib
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, create_engine, pool, text

from symphony_common.db.engine import sqlalchemy_url


def alembic_config(database_url: str, schema: str, migrations_dir: Path) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir))
    # Alembic's config uses %-interpolation; escape the URL.
    cfg.set_main_option("sqlalchemy.url", sqlalchemy_url(database_url).replace("%", "%%"))
    cfg.attributes["schema"] = schema
    return cfg


def upgrade(database_url: str, schema: str, migrations_dir: Path, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url, schema, migrations_dir), revision)


def downgrade(database_url: str, schema: str, migrations_dir: Path, revision: str = "base") -> None:
    command.downgrade(alembic_config(database_url, schema, migrations_dir), revision)


def _lock_key(schema: str) -> int:
    return zlib.crc32(f"symphony-migrate:{schema}".encode())


def run_env(metadata: MetaData | None = None) -> None:
    """Body of every service's `migrations/env.py` (online mode only: migrations always run
    against a live database)."""
    cfg = context.config
    schema = cfg.attributes["schema"]
    engine = create_engine(cfg.get_main_option("sqlalchemy.url") or "", poolclass=pool.NullPool)
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _lock_key(schema)})
        try:
            conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
            conn.commit()
            context.configure(
                connection=conn,
                target_metadata=metadata,
                version_table_schema=schema,
                include_schemas=True,
                transaction_per_migration=True,
            )
            with context.begin_transaction():
                context.run_migrations()
            conn.commit()
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _lock_key(schema)})
            conn.commit()
    engine.dispose()
