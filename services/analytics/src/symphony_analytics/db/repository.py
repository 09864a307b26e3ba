# ruff: noqa: S608, E501 - SQL text; interpolated names come only from fixed allowlists
"""All of analytics' SQL. Driver errors are translated here; nothing from sqlalchemy or psycopg
escapes this package."""

from __future__ import annotations

import contextlib
import random
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import exc as sa_exc
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from symphony_analytics.db.staging import parameters, stage
from symphony_analytics.domain.models import (
    BucketFigure,
    DownloadCount,
    DroppedCount,
    ExtensionDay,
    Filters,
    GroupTotal,
    Interval,
    Period,
    Reason,
    StoredEvent,
    StoreResult,
)
from symphony_analytics.domain.service import EXTENSION_EVENTS, PartitionMissing
from symphony_common.db.driver import Connection, sql
from symphony_common.db.unit_of_work import (
    UNIQUE_VIOLATION,
    constraint_name,
    sqlstate,
    translate_db_errors,
)

CHECK_VIOLATION = "23514"  # also "no partition of relation ... found for row"
EVENT_IDS_KEY = "event_ids_pkey"
INGEST_SHARDS = 8
DIMENSION_COLUMNS = {
    "editor_version": "editor_version",
    "platform": "platform",
    "extension": "extension",
}

HOURLY_SELECT = """
    SELECT date_trunc('hour', event_time, 'UTC') AS bucket, name AS event, install_id, editor_version,
           platform, coalesce(properties->>'extension', '') AS extension, count(*) AS event_count
    FROM {source} GROUP BY 1, 2, 3, 4, 5, 6
"""
DAILY_SELECT = """
    SELECT date_trunc('day', event_time, 'UTC') AS day, name AS event, install_id, editor_version,
           platform, coalesce(properties->>'extension', '') AS extension,
           coalesce(properties->>'extension_version', '') AS extension_version, count(*) AS event_count
    FROM {source} GROUP BY 1, 2, 3, 4, 5, 6, 7
"""
HOURLY_COLUMNS = "bucket, event, install_id, editor_version, platform, extension, event_count"
DAILY_COLUMNS = (
    "day, event, install_id, editor_version, platform, extension, extension_version, event_count"
)
PENDING_COLUMNS = (
    "bucket, event, install_id, editor_version, platform, extension, extension_version, event_count"
)

# A batch arrives as binary arrays (see `staging.py`): its columns, with the events in the
# dedupe index's order, and its rollup deltas, which PostgreSQL reads without parsing or sorting
# anything. Ingest runs on psycopg directly (symphony_common.db.driver): SQLAlchemy's execution
# layer cost ~0.5 ms of CPU per batch, and a batch without drops is one statement in autocommit.
#
# The dedupe key is (install_id, event_id) (migration 0004): a retry resends both, and a
# batch's ids (one install) land on a few neighbouring index pages instead of 500 random ones.
EVENT_COLUMNS = (
    "event_id, name, event_time, receive_time, install_id, session_id, editor_version, platform,"
    " properties, schema_version"
)
# The arrays are unnested in the select list, where the set-returning functions run in step
# and hand over one row at a time: `FROM unnest(a, b, ...)` first copies every array's elements
# into a tuplestore (measured 0.2-0.3 ms of PostgreSQL CPU per batch of 500). Arrays of a batch
# have the same length (`staging.stage`); a shorter one would give NULLs, which NOT NULL refuses.
STAGED_EVENTS = """
    SELECT e.event_id, e.name, e.event_time, :receive_time, e.install_id, e.session_id,
           e.editor_version, e.platform, e.properties, :schema_version
    FROM (SELECT unnest(CAST(:event_ids AS uuid[])) AS event_id,
                 unnest(CAST(:names AS text[])) AS name,
                 unnest(CAST(:event_times AS timestamptz[])) AS event_time,
                 unnest(CAST(:install_ids AS uuid[])) AS install_id,
                 unnest(CAST(:session_ids AS uuid[])) AS session_id,
                 unnest(CAST(:editor_versions AS text[])) AS editor_version,
                 unnest(CAST(:platforms AS text[])) AS platform,
                 unnest(CAST(:properties AS jsonb[])) AS properties) AS e
"""
STAGED_KEYS = """
    SELECT unnest(CAST(:install_ids AS uuid[])), unnest(CAST(:event_ids AS uuid[])), :receive_time
"""

# The usual batch carries only ids never seen: STORE_NEW_EVENTS stores it with plain inserts
# (no ON CONFLICT, whose speculative insertion measured 0.3-0.8 ms of PostgreSQL CPU per 500
# ids, and no join of the new ids back to the rows). The first known id breaks the unique
# index, the statement fails having written nothing, and the batch goes through STORE_EVENTS,
# which dedupes exactly (see `SqlEventRepository.store_staged`). Both insert the ids in key
# order, so two batches sharing ids wait on each other in one direction only.
STORE_NEW_EVENTS = sql(
    f"""
    WITH new AS (
        INSERT INTO analytics.event_ids (install_id, event_id, receive_time) {STAGED_KEYS}
        RETURNING 1
    ), stored AS (
        INSERT INTO analytics.events ({EVENT_COLUMNS}) {STAGED_EVENTS}
        RETURNING 1
    ), pending AS (
        INSERT INTO analytics.rollup_pending ({PENDING_COLUMNS})
        SELECT unnest(CAST(:delta_buckets AS timestamptz[])), unnest(CAST(:delta_events AS text[])),
               unnest(CAST(:delta_installs AS uuid[])), unnest(CAST(:delta_editor_versions AS text[])),
               unnest(CAST(:delta_platforms AS text[])), unnest(CAST(:delta_extensions AS text[])),
               unnest(CAST(:delta_extension_versions AS text[])), unnest(CAST(:delta_counts AS bigint[]))
        RETURNING 1
    )
    -- Reading every insert makes them all finish before the counter row is locked: the main
    -- query of a WITH statement otherwise runs first, and a batch waiting on a shared id would
    -- hold its shard's row meanwhile, queueing every other batch of that shard behind it.
    INSERT INTO analytics.ingest_counts AS t (bucket, shard, accepted, duplicates)
    SELECT :bucket, :shard, ids.n, :extra_duplicates
    FROM (SELECT count(*) AS n FROM new) AS ids, (SELECT count(*) FROM stored) AS events,
         (SELECT count(*) FROM pending) AS deltas
    ON CONFLICT (bucket, shard) DO UPDATE
    SET accepted = t.accepted + EXCLUDED.accepted, duplicates = t.duplicates + EXCLUDED.duplicates
    """
)

# Any batch: `new` are the ids seen for the first time (a concurrent batch with the same id
# waits on the unique index until the first commits, then skips it: each id is stored once);
# their events are stored, their rollup deltas appended to rollup_pending for the fold, and the
# hour's accepted/duplicate counters (a random shard) updated. Returns (accepted, duplicates).
STORE_EVENTS = sql(
    f"""
    WITH new AS (
        INSERT INTO analytics.event_ids (install_id, event_id, receive_time) {STAGED_KEYS}
        ON CONFLICT (install_id, event_id) DO NOTHING
        RETURNING install_id, event_id
    ), stored AS (
        INSERT INTO analytics.events ({EVENT_COLUMNS})
        {STAGED_EVENTS} JOIN new USING (install_id, event_id)
        RETURNING name, event_time, install_id, editor_version, platform, properties
    ), pending AS (
        INSERT INTO analytics.rollup_pending ({PENDING_COLUMNS})
        SELECT date_trunc('hour', event_time, 'UTC'), name, install_id, editor_version, platform,
               coalesce(properties->>'extension', ''), coalesce(properties->>'extension_version', ''),
               count(*)
        FROM stored GROUP BY 1, 2, 3, 4, 5, 6, 7
    ), totals AS (
        SELECT (SELECT count(*) FROM stored) AS accepted,
               cardinality(CAST(:event_ids AS uuid[])) - (SELECT count(*) FROM new) AS duplicates
    ), counted AS (
        INSERT INTO analytics.ingest_counts AS t (bucket, shard, accepted, duplicates)
        SELECT :bucket, :shard, accepted, duplicates + :extra_duplicates FROM totals
        ON CONFLICT (bucket, shard) DO UPDATE
        SET accepted = t.accepted + EXCLUDED.accepted, duplicates = t.duplicates + EXCLUDED.duplicates
    )
    SELECT accepted, duplicates FROM totals
    """
)

# The fold: drains up to :limit pending deltas into the rollups in ONE statement (so in one
# transaction): what is deleted is exactly what is added, never twice, never missed. Rows are
# upserted in key order. Returns how many deltas were drained and when the statement started:
# when fewer than :limit were drained, every batch committed before that time is folded.
FOLD_ROLLUPS = text(
    f"""
    WITH drained AS (
        DELETE FROM analytics.rollup_pending
        WHERE ctid = ANY(ARRAY(SELECT ctid FROM analytics.rollup_pending LIMIT :limit))
        RETURNING {PENDING_COLUMNS}
    ), hourly AS (
        INSERT INTO analytics.activity_hourly AS t ({HOURLY_COLUMNS})
        SELECT bucket, event, install_id, editor_version, platform, extension, sum(event_count)
        FROM drained GROUP BY 1, 2, 3, 4, 5, 6
        ORDER BY event, bucket, install_id, editor_version, platform, extension
        ON CONFLICT (event, bucket, install_id, editor_version, platform, extension)
        DO UPDATE SET event_count = t.event_count + EXCLUDED.event_count
    ), daily AS (
        INSERT INTO analytics.activity_daily AS t ({DAILY_COLUMNS})
        SELECT date_trunc('day', bucket, 'UTC'), event, install_id, editor_version, platform,
               extension, extension_version, sum(event_count)
        FROM drained GROUP BY 1, 2, 3, 4, 5, 6, 7
        ORDER BY 2, 1, 3, 4, 5, 6, 7
        ON CONFLICT (event, day, install_id, editor_version, platform, extension, extension_version)
        DO UPDATE SET event_count = t.event_count + EXCLUDED.event_count
    )
    SELECT count(*), statement_timestamp() FROM drained
    """
)
# Folds and rebuilds of the rollups take this lock (transaction-scoped), one at a time.
ROLLUP_LOCK = text("SELECT pg_advisory_xact_lock(hashtext('analytics.rollups'))")
FOLD_BATCH = 50_000


@contextlib.contextmanager
def _translate() -> Iterator[None]:
    with translate_db_errors():
        try:
            yield
        except sa_exc.DBAPIError as error:
            if sqlstate(error) == CHECK_VIOLATION and "partition" in str(error.orig):
                raise PartitionMissing() from None
            raise


COUNT_DROPPED = sql(
    """
    INSERT INTO analytics.dropped_counts AS t (bucket, reason, event, dropped)
    SELECT :bucket, reason, event, n
    FROM unnest(CAST(:reasons AS text[]), CAST(:events AS text[]), CAST(:counts AS bigint[]))
         AS d(reason, event, n)
    ON CONFLICT (bucket, reason, event) DO UPDATE SET dropped = t.dropped + EXCLUDED.dropped
    """
)
COUNT_INGESTED = sql(
    """
    INSERT INTO analytics.ingest_counts AS t (bucket, shard, accepted, duplicates)
    VALUES (:bucket, :shard, :accepted, :duplicates)
    ON CONFLICT (bucket, shard) DO UPDATE
    SET accepted = t.accepted + EXCLUDED.accepted, duplicates = t.duplicates + EXCLUDED.duplicates
    """
)


def _known_event_id(error: sa_exc.DBAPIError) -> bool:
    return sqlstate(error) == UNIQUE_VIOLATION and constraint_name(error) == EVENT_IDS_KEY


class SqlEventRepository:
    def __init__(self, conn: Connection, *, autocommit: bool = False) -> None:
        """`autocommit`: each statement is its own transaction (a `single_statement` unit)."""
        self.conn = conn
        self.autocommit = autocommit

    async def store(
        self, events: Sequence[StoredEvent], bucket: datetime, extra_duplicates: int
    ) -> StoreResult:
        if not events:
            return StoreResult(0, 0)
        return await self.store_staged(stage(events), len(events), bucket, extra_duplicates)

    async def store_staged(
        self, staged: Sequence[bytes], count: int, bucket: datetime, extra_duplicates: int
    ) -> StoreResult:
        """`store` from the batch's `staging.stage` (`count` events) on."""
        if not count:
            return StoreResult(0, 0)
        params: dict[str, Any] = {
            **parameters(staged),
            "bucket": bucket,
            "shard": random.randrange(INGEST_SHARDS),
            "extra_duplicates": extra_duplicates,
        }
        with _translate():
            # Only in autocommit: inside a transaction a failed statement would abort it.
            if self.autocommit:
                try:
                    await self.conn.execute(STORE_NEW_EVENTS, params)
                    return StoreResult(count, 0)
                except sa_exc.DBAPIError as error:
                    if not _known_event_id(error):
                        raise
                    # A retried batch, or a concurrent one that committed an id first: that
                    # statement wrote nothing; this one skips the known ids.
            accepted, duplicates = (await self.conn.execute(STORE_EVENTS, params)).one()
        return StoreResult(accepted, duplicates)

    async def count_dropped(
        self, bucket: datetime, drops: Sequence[tuple[Reason, str]], accepted: int, duplicates: int
    ) -> None:
        with _translate():
            if drops:
                counted = sorted(Counter(drops).items())  # key order: no deadlock between calls
                await self.conn.execute(
                    COUNT_DROPPED,
                    {
                        "bucket": bucket,
                        "reasons": [reason.value for (reason, _), _ in counted],
                        "events": [event for (_, event), _ in counted],
                        "counts": [n for _, n in counted],
                    },
                )
            if accepted or duplicates:
                await self.conn.execute(
                    COUNT_INGESTED,
                    {
                        "bucket": bucket,
                        "shard": random.randrange(INGEST_SHARDS),
                        "accepted": accepted,
                        "duplicates": duplicates,
                    },
                )


def _where(filters: Filters, params: dict[str, Any], group_by: str = "") -> str:
    clauses = []
    for i, (dimension, values) in enumerate(sorted(filters.values.items())):
        column = DIMENSION_COLUMNS[dimension]
        params[f"f{i}"] = list(values)
        clauses.append(f"{column} = ANY(:f{i})")
    if group_by == "extension":
        clauses.append("extension <> ''")
    return "".join(f" AND {c}" for c in clauses)


def _grouping(group_by: str, groups: Sequence[str] | None, params: dict[str, Any]) -> str:
    if not group_by:
        return "''"
    column = DIMENSION_COLUMNS[group_by]
    params["groups"] = list(groups or [])
    return f"CASE WHEN {column} = ANY(:groups) THEN {column} ELSE '' END"


class SqlQueryRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def _rows(self, sql: str, params: dict[str, Any]) -> list[Any]:
        with _translate():
            return list((await self.conn.execute(text(sql), params)).all())

    @staticmethod
    def _table(interval: Interval) -> tuple[str, str]:
        return (
            ("analytics.activity_hourly", "bucket")
            if interval == Interval.HOUR
            else ("analytics.activity_daily", "day")
        )

    async def event_totals_by_group(
        self,
        event: str,
        interval: Interval,
        start: datetime,
        end: datetime,
        group_by: str,
        filters: Filters,
    ) -> list[GroupTotal]:
        table, time = self._table(interval)
        params: dict[str, Any] = {"event": event, "start": start, "end": end}
        column = DIMENSION_COLUMNS[group_by]
        rows = await self._rows(
            f"""SELECT {column}, sum(event_count), count(DISTINCT install_id) FROM {table}
                WHERE event = :event AND {time} >= :start AND {time} < :end{_where(filters, params, group_by)}
                GROUP BY 1""",
            params,
        )
        return [GroupTotal(r[0], int(r[1]), int(r[2])) for r in rows]

    async def event_buckets(
        self,
        event: str,
        interval: Interval,
        start: datetime,
        end: datetime,
        group_by: str,
        filters: Filters,
        groups: Sequence[str] | None,
    ) -> list[BucketFigure]:
        table, time = self._table(interval)
        params: dict[str, Any] = {"event": event, "start": start, "end": end}
        grouping = _grouping(group_by, groups, params)
        rows = await self._rows(
            f"""SELECT {time}, {grouping}, sum(event_count), count(DISTINCT install_id) FROM {table}
                WHERE event = :event AND {time} >= :start AND {time} < :end{_where(filters, params, group_by)}
                GROUP BY 1, 2""",
            params,
        )
        return [BucketFigure(r[0], r[1], int(r[2]), int(r[3])) for r in rows]

    async def active_totals_by_group(
        self, start: datetime, end: datetime, group_by: str, filters: Filters
    ) -> list[GroupTotal]:
        params: dict[str, Any] = {"start": start, "end": end}
        column = DIMENSION_COLUMNS[group_by]
        rows = await self._rows(
            f"""SELECT {column}, sum(event_count), count(DISTINCT install_id) FROM analytics.activity_daily
                WHERE day >= :start AND day < :end{_where(filters, params, group_by)} GROUP BY 1""",
            params,
        )
        return [GroupTotal(r[0], int(r[1]), int(r[2])) for r in rows]

    async def active_buckets(
        self,
        period: Period,
        start: datetime,
        end: datetime,
        group_by: str,
        filters: Filters,
        groups: Sequence[str] | None,
    ) -> list[BucketFigure]:
        params: dict[str, Any] = {"start": start, "end": end, "unit": period.value}
        grouping = _grouping(group_by, groups, params)
        rows = await self._rows(
            f"""SELECT date_trunc(:unit, day, 'UTC'), {grouping}, sum(event_count), count(DISTINCT install_id)
                FROM analytics.activity_daily
                WHERE day >= :start AND day < :end{_where(filters, params, group_by)} GROUP BY 1, 2""",
            params,
        )
        return [BucketFigure(r[0], r[1], int(r[2]), int(r[3])) for r in rows]

    async def top_events(
        self, start: datetime, end: datetime, filters: Filters
    ) -> list[GroupTotal]:
        params: dict[str, Any] = {"start": start, "end": end}
        rows = await self._rows(
            f"""SELECT event, sum(event_count), count(DISTINCT install_id) FROM analytics.activity_daily
                WHERE day >= :start AND day < :end{_where(filters, params)} GROUP BY 1""",
            params,
        )
        return [GroupTotal(r[0], int(r[1]), int(r[2])) for r in rows]

    async def folded_through(self) -> datetime | None:
        rows = await self._rows("SELECT folded_through FROM analytics.rollup_folds", {})
        return rows[0][0] if rows else None

    async def dropped(self, start: datetime, end: datetime) -> tuple[list[DroppedCount], int, int]:
        params = {"start": start, "end": end}
        rows = await self._rows(
            """SELECT reason, event, sum(dropped) FROM analytics.dropped_counts
               WHERE bucket >= :start AND bucket < :end GROUP BY 1, 2""",
            params,
        )
        totals = await self._rows(
            """SELECT coalesce(sum(accepted), 0), coalesce(sum(duplicates), 0) FROM analytics.ingest_counts
               WHERE bucket >= :start AND bucket < :end""",
            params,
        )
        counts = [
            DroppedCount(Reason(r[0]), r[1], int(r[2])) for r in rows if r[0] in Reason.__members__
        ]
        return counts, int(totals[0][0]), int(totals[0][1])

    async def extension_figures(
        self,
        extension_id: str,
        namespace: str,
        extension: str,
        version: str,
        start: datetime,
        end: datetime,
    ) -> list[ExtensionDay]:
        # `version` restricts only what the caller shows; totals cover every version.
        installs = await self._rows(
            """SELECT day, extension_version, GROUPING(day, extension_version),
                      coalesce(sum(event_count) FILTER (WHERE event = 'extension_installed'), 0),
                      coalesce(sum(event_count) FILTER (WHERE event = 'extension_uninstalled'), 0),
                      count(DISTINCT install_id) FILTER (WHERE event = 'extension_active'),
                      count(DISTINCT install_id)
               FROM analytics.activity_daily
               WHERE extension = :ext AND event = ANY(:events) AND day >= :start AND day < :end
               GROUP BY GROUPING SETS ((day, extension_version), (day), (extension_version), ())""",
            {"ext": extension_id, "events": list(EXTENSION_EVENTS), "start": start, "end": end},
        )
        downloads = await self._rows(
            """SELECT day, version, GROUPING(day, version), sum(downloads)
               FROM analytics.downloads_daily
               WHERE namespace = :ns AND extension = :ext AND day >= :start AND day < :end
               GROUP BY GROUPING SETS ((day, version), (day), (version), ())""",
            {"ns": namespace, "ext": extension, "start": start, "end": end},
        )

        def key(day: datetime, ver: str, grouping: int) -> tuple[datetime | None, str | None]:
            return (None if grouping & 2 else day, None if grouping & 1 else ver)

        figures: dict[tuple[datetime | None, str | None], list[int]] = {}
        for day, ver, grouping, n_in, n_out, active, distinct in installs:
            figures.setdefault(key(day, ver, grouping), [0, 0, 0, 0, 0])[1:] = [
                int(n_in),
                int(n_out),
                int(active),
                int(distinct),
            ]
        for day, ver, grouping, n in downloads:
            if n is None:
                continue
            figures.setdefault(key(day, ver, grouping), [0, 0, 0, 0, 0])[0] = int(n)
        return [ExtensionDay(d, v, *values) for (d, v), values in figures.items()]


class SqlDownloadRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def record(self, counts: Sequence[DownloadCount]) -> int:
        with _translate():
            result = await self.conn.execute(
                text(
                    """INSERT INTO analytics.download_outbox_ids (outbox_id)
                       SELECT unnest(CAST(:ids AS bigint[])) ORDER BY 1
                       ON CONFLICT (outbox_id) DO NOTHING RETURNING outbox_id"""
                ),
                {"ids": sorted(c.outbox_id for c in counts)},
            )
            new = {row[0] for row in result}
            totals: Counter[tuple[str, str, datetime, str, str]] = Counter()
            for c in counts:
                if c.outbox_id in new:
                    totals[
                        (
                            c.namespace.lower(),
                            c.extension.lower(),
                            c.day,
                            c.version,
                            c.target_platform or "universal",
                        )
                    ] += c.downloads
            if totals:
                await self.conn.execute(
                    text(
                        """INSERT INTO analytics.downloads_daily AS t
                               (namespace, extension, day, version, target_platform, downloads)
                           VALUES (:ns, :ext, :day, :ver, :tp, :n)
                           ON CONFLICT (namespace, extension, day, version, target_platform)
                           DO UPDATE SET downloads = t.downloads + EXCLUDED.downloads"""
                    ),
                    [
                        {"ns": k[0], "ext": k[1], "day": k[2], "ver": k[3], "tp": k[4], "n": n}
                        for k, n in sorted(totals.items())
                    ],
                )
        return len(new)


class SqlMaintenance:
    """Partition upkeep, retention and rollup rebuilds, each in its own transaction."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def _scalar(self, sql: str, params: dict[str, Any]) -> int:
        with _translate():
            async with self.engine.begin() as conn:
                return int((await conn.execute(text(sql), params)).scalar_one() or 0)

    async def ensure_partitions(self, first_day: datetime, last_day: datetime) -> int:
        return await self._scalar(
            "SELECT analytics.ensure_event_partitions(:a, :b)",
            {"a": first_day.date(), "b": last_day.date()},
        )

    async def drop_partitions_before(self, day: datetime) -> int:
        return await self._scalar(
            "SELECT analytics.drop_event_partitions_before(:d)", {"d": day.date()}
        )

    async def purge_dedupe(self, before: datetime) -> int:
        purged = 0
        while True:
            with _translate():
                async with self.engine.begin() as conn:
                    n = (
                        await conn.execute(
                            text(
                                """DELETE FROM analytics.event_ids WHERE ctid = ANY(ARRAY(
                                       SELECT ctid FROM analytics.event_ids WHERE receive_time < :before LIMIT 10000))"""
                            ),
                            {"before": before},
                        )
                    ).rowcount
            purged += n
            if n < 10000:
                return purged

    async def fold_rollups(self) -> tuple[int, datetime]:
        """Drain rollup_pending into the rollups, FOLD_BATCH deltas per transaction, until it is
        empty; returns the deltas folded and the time before which every batch is folded."""
        folded = 0
        while True:
            with _translate():
                async with self.engine.begin() as conn:
                    await conn.execute(ROLLUP_LOCK)
                    drained, started = (
                        await conn.execute(FOLD_ROLLUPS, {"limit": FOLD_BATCH})
                    ).one()
                    folded += drained
                    if drained < FOLD_BATCH:
                        await conn.execute(
                            text(
                                "UPDATE analytics.rollup_folds SET folded_through = greatest(folded_through, :t)"
                            ),
                            {"t": started},
                        )
                        return folded, started

    async def rebuild_rollups(self, start: datetime, end: datetime) -> None:
        params = {"start": start, "end": end}
        raw = "(SELECT * FROM analytics.events WHERE event_time >= :start AND event_time < :end) e"
        with _translate():
            async with self.engine.begin() as conn:
                # No fold meanwhile; ingest (ROW EXCLUSIVE on rollup_pending) waits, and the
                # batches in flight commit first: each event of the range is then either in
                # the recount below or (committed later) in rollup_pending, never both.
                await conn.execute(ROLLUP_LOCK)
                await conn.execute(
                    text(
                        "LOCK TABLE analytics.rollup_pending, analytics.activity_hourly, analytics.activity_daily"
                        " IN SHARE ROW EXCLUSIVE MODE"
                    )
                )
                await conn.execute(
                    text(
                        "DELETE FROM analytics.rollup_pending WHERE bucket >= :start AND bucket < :end"
                    ),
                    params,
                )
                await conn.execute(
                    text(
                        "DELETE FROM analytics.activity_hourly WHERE bucket >= :start AND bucket < :end"
                    ),
                    params,
                )
                await conn.execute(
                    text("DELETE FROM analytics.activity_daily WHERE day >= :start AND day < :end"),
                    params,
                )
                await conn.execute(
                    text(
                        f"INSERT INTO analytics.activity_hourly ({HOURLY_COLUMNS}) {HOURLY_SELECT.format(source=raw)}"
                    ),
                    params,
                )
                await conn.execute(
                    text(
                        f"INSERT INTO analytics.activity_daily ({DAILY_COLUMNS}) {DAILY_SELECT.format(source=raw)}"
                    ),
                    params,
                )


__all__ = ["SqlDownloadRepository", "SqlEventRepository", "SqlMaintenance", "SqlQueryRepository"]
