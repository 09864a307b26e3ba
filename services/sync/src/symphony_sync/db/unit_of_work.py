from __future__ import annotations

from symphony_common.db.driver import Connection, PoolUnitOfWork, sql
from symphony_common.db.unit_of_work import translate_db_errors
from symphony_sync.db.repository import SqlSyncRepository

_SNAPSHOT = sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")


class SqlSyncUnitOfWork(PoolUnitOfWork):
    """One transaction per RPC over the sync schema (see `PoolUnitOfWork`); a pull page is a
    `single_statement` unit."""

    repo: SqlSyncRepository

    def _open(self, conn: Connection) -> None:
        self.repo = SqlSyncRepository(conn)

    async def set_read_only_snapshot(self) -> None:
        # Must be the transaction's first statement: the page and its cursor come from one
        # snapshot, so the cursor covers exactly the changes the page could see.
        with translate_db_errors():
            await self.connection.execute(_SNAPSHOT)
