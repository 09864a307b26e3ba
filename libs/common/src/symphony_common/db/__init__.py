"""Database plumbing: async engine per service schema, unit of work, driver-error translation,
Alembic migrations with a per-schema version table and an advisory lock."""
