from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from typing import Self

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from symphony_auth.db.repository import SqlAuthRepository
from symphony_common.db.unit_of_work import SqlUnitOfWork, translate_db_errors

# Told after each commit which users and sessions it changed (the change bus).
OnCommit = Callable[[Collection[str], Collection[str]], Awaitable[None]]


class SqlAuthUnitOfWork(SqlUnitOfWork):
    """One transaction per RPC over the auth schema; `repo` holds all of its SQL.

    `read_only=True` is for a use case that makes one read query and writes nothing (the
    signed-in check of GetCurrentUser): the connection runs in autocommit, so the query is its
    own snapshot and no BEGIN/ROLLBACK round trips are spent on it.

    `on_commit` hears, after the commit and never before, which users and sessions the
    transaction wrote: the one place session caches learn about writes."""

    repo: SqlAuthRepository

    def __init__(
        self, engine: AsyncEngine, *, read_only: bool = False, on_commit: OnCommit | None = None
    ) -> None:
        super().__init__(engine)
        self.read_only = read_only
        self._on_commit = on_commit

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
        users, sessions = self.repo.changed_users, self.repo.changed_sessions
        if users or sessions:
            self.repo.changed_users, self.repo.changed_sessions = set(), set()
            if self._on_commit is not None:
                await self._on_commit(users, sessions)

    def _open(self, conn: AsyncConnection) -> None:
        self.repo = SqlAuthRepository(conn)
