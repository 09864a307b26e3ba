from __future__ import annotations

from typing import Self

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from symphony_auth.db.repository import SqlAuthRepository
from symphony_common.db.unit_of_work import SqlUnitOfWork, translate_db_errors


class SqlAuthUnitOfWork(SqlUnitOfWork):
    """One transaction per RPC over the auth schema; `repo` holds all of its SQL.

    `read_only=True` is for a use case that makes one read query and writes nothing (the
    signed-in check of GetCurrentUser): the connection runs in autocommit, so the query is its
    own snapshot and no BEGIN/ROLLBACK round trips are spent on it."""

    repo: SqlAuthRepository

    def __init__(self, engine: AsyncEngine, *, read_only: bool = False) -> None:
        super().__init__(engine)
        self.read_only = read_only

    async def __aenter__(self) -> Self:
        if not self.read_only:
            return await super().__aenter__()
        with translate_db_errors():
            conn = await self.engine.connect()
            try:
                await conn.execution_options(isolation_level="AUTOCOMMIT")
            except BaseException:
                await conn.close()
                raise
        self._conn = conn
        self._committed = False
        self._open(conn)
        return self

    async def commit(self) -> None:
        if self.read_only:
            raise RuntimeError("a read-only unit of work has nothing to commit")
        await super().commit()

    def _open(self, conn: AsyncConnection) -> None:
        self.repo = SqlAuthRepository(conn)
