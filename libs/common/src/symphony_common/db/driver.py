"""Statements on psycopg 3 directly, from a psycopg pool, not through SQLAlchemy's execution
layer, for the hot paths: measured on sync's push and pull (`make bench BENCH_ARGS=sync`),
SQLAlchemy cost 100–200 µs of CPU per statement on top of psycopg's ~40 µs. Sync runs all its
statements here; the other services still use `engine.py` + `unit_of_work.py`.

The statements stay SQLAlchemy-style text (`:name` parameters), converted once at import;
results answer `all()`, `one()`, `first()`, `scalar_one()`, `rowcount` like SQLAlchemy's, so a
repository reads the same over either."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections import namedtuple
from collections.abc import Awaitable, Callable, Iterator, Mapping
from types import TracebackType
from typing import Any, Self

import psycopg
from psycopg.adapt import Dumper
from psycopg.pq import Format
from psycopg.pq.abc import PGresult
from psycopg_pool import AsyncConnectionPool
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url

from symphony_common.db.unit_of_work import translate_db_errors

_PARAM = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


class Statement:
    """A text statement with `:name` parameters (never inside a string literal: the conversion
    does not parse SQL) in psycopg's `%(name)s` form, and the row class of its result
    (attribute access like SQLAlchemy's rows), made on first use: building rows from
    `cursor.description` on every call measured as psycopg's largest cost here."""

    __slots__ = ("query", "row_class")

    def __init__(self, text: str) -> None:
        self.query = _PARAM.sub(r"%(\1)s", text.replace("%", "%%")).encode()
        self.row_class: Any = None

    def rows(self, result: PGresult, values: list[tuple[Any, ...]]) -> list[Any]:
        if self.row_class is None:
            names = [(result.fname(i) or b"").decode() for i in range(result.nfields)]
            # rename: `?column?` and repeated names (`count`, `count`) become positional.
            self.row_class = namedtuple("Row", names, rename=True)  # type: ignore[misc]
        return list(map(self.row_class._make, values))


def sql(text: str) -> Statement:
    return Statement(text)


class Binary:
    """A parameter already in PostgreSQL's binary format (its `typsend` output) for the type
    `oid`, sent as is: a hot path that encodes its own parameters (analytics' ingest, in C)
    spares both sides the text conversion."""

    __slots__ = ("data", "oid")

    def __init__(self, data: bytes, oid: int) -> None:
        self.data = data
        self.oid = oid


class _BinaryDumper(Dumper):
    format = Format.BINARY

    def get_key(self, obj: Binary, format: Any) -> Any:
        return (Binary, obj.oid)  # one dumper per type: psycopg caches dumpers by this key

    def upgrade(self, obj: Binary, format: Any) -> Dumper:
        dumper = _BinaryDumper(Binary)
        dumper.oid = obj.oid
        return dumper

    def dump(self, obj: Binary) -> bytes:
        return obj.data


psycopg.adapters.register_dumper(Binary, _BinaryDumper)


class Result:
    __slots__ = ("_rows", "rowcount")

    def __init__(self, rows: list[Any], rowcount: int) -> None:
        self._rows = rows
        self.rowcount = rowcount

    def all(self) -> list[Any]:
        return self._rows

    def one(self) -> Any:
        if len(self._rows) != 1:
            raise sa_exc.NoResultFound if not self._rows else sa_exc.MultipleResultsFound
        return self._rows[0]

    def first(self) -> Any | None:
        return self._rows[0] if self._rows else None

    def scalar_one(self) -> Any:
        return self.one()[0]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._rows)


class PooledConnection(psycopg.AsyncConnection[Any]):
    """A pool's connection, with one cursor for all the statements it runs: the cursor's
    adapters (which dumper for which parameter type) stay looked up from one statement to the
    next; a new cursor per statement measured ~80 µs more CPU for analytics' ingest statement."""

    _statements: psycopg.AsyncCursor[Any] | None = None

    @property
    def statements(self) -> psycopg.AsyncCursor[Any]:
        if self._statements is None:
            self._statements = self.cursor()
        return self._statements


class Connection:
    """One pooled psycopg connection (autocommit: a unit of work sends its own BEGIN). psycopg's
    pipeline mode (BEGIN sent with the first statement) measured ~90 µs more CPU per push than
    the round trip it saves."""

    def __init__(self, raw: PooledConnection) -> None:
        self.raw = raw

    @staticmethod
    def wrap(error: psycopg.Error) -> sa_exc.DBAPIError:
        """psycopg's error wrapped the way SQLAlchemy wraps it, so the one shared translation
        (`translate_db_errors`: SQLSTATEs, connection failures) applies unchanged."""
        wrapped = sa_exc.DBAPIError.instance(None, None, error, psycopg.Error)
        assert isinstance(wrapped, sa_exc.DBAPIError)
        return wrapped

    async def execute(
        self, statement: Statement, params: Mapping[str, Any] | None = None
    ) -> Result:
        try:
            cursor = await self.raw.statements.execute(statement.query, params)
            return await self._result(statement, cursor)
        except psycopg.Error as error:
            raise self.wrap(error) from None

    @staticmethod
    async def _result(statement: Statement, cursor: psycopg.AsyncCursor[Any]) -> Result:
        result = cursor.pgresult
        rows = []
        if result is not None and result.nfields:
            rows = statement.rows(result, await cursor.fetchall())
        return Result(rows, cursor.rowcount)

    async def command(self, command: bytes) -> None:
        try:
            await self.raw.statements.execute(command)
        except psycopg.Error as error:
            raise self.wrap(error) from None

    @property
    def broken(self) -> bool:
        return self.raw.closed or self.raw.broken


def libpq_url(database_url: str) -> str:
    """The operator's URL (possibly SQLAlchemy-style `postgresql+psycopg://`) for libpq."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


def create_pool(
    database_url: str,
    *,
    application_name: str,
    pool_size: int,
    max_overflow: int,
    pool_timeout: float,
    statement_timeout_ms: int = 30_000,
    configure: Callable[[psycopg.AsyncConnection[Any]], Awaitable[None]] | None = None,
) -> AsyncConnectionPool[Any]:
    """The pool behind every unit of work (the same knobs as `symphony_common.db.engine`);
    `configure` runs on each new connection; opened by `open_pool`."""
    return AsyncConnectionPool(
        libpq_url(database_url),
        min_size=1,
        max_size=max(1, pool_size + max_overflow),
        timeout=pool_timeout,
        # Connections a burst opened close after a minute idle (psycopg's default is ten), as
        # SQLAlchemy's pool closes its overflow at once: many pools share one server.
        max_idle=60,
        max_lifetime=1800,
        open=False,
        connection_class=PooledConnection,
        configure=configure,
        kwargs={
            "autocommit": True,
            "application_name": application_name,
            "connect_timeout": 5,
            "options": f"-c statement_timeout={statement_timeout_ms}",
        },
    )


async def open_pool(pool: AsyncConnectionPool[Any]) -> None:
    # Don't wait for the first connection: readiness reports the database, start-up does not
    # depend on it.
    await pool.open(wait=False)


async def pool_ready(pool: AsyncConnectionPool[Any]) -> bool:
    """Readiness probe: the database answers a trivial query."""
    async with pool.connection() as raw:
        await raw.execute("SELECT 1")
    return True


def recheck_after_failure(pool: AsyncConnectionPool[Any]) -> None:
    """After a connection broke (a database restart), test the idle ones in the background so
    the next calls don't each find another dead connection."""
    with contextlib.suppress(RuntimeError):
        task = asyncio.get_running_loop().create_task(pool.check())
        _background.add(task)
        task.add_done_callback(_background.discard)


_background: set[asyncio.Task[None]] = set()


class PoolUnitOfWork:
    """One transaction over a pooled connection: `async with uow: ...; await uow.commit()`,
    rolled back without the commit. `single_statement=True` is for a unit that runs one
    statement: a statement is its own snapshot, so no BEGIN/COMMIT round trips. Subclasses build
    their repositories in `_open(conn)`."""

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

    def _open(self, conn: Connection) -> None:
        """Hook for subclasses: build repositories on the open connection."""

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
        self._open(self._conn)
        return self

    async def commit(self) -> None:
        if not self.single_statement:
            with translate_db_errors():
                await self.connection.command(b"COMMIT")
        self._committed = True

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
