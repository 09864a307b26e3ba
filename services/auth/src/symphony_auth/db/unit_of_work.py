from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from symphony_auth.db.repository import SqlAuthRepository
from symphony_common.db.unit_of_work import SqlUnitOfWork


class SqlAuthUnitOfWork(SqlUnitOfWork):
    """One transaction per RPC over the auth schema; `repo` holds all of its SQL."""

    repo: SqlAuthRepository

    def _open(self, conn: AsyncConnection) -> None:
        self.repo = SqlAuthRepository(conn)
