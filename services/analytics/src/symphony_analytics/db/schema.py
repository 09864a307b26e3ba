"""The analytics service's own PostgreSQL schema: no other service reads it."""

from sqlalchemy import MetaData

SCHEMA = "analytics"
metadata = MetaData(schema=SCHEMA)
