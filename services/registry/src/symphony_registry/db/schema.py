"""The registry service's own PostgreSQL schema: no other service reads it."""

from sqlalchemy import MetaData

SCHEMA = "registry"
metadata = MetaData(schema=SCHEMA)
