"""The sync service's own PostgreSQL schema: no other service reads it."""

from sqlalchemy import MetaData

SCHEMA = "sync"
metadata = MetaData(schema=SCHEMA)
