from __future__ import annotations

import contextlib
from types import TracebackType
from typing import Any, Self

import psycopg
from psycopg_pool import AsyncConnectionPool

from symphony_common.db.driver import Connection, recheck_after_failure, sql
from symphony_common.db.unit_of_work import translate_db_errors
from symphony_sync.db.repository import SqlSyncRepository

_SNAPSHOT = sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")


class SqlSyncUnitOfWork:
    """One transaction per RPC over the sync schema: `async with uow: ...; await uow.commit()`,
    rolled back without the commit. `single_statement=True` is for a unit that runs one
    statement (a pull page): a statement is its own snapshot, so no BEGIN/COMMIT round trips."""

    repo: SqlSyncRepository

    def __init__(self, pool: AsyncConnectionPool[Any], *, single_statement: bool = False) -> None:
        self.pool = pool
        self.single_statement = single_statement
        self._conn: Connection | None = None
        self._committed = False

    @property
    def connection(self) -> Connection:
        if self._conn is None:
            raise RuntimeError("unit of work is not open")
        return self._conn

    async def __aenter__(self) -> Self:
        with translate_db_errors():
            try:
                raw = await self.pool.getconn()
            except psycopg.Error as error:  # PoolTimeout, or the database is unreachable
                raise Connection.wrap(error) from None
            self._conn = Connection(raw)
            self._committed = False
            try:
                if not self.single_statement:
                    await self._conn.command(b"BEGIN")
            except BaseException:
                await self._release()
                raise
        self.repo = SqlSyncRepository(self._conn)
        return self

    async def commit(self) -> None:
        if not self.single_statement:
            with translate_db_errors():
                await self.connection.command(b"COMMIT")
        self._committed = True

    async def set_read_only_snapshot(self) -> None:
        # Must be the transaction's first statement: the page and its cursor come from one
        # snapshot, so the cursor covers exactly the changes the page could see.
        with translate_db_errors():
            await self.connection.execute(_SNAPSHOT)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._release()

    async def _release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        if not (conn.broken or self._committed or self.single_statement):
            with contextlib.suppress(psycopg.Error, OSError):
                await conn.raw.execute(b"ROLLBACK")
        if conn.broken:
            recheck_after_failure(self.pool)
        # The pool discards a broken connection and rolls back one left in a transaction.
        await self.pool.putconn(conn.raw)
