"""The auth service's own PostgreSQL schema: no other service reads it."""

from sqlalchemy import MetaData

SCHEMA = "auth"
metadata = MetaData(schema=SCHEMA)
