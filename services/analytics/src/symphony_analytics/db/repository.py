# ruff: noqa: S608, E501 - SQL text; interpolated names come only from fixed allowlists
"""All of analytics' SQL. Driver errors are translated here; nothing from sqlalchemy or psycopg
escapes this package."""

from __future__ import annotations

import contextlib
import json
import random
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

import psycopg
from sqlalchemy import exc as sa_exc
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

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
from symphony_common.db.unit_of_work import sqlstate, translate_db_errors
from symphony_common.errors import database_unavailable

CHECK_VIOLATION = "23514"  # also "no partition of relation ... found for row"
INGEST_SHARDS = 8
DIMENSION_COLUMNS = {
    "editor_version": "editor_version",
    "platform": "platform",
    "extension": "extension",
}

CREATE_STAGING = text(
    """
    CREATE TEMP TABLE IF NOT EXISTS ingest_staging (
        event_id uuid NOT NULL,
        name text NOT NULL,
        event_time timestamptz NOT NULL,
        receive_time timestamptz NOT NULL,
        install_id uuid NOT NULL,
        session_id uuid NOT NULL,
        editor_version text NOT NULL,
        platform text NOT NULL,
        properties jsonb NOT NULL,
        schema_version smallint NOT NULL
    ) ON COMMIT DELETE ROWS
    """
)
COPY_STAGING = (
    "COPY pg_temp.ingest_staging (event_id, name, event_time, receive_time, install_id, session_id,"
    " editor_version, platform, properties, schema_version) FROM STDIN"
)
# Keep only the ids seen for the first time; a concurrent batch with the same id waits on the
# unique index until the first commits, then skips it: each id is stored once.
DEDUPE_STAGING = text(
    """
    WITH new AS (
        INSERT INTO analytics.event_ids (event_id, receive_time)
        SELECT event_id, receive_time FROM pg_temp.ingest_staging ORDER BY event_id
        ON CONFLICT (event_id) DO NOTHING
        RETURNING event_id
    )
    DELETE FROM pg_temp.ingest_staging s
    WHERE NOT EXISTS (SELECT 1 FROM new WHERE new.event_id = s.event_id)
    """
)
INSERT_EVENTS = text(
    """
    INSERT INTO analytics.events (event_id, name, event_time, receive_time, install_id, session_id,
                                  editor_version, platform, properties, schema_version)
    SELECT event_id, name, event_time, receive_time, install_id, session_id,
           editor_version, platform, properties, schema_version
    FROM pg_temp.ingest_staging
    """
)

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
# ORDER BY the conflict key so that concurrent batches lock rollup rows in the same order.
UPSERT_HOURLY = text(
    f"""
    INSERT INTO analytics.activity_hourly AS t ({HOURLY_COLUMNS})
    SELECT * FROM ({HOURLY_SELECT.format(source="pg_temp.ingest_staging")}) s
    ORDER BY event, bucket, install_id, editor_version, platform, extension
    ON CONFLICT (event, bucket, install_id, editor_version, platform, extension)
    DO UPDATE SET event_count = t.event_count + EXCLUDED.event_count
    """
)
UPSERT_DAILY = text(
    f"""
    INSERT INTO analytics.activity_daily AS t ({DAILY_COLUMNS})
    SELECT * FROM ({DAILY_SELECT.format(source="pg_temp.ingest_staging")}) s
    ORDER BY event, day, install_id, editor_version, platform, extension, extension_version
    ON CONFLICT (event, day, install_id, editor_version, platform, extension, extension_version)
    DO UPDATE SET event_count = t.event_count + EXCLUDED.event_count
    """
)


def _copy_field(value: str) -> str:
    """A text field in COPY text format: backslash, tab, newline and carriage return escaped."""
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return value.translate(_COPY_ESCAPES)
    return value


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_dump_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode


def copy_text(events: Sequence[StoredEvent]) -> bytes:
    """The staging rows in COPY text format, built in one pass (column order of COPY_STAGING).
    Ids are canonical UUID text and times are ISO 8601 with an offset (validated upstream);
    every free-form field goes through `_copy_field`."""
    received: dict[datetime, str] = {}
    lines = []
    for e in events:
        receive_time = received.get(e.receive_time)
        if receive_time is None:
            receive_time = received[e.receive_time] = e.receive_time.isoformat()
        lines.append(
            "\t".join(
                (
                    _copy_field(e.event_id),
                    _copy_field(e.name),
                    e.event_time.isoformat(),
                    receive_time,
                    _copy_field(e.install_id),
                    _copy_field(e.session_id),
                    _copy_field(e.editor_version),
                    _copy_field(e.platform),
                    _copy_field(_dump_json(e.properties)),
                    str(int(e.schema_version)),
                )
            )
        )
    lines.append("")
    return "\n".join(lines).encode()


@contextlib.contextmanager
def _translate() -> Iterator[None]:
    with translate_db_errors():
        try:
            yield
        except sa_exc.DBAPIError as error:
            if sqlstate(error) == CHECK_VIOLATION and "partition" in str(error.orig):
                raise PartitionMissing() from None
            raise


class SqlEventRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def store(self, events: Sequence[StoredEvent]) -> StoreResult:
        if not events:
            return StoreResult(0, 0)
        with _translate():
            await self.conn.execute(CREATE_STAGING)
            await self._copy(events)
            duplicates = (await self.conn.execute(DEDUPE_STAGING)).rowcount
            accepted = (await self.conn.execute(INSERT_EVENTS)).rowcount
            if accepted:
                await self.conn.execute(UPSERT_HOURLY)
                await self.conn.execute(UPSERT_DAILY)
        return StoreResult(accepted, duplicates)

    async def _copy(self, events: Sequence[StoredEvent]) -> None:
        raw = await self.conn.get_raw_connection()
        driver = raw.driver_connection
        assert driver is not None
        try:
            async with driver.cursor() as cursor, cursor.copy(COPY_STAGING) as copy:
                await copy.write(copy_text(events))
        except (psycopg.OperationalError, psycopg.InterfaceError):
            raise database_unavailable() from None
        except psycopg.Error as error:
            if error.sqlstate == CHECK_VIOLATION:
                raise PartitionMissing() from None
            raise

    async def count_dropped(
        self, bucket: datetime, drops: Sequence[tuple[Reason, str]], accepted: int, duplicates: int
    ) -> None:
        with _translate():
            if drops:
                counted = Counter(drops)
                rows = [
                    {"bucket": bucket, "reason": reason.value, "event": event, "n": n}
                    for (reason, event), n in sorted(counted.items())
                ]
                await self.conn.execute(
                    text(
                        """
                        INSERT INTO analytics.dropped_counts AS t (bucket, reason, event, dropped)
                        VALUES (:bucket, :reason, :event, :n)
                        ON CONFLICT (bucket, reason, event) DO UPDATE SET dropped = t.dropped + EXCLUDED.dropped
                        """
                    ),
                    rows,
                )
            if accepted or duplicates:
                await self.conn.execute(
                    text(
                        """
                        INSERT INTO analytics.ingest_counts AS t (bucket, shard, accepted, duplicates)
                        VALUES (:bucket, :shard, :accepted, :duplicates)
                        ON CONFLICT (bucket, shard) DO UPDATE
                        SET accepted = t.accepted + EXCLUDED.accepted, duplicates = t.duplicates + EXCLUDED.duplicates
                        """
                    ),
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
                                """DELETE FROM analytics.event_ids WHERE event_id IN (
                                       SELECT event_id FROM analytics.event_ids WHERE receive_time < :before LIMIT 10000)"""
                            ),
                            {"before": before},
                        )
                    ).rowcount
            purged += n
            if n < 10000:
                return purged

    async def rebuild_rollups(self, start: datetime, end: datetime) -> None:
        params = {"start": start, "end": end}
        raw = "(SELECT * FROM analytics.events WHERE event_time >= :start AND event_time < :end) e"
        with _translate():
            async with self.engine.begin() as conn:
                # Ingest (ROW EXCLUSIVE) waits while the rollups of the range are replaced.
                await conn.execute(
                    text(
                        "LOCK TABLE analytics.activity_hourly, analytics.activity_daily IN SHARE ROW EXCLUSIVE MODE"
                    )
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
