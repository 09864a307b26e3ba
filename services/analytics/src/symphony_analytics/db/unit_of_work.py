from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from symphony_analytics.db.repository import (
    SqlDownloadRepository,
    SqlEventRepository,
    SqlQueryRepository,
)
from symphony_common.db.unit_of_work import SqlUnitOfWork


class SqlAnalyticsUnitOfWork(SqlUnitOfWork):
    """One transaction per RPC over the analytics schema."""

    events: SqlEventRepository
    queries: SqlQueryRepository
    downloads: SqlDownloadRepository

    def _open(self, conn: AsyncConnection) -> None:
        self.events = SqlEventRepository(conn)
        self.queries = SqlQueryRepository(conn)
        self.downloads = SqlDownloadRepository(conn)
