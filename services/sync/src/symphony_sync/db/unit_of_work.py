from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from symphony_common.db.unit_of_work import SqlUnitOfWork, translate_db_errors
from symphony_sync.db.repository import SqlSyncRepository

_SNAPSHOT = text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")


class SqlSyncUnitOfWork(SqlUnitOfWork):
    """One transaction per RPC over the sync schema."""

    repo: SqlSyncRepository

    def _open(self, conn: AsyncConnection) -> None:
        self.repo = SqlSyncRepository(conn)

    async def set_read_only_snapshot(self) -> None:
        # Must be the transaction's first statement: the page and its cursor come from one
        # snapshot, so the cursor covers exactly the changes the page could see.
        with translate_db_errors():
            await self.connection.execute(_SNAPSHOT)
