"""One unit of work (one transaction) per RPC, committed explicitly, with driver errors turned
into domain errors so no `sqlalchemy.exc` or `psycopg.errors` escapes `db/`."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from types import TracebackType
from typing import Self

from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from symphony_common.errors import Aborted, AlreadyExists, Unavailable, database_unavailable

# SQLSTATEs: https://www.postgresql.org/docs/current/errcodes-appendix.html
UNIQUE_VIOLATION = "23505"
SERIALIZATION_FAILURE = "40001"
DEADLOCK_DETECTED = "40P01"
LOCK_NOT_AVAILABLE = "55P03"


def sqlstate(error: BaseException) -> str:
    orig = getattr(error, "orig", None)
    return getattr(orig, "sqlstate", None) or ""


def constraint_name(error: BaseException) -> str:
    orig = getattr(error, "orig", None)
    diag = getattr(orig, "diag", None)
    return getattr(diag, "constraint_name", None) or ""


@contextlib.contextmanager
def translate_db_errors(*, on_unique: AlreadyExists | None = None) -> Iterator[None]:
    """Map driver errors to domain errors. Repositories pass `on_unique` for the one unique
    constraint a statement can break; anything unforeseen stays an internal error."""
    try:
        yield
    except sa_exc.DBAPIError as error:
        state = sqlstate(error)
        if state == UNIQUE_VIOLATION and on_unique is not None:
            raise on_unique from None
        if state in (SERIALIZATION_FAILURE, DEADLOCK_DETECTED, LOCK_NOT_AVAILABLE):
            raise Aborted(
                "CONCURRENT_MODIFICATION",
                "a concurrent change got there first; retry",
                retry_after_seconds=0.05,
            ) from None
        if error.connection_invalidated or isinstance(
            error, sa_exc.OperationalError | sa_exc.InterfaceError
        ):
            raise database_unavailable() from None
        raise
    except (sa_exc.TimeoutError, OSError, ConnectionError):
        # Pool exhausted or the server is unreachable.
        raise database_unavailable() from None


class SqlUnitOfWork:
    """`async with uow: ...; await uow.commit()` — without commit the transaction rolls back.
    Subclasses add their repositories in `_open(conn)`."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._conn: AsyncConnection | None = None
        self._committed = False

    @property
    def connection(self) -> AsyncConnection:
        if self._conn is None:
            raise RuntimeError("unit of work is not open")
        return self._conn

    def _open(self, conn: AsyncConnection) -> None:
        """Hook for subclasses: build repositories on the open connection."""

    async def __aenter__(self) -> Self:
        with translate_db_errors():
            self._conn = await self.engine.connect()
            await self._conn.begin()
        self._committed = False
        self._open(self._conn)
        return self

    async def commit(self) -> None:
        with translate_db_errors():
            await self.connection.commit()
        self._committed = True

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            if not self._committed:
                with contextlib.suppress(sa_exc.DBAPIError, OSError):
                    await conn.rollback()
        finally:
            with contextlib.suppress(sa_exc.DBAPIError, OSError):
                await conn.close()


__all__ = ["SqlUnitOfWork", "Unavailable", "constraint_name", "sqlstate", "translate_db_errors"]
