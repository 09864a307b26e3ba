"""Data for the analytics scenario: an editor-like event mix, ingest batches (pre-serialised gRPC
requests and the identical rows as COPY text), and a server-side bulk load of the raw partitions.

The mix is fixed and documented so the figures can be reproduced: installs keep one platform and
editor version; about 60% of the installs are active on a given day; 200 extensions with 3
versions each; event names weighted as an editor would send them (commands and files dominate).
"""

from __future__ import annotations

import json
import os
import random
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg
from google.protobuf import struct_pb2, timestamp_pb2

from symphony.analytics.v1 import analytics_service_pb2 as spb

PLATFORMS = ("linux-x64", "darwin-arm64", "win32-x64", "darwin-x64", "linux-arm64", "web")
VERSIONS = tuple(f"1.{minor}.{patch}" for minor in range(4) for patch in (0, 1))
EXTENSIONS = tuple(f"publisher{i % 40}.extension{i}" for i in range(200))
EXTENSION_VERSIONS = ("1.0.0", "1.1.0", "2.0.0")
LANGUAGES = ("python", "typescript", "rust", "go", "markdown", "json", "cpp", "java")
COMMANDS = tuple(f"workbench.action.command{i}" for i in range(50))
# (event name, weight in ‰): 1000 templates in total.
MIX = (
    ("command_executed", 400),
    ("file_opened", 300),
    ("search_performed", 100),
    ("extension_active", 60),
    ("editor_started", 50),
    ("editor_closed", 50),
    ("extension_installed", 20),
    ("extension_uninstalled", 10),
    ("settings_sync_toggled", 10),
)
ACTIVE_SHARE = 0.6
SCHEMA_VERSION = 2


def templates() -> list[tuple[str, dict[str, object]]]:
    """1000 (name, properties) pairs in the proportions of MIX; deterministic."""
    rng = random.Random(6)
    out: list[tuple[str, dict[str, object]]] = []
    for name, weight in MIX:
        for _ in range(weight):
            props: dict[str, object]
            if name == "command_executed":
                props = {
                    "command": rng.choice(COMMANDS),
                    "source": rng.choice(("palette", "keybinding", "menu")),
                }
            elif name == "file_opened":
                props = {"language": rng.choice(LANGUAGES)}
            elif name == "search_performed":
                props = {"result_count": rng.randrange(500), "regex": rng.random() < 0.2}
            elif name.startswith("extension_"):
                props = {
                    "extension": rng.choice(EXTENSIONS),
                    "extension_version": rng.choice(EXTENSION_VERSIONS),
                }
                if name == "extension_active":
                    props["activation_ms"] = rng.randrange(5, 900)
            elif name == "editor_started":
                props = {"first_run": False, "window_count": rng.randrange(1, 4)}
            elif name == "editor_closed":
                props = {"session_minutes": rng.randrange(1, 600)}
            else:
                props = {"enabled": rng.random() < 0.5}
            out.append((name, props))
    return out


def install_ids(count: int) -> list[tuple[str, str, str]]:
    """(install id, platform, editor version) per install; deterministic."""
    rng = random.Random(count)
    return [
        (
            str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            rng.choice(PLATFORMS),
            rng.choice(VERSIONS),
        )
        for _ in range(count)
    ]


# --- ingest batches --------------------------------------------------------------------------


@dataclass
class Batch:
    request: bytes  # a serialised BatchIngestEventsRequest
    copy_text: bytes  # the identical rows in COPY text format (events table column order)
    events: int


def _value(v: object) -> struct_pb2.Value:
    out = struct_pb2.Value()
    if isinstance(v, bool):
        out.bool_value = v
    elif isinstance(v, int | float):
        out.number_value = v
    else:
        out.string_value = str(v)
    return out


def _ts(moment: datetime) -> timestamp_pb2.Timestamp:
    out = timestamp_pb2.Timestamp()
    out.FromDatetime(moment)
    return out


def ingest_batches(count: int, size: int, installs: int = 1000, seed: int = 0) -> list[Batch]:
    """`count` batches of `size` events with fresh ids, each sent a few minutes ago by one of
    `installs` installs (as an editor's buffer does). The COPY side gets the rows the service
    stores (receive time = send time)."""
    rng = random.Random(seed)
    pool = templates()
    people = install_ids(installs)
    sessions = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in people]
    values = {(k, repr(v)): _value(v) for _, props in pool for k, v in props.items()}
    now = datetime.now(UTC)
    out = []
    for _ in range(count):
        request = spb.BatchIngestEventsRequest()
        lines = []
        sent = now - timedelta(seconds=rng.randrange(60, 600))
        who = rng.randrange(len(people))  # an editor's buffer sends its own install's events
        for _ in range(size):
            name, props = pool[rng.randrange(len(pool))]
            install, platform, version = people[who]
            event_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            moment = sent - timedelta(milliseconds=rng.randrange(60_000))
            event = request.events.add(
                event_id=event_id,
                name=name,
                client_time=_ts(moment),
                install_id=install,
                session_id=sessions[who],
                editor_version=version,
                platform=platform,
            )
            for key, v in props.items():
                event.properties[key].CopyFrom(values[(key, repr(v))])
            lines.append(
                "\t".join(
                    (
                        event_id,
                        name,
                        moment.isoformat(),
                        sent.isoformat(),
                        install,
                        sessions[who],
                        version,
                        platform,
                        json.dumps(props, separators=(",", ":")),
                        str(SCHEMA_VERSION),
                    )
                )
            )
        request.sent_time.CopyFrom(_ts(sent))
        out.append(Batch(request.SerializeToString(), ("\n".join(lines) + "\n").encode(), size))
    return out


def create_bare_events(database_url: str, table: str = "public.bare_events") -> None:
    """A copy of analytics.events' layout (same columns, daily RANGE partitions, no indexes)
    for yesterday, today and tomorrow, where the bare COPY goes; and `<table>_ids`, a copy of
    the dedupe table analytics.event_ids (its primary key and index included)."""
    today = datetime.now(UTC).date()
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {table}, {table}_ids")
        conn.execute(f"CREATE TABLE {table}_ids (LIKE analytics.event_ids INCLUDING ALL)")
        conn.execute(
            f"CREATE TABLE {table} (LIKE analytics.events INCLUDING ALL)"
            " PARTITION BY RANGE (event_time)"
        )
        for offset in (-1, 0, 1):
            day = today + timedelta(days=offset)
            conn.execute(
                f"CREATE TABLE {table}_p{day:%Y%m%d} PARTITION OF {table} "
                f"FOR VALUES FROM ('{day} 00:00+00') TO ('{day + timedelta(days=1)} 00:00+00')"
            )


# --- bulk load for the query figures ----------------------------------------------------------


def bench_events() -> int:
    return int(os.environ.get("SYMPHONY_BENCH_EVENTS", "10000000").replace("_", ""))


def bench_installs() -> int:
    return int(os.environ.get("SYMPHONY_BENCH_INSTALLS", "3000"))


def _lookup_tables(conn: psycopg.Connection, installs: int) -> None:
    conn.execute("DROP TABLE IF EXISTS public.bench_installs, public.bench_templates")
    conn.execute(
        "CREATE UNLOGGED TABLE public.bench_installs (i int PRIMARY KEY, install_id uuid,"
        " platform text, editor_version text)"
    )
    conn.execute(
        "CREATE UNLOGGED TABLE public.bench_templates (t int PRIMARY KEY, name text,"
        " properties jsonb)"
    )
    with conn.cursor().copy("COPY public.bench_installs FROM STDIN") as copy:
        for i, row in enumerate(install_ids(installs)):
            copy.write_row((i, *row))
    with conn.cursor().copy("COPY public.bench_templates FROM STDIN") as copy:
        for t, (name, props) in enumerate(templates()):
            copy.write_row((t, name, json.dumps(props)))
    conn.execute("ANALYZE public.bench_installs, public.bench_templates")


LOAD_DAY = """
INSERT INTO analytics.{partition}
    (event_id, name, event_time, receive_time, install_id, session_id, editor_version, platform,
     properties, schema_version)
SELECT gen_random_uuid(), t.name, e.at, e.at + interval '2 seconds', i.install_id,
       md5(i.install_id::text || %(day)s)::uuid, i.editor_version, i.platform, t.properties, 2
FROM (
    SELECT %(start)s::timestamptz + random() * interval '1 day' AS at,
           floor(random() * 1000)::int AS t,
           ((%(shift)s + floor(random() * %(active)s)::int) %% %(installs)s) AS i
    FROM generate_series(1, %(n)s)
) e
JOIN public.bench_templates t ON t.t = e.t
JOIN public.bench_installs i ON i.i = e.i
"""


def bulk_load(database_url: str, events: int, days: int = 30, workers: int = 2) -> dict[str, float]:
    """Load `events` raw events spread over the `days` whole UTC days before today, generated
    inside PostgreSQL (no client round trip per row), one INSERT … SELECT per daily partition,
    `workers` partitions at a time. The partitions are made UNLOGGED for the load (this
    database is thrown away after the run; reads are unaffected). Returns timings (s)."""
    today = datetime.now(UTC).date()
    installs = bench_installs()
    active = max(1, int(installs * ACTIVE_SHARE))
    timings: dict[str, float] = {}
    started = time.perf_counter()
    with psycopg.connect(database_url, autocommit=True) as conn:
        first = today - timedelta(days=days)
        conn.execute(
            "SELECT analytics.ensure_event_partitions(%s, %s)", (first, today + timedelta(days=1))
        )
        _lookup_tables(conn, installs)
    per_day = [events // days + (1 if d < events % days else 0) for d in range(days)]

    def load(d: int) -> None:
        day = today - timedelta(days=days - d)
        partition = f"events_p{day:%Y%m%d}"
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute("SET synchronous_commit = off")
            conn.execute("SET work_mem = '64MB'")
            conn.execute(f"ALTER TABLE analytics.{partition} SET UNLOGGED")
            conn.execute(
                LOAD_DAY.format(partition=partition),
                {
                    "day": str(day),
                    "start": f"{day} 00:00+00",
                    "shift": (d * 97) % installs,
                    "active": active,
                    "installs": installs,
                    "n": per_day[d],
                },
            )

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(load, range(days)))
    timings["load_raw_s"] = time.perf_counter() - started
    started = time.perf_counter()
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("ANALYZE analytics.events")
    timings["analyze_raw_s"] = time.perf_counter() - started
    return timings


def vacuum_rollups(database_url: str) -> float:
    started = time.perf_counter()
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE) analytics.activity_daily, analytics.activity_hourly")
    return time.perf_counter() - started


def raw_series(
    database_url: str, event: str, start: datetime, end: datetime
) -> Sequence[tuple[datetime, int, int]]:
    """The same figures computed from the raw events (for the ≥ 20× row and a sanity check)."""
    with psycopg.connect(database_url) as conn:
        return conn.execute(RAW_SERIES, {"event": event, "start": start, "end": end}).fetchall()


RAW_SERIES = """
SELECT date_trunc('day', event_time, 'UTC') AS day, count(*), count(DISTINCT install_id)
FROM analytics.events
WHERE name = %(event)s AND event_time >= %(start)s AND event_time < %(end)s
GROUP BY 1 ORDER BY 1
"""
