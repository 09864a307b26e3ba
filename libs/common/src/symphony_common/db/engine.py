"""Async SQLAlchemy engines over psycopg 3."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


def sqlalchemy_url(database_url: str) -> str:
    """Accept the plain `postgresql://` URLs operators write and pick the psycopg 3 driver."""
    url = make_url(database_url)
    if url.drivername in ("postgres", "postgresql", "postgresql+psycopg2"):
        url = url.set(drivername="postgresql+psycopg")
    return url.render_as_string(hide_password=False)


def create_engine(
    database_url: str,
    *,
    application_name: str,
    pool_size: int = 10,
    max_overflow: int = 10,
    pool_timeout: float = 5.0,
    statement_timeout_ms: int = 30_000,
) -> AsyncEngine:
    return create_async_engine(
        sqlalchemy_url(database_url),
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=pool_timeout,
        # No ping before each checkout (a round trip per call, measured on the push path): a
        # connection that died with a database restart fails its call with UNAVAILABLE, and
        # SQLAlchemy then invalidates the whole pool, so the service recovers by itself.
        pool_pre_ping=False,
        pool_recycle=1800,
        connect_args={
            "application_name": application_name,
            "connect_timeout": 5,
            "options": f"-c statement_timeout={statement_timeout_ms}",
        },
    )


async def database_ready(engine: AsyncEngine) -> bool:
    """Readiness probe: the database answers a trivial query."""
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
    return True
