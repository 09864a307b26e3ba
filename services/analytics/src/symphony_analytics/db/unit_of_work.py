from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from symphony_analytics.db.repository import (
    SqlDownloadRepository,
    SqlEventRepository,
    SqlQueryRepository,
)
from symphony_common.db.driver import Connection, PoolUnitOfWork
from symphony_common.db.unit_of_work import SqlUnitOfWork


class SqlAnalyticsUnitOfWork(SqlUnitOfWork):
    """One transaction per RPC over the analytics schema (queries, downloads)."""

    queries: SqlQueryRepository
    downloads: SqlDownloadRepository

    def _open(self, conn: AsyncConnection) -> None:
        self.queries = SqlQueryRepository(conn)
        self.downloads = SqlDownloadRepository(conn)


class SqlIngestUnitOfWork(PoolUnitOfWork):
    """Ingest on psycopg directly (see `PoolUnitOfWork`): a batch without drops is a
    `single_statement` unit."""

    events: SqlEventRepository

    def _open(self, conn: Connection) -> None:
        self.events = SqlEventRepository(conn, autocommit=self.single_statement)
