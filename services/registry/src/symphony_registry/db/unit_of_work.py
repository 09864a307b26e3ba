from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from symphony_common.db.unit_of_work import SqlUnitOfWork
from symphony_registry.db.repository import SqlRegistryRepository


class SqlRegistryUnitOfWork(SqlUnitOfWork):
    """One transaction per RPC over the registry schema."""

    repo: SqlRegistryRepository

    def __init__(self, engine: AsyncEngine, *, global_mean: list[float] | None = None) -> None:
        super().__init__(engine)
        self._global_mean = global_mean

    def _open(self, conn: AsyncConnection) -> None:
        self.repo = SqlRegistryRepository(conn)
        if self._global_mean:
            self.repo.global_mean = self._global_mean[0]
