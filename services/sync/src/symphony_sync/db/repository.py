"""All of sync's SQL (text statements, converted once; run on psycopg, see `driver.py`). Driver
errors are translated to domain errors by `translate_db_errors` around every method."""
# ruff: noqa: S608, E501  (SQL text: the schema name is a constant, values are bound)

from __future__ import annotations

import base64
import functools
import hashlib
import json
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, ParamSpec, TypeVar

from symphony_common.db.driver import Connection, sql
from symphony_common.db.unit_of_work import translate_db_errors
from symphony_sync.domain.models import (
    ChangesQuery,
    ChangesRead,
    DeleteUserDataResult,
    Device,
    Item,
    PushStart,
    PushWrite,
    Snapshot,
    SnapshotTrigger,
    UserState,
)

P = ParamSpec("P")
T = TypeVar("T")

S = "sync"
DEVICE_COLUMNS = "uid, display_name, platform, excluded_collections, disabled, create_time, update_time, last_seen_time"
ITEM_COLUMNS = "collection, key, value, content_type, encrypted, mergeable, revision, device, update_time, deleted"

_LOCK_USER = sql(f"""
    INSERT INTO {S}.users AS u (user_id) VALUES (:u)
    ON CONFLICT (user_id) DO UPDATE SET user_id = EXCLUDED.user_id
    RETURNING user_id, revision, generation, usage_bytes, item_count, tombstone_floor
""")
_GET_USER = sql(f"""
    SELECT user_id, revision, generation, usage_bytes, item_count, tombstone_floor
    FROM {S}.users WHERE user_id = :u
""")
_SAVE_USER = sql(f"""
    UPDATE {S}.users SET revision = :revision, generation = :generation, usage_bytes = :usage,
        item_count = :count, tombstone_floor = :floor, update_time = :now
    WHERE user_id = :u
""")
_TRY_LOCK = sql("SELECT pg_try_advisory_xact_lock(:k)")
_GET_REQUEST = sql(f"""
    SELECT fingerprint, result FROM {S}.requests
    WHERE user_id = :u AND method = :m AND request_id = :r AND expire_time > :now
""")
_STORE_REQUEST = sql(f"""
    INSERT INTO {S}.requests (user_id, method, request_id, fingerprint, result, create_time, expire_time)
    VALUES (:u, :m, :r, :f, CAST(:result AS jsonb), :now, :exp)
    ON CONFLICT (user_id, method, request_id) DO UPDATE
        SET fingerprint = EXCLUDED.fingerprint, result = EXCLUDED.result,
            create_time = EXCLUDED.create_time, expire_time = EXCLUDED.expire_time
""")
_GET_ITEMS = sql(f"""
    SELECT {ITEM_COLUMNS} FROM {S}.items
    WHERE user_id = :u AND (collection, key) IN (
        SELECT c, k FROM unnest(CAST(:cs AS text[]), CAST(:ks AS text[])) AS t(c, k))
""")
_INSERT_ITEM = sql(f"""
    INSERT INTO {S}.items (user_id, collection, key, revision, value, content_type, encrypted,
        mergeable, deleted, device, size_bytes, update_time)
    VALUES (:u, :c, :k, :rev, :value, :ct, :enc, :merge, :del, :dev, :size, :t)
    ON CONFLICT (user_id, collection, key) DO NOTHING
""")
_UPDATE_ITEM = sql(f"""
    UPDATE {S}.items SET revision = :rev, value = :value, content_type = :ct, encrypted = :enc,
        mergeable = :merge, deleted = :del, device = :dev, size_bytes = :size, update_time = :t
    WHERE user_id = :u AND collection = :c AND key = :k AND revision = :expected
""")
_ADD_VERSION = sql(f"""
    INSERT INTO {S}.item_versions (user_id, revision, collection, key, value, content_type,
        encrypted, mergeable, deleted, device, update_time)
    VALUES (:u, :rev, :c, :k, :value, :ct, :enc, :merge, :del, :dev, :t)
""")
_PRUNE_HISTORY = sql(f"""
    DELETE FROM {S}.item_versions
    WHERE user_id = :u AND collection = :c AND key = :k AND revision < (
        SELECT revision FROM {S}.item_versions
        WHERE user_id = :u AND collection = :c AND key = :k
        ORDER BY revision DESC OFFSET :off LIMIT 1)
""")
_GET_VERSION = sql(f"""
    SELECT {ITEM_COLUMNS} FROM {S}.item_versions
    WHERE user_id = :u AND revision = :rev AND collection = :c AND key = :k
""")
_LIST_VERSIONS = sql(f"""
    SELECT {ITEM_COLUMNS} FROM {S}.item_versions
    WHERE user_id = :u AND collection = :c AND key = :k
      AND (CAST(:before AS bigint) IS NULL OR revision < CAST(:before AS bigint))
    ORDER BY revision DESC LIMIT :lim
""")
# The running byte total keeps a page near max_bytes without reading further values; the row
# that crosses the cap is returned too so the caller knows there is more.
_CHANGES = sql(f"""
    SELECT {ITEM_COLUMNS} FROM (
        SELECT *, sum(octet_length(key) + octet_length(value)) OVER (ORDER BY revision) AS running
        FROM (
            SELECT * FROM {S}.items
            WHERE user_id = :u AND revision > :after AND revision <= :upto
              AND (cardinality(CAST(:inc AS text[])) = 0 OR collection = ANY(CAST(:inc AS text[])))
              AND NOT (collection = ANY(CAST(:exc AS text[])))
            ORDER BY revision LIMIT :lim
        ) page
    ) sized
    WHERE running - (octet_length(key) + octet_length(value)) < :maxb
    ORDER BY revision
""")
# A push group (pushes of different users committed in one transaction) runs: the start, the
# write, the commit; each statement takes every push of the group at once (JSON parameters, one
# element per push or per change). Keyed rows are read by LATERAL lookups (LIMIT / OFFSET keep
# the planner from flattening them into joins): each is one index probe whatever the planner
# believes about the JSON's row count or the tables' sizes. As plain joins, on a new database's
# statistics, every push group hashed the whole requests table and every item's history.
#
# The start: each request id's lock (`pg_try_advisory_xact_lock`; `locked` false when another
# call holds it), and for the pushes holding theirs: the user's counter row locked (in user
# order, so two groups never wait on each other in a cycle), the stored result of the request
# id, the device, and the current items. The items come from the statement's snapshot, which
# predates a row lock that had to wait for another write of that user; `snapshot_revision` (the
# counter as that snapshot saw it) differs from the locked one exactly then, and the caller
# re-reads that user's items (a writer of items always raises the counter). A stored result
# committed by a duplicate between the snapshot and the request-id lock is missed here: the
# write then finds it and the group rolls back (see `_PUSH_WRITE`).
_PUSH_START = sql(f"""
    WITH p AS (
        SELECT * FROM json_to_recordset(CAST(:pushes AS json))
            AS p(u text, r text, d text, lock bigint)
    ), keys AS (
        SELECT * FROM json_to_recordset(CAST(:keys AS json)) AS k(u text, c text, k text)
    ), lk AS (
        SELECT p.u, pg_try_advisory_xact_lock(p.lock) AS locked FROM p
    ), locked AS (
        INSERT INTO {S}.users AS u (user_id)
        SELECT p.u FROM p JOIN lk ON lk.u = p.u WHERE lk.locked ORDER BY p.u
        ON CONFLICT (user_id) DO UPDATE SET user_id = EXCLUDED.user_id
        RETURNING user_id, revision, generation, usage_bytes, item_count, tombstone_floor
    )
    SELECT 'u' AS kind, p.u AS user_id, lk.locked, l.revision, l.generation, l.usage_bytes,
           l.item_count, l.tombstone_floor, s.revision AS snapshot_revision,
           rq.fingerprint AS req_fingerprint, rq.result AS req_result,
           d.uid AS d_uid, d.display_name AS d_display_name, d.platform AS d_platform,
           d.excluded_collections AS d_excluded_collections, d.disabled AS d_disabled,
           d.create_time AS d_create_time, d.update_time AS d_update_time,
           d.last_seen_time AS d_last_seen_time,
           NULL AS collection, NULL AS key, NULL::bytea AS value, NULL AS content_type,
           NULL::boolean AS encrypted, NULL::boolean AS mergeable, NULL::bigint AS item_revision,
           NULL AS device, NULL::timestamptz AS item_update_time, NULL::boolean AS deleted
    FROM p JOIN lk ON lk.u = p.u
    LEFT JOIN locked l ON l.user_id = p.u
    LEFT JOIN LATERAL (
        SELECT revision FROM {S}.users WHERE user_id = p.u LIMIT 1
    ) s ON true
    LEFT JOIN LATERAL (
        SELECT fingerprint, result FROM {S}.requests
        WHERE user_id = p.u AND method = :m AND request_id = p.r AND expire_time > :now LIMIT 1
    ) rq ON true
    LEFT JOIN LATERAL (
        SELECT * FROM {S}.devices WHERE user_id = p.u AND uid = p.d LIMIT 1
    ) d ON true
    UNION ALL
    SELECT 'i', it.user_id, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
           NULL, NULL, NULL, NULL, NULL, NULL, it.collection, it.key, it.value, it.content_type,
           it.encrypted, it.mergeable, it.revision, it.device, it.update_time, it.deleted
    FROM keys CROSS JOIN LATERAL (
        SELECT * FROM {S}.items WHERE user_id = keys.u AND collection = keys.c AND key = keys.k
        LIMIT 1
    ) it
""")
_GET_ITEMS_OF = sql(f"""
    SELECT it.user_id, {", ".join("it." + c for c in ITEM_COLUMNS.split(", "))}
    FROM {S}.items it
    JOIN json_to_recordset(CAST(:keys AS json)) AS k(u text, c text, k text)
        ON it.user_id = k.u AND it.collection = k.c AND it.key = k.k
""")
_GET_VERSIONS_OF = sql(f"""
    SELECT v.user_id, {", ".join("v." + c for c in ITEM_COLUMNS.split(", "))}
    FROM {S}.item_versions v
    JOIN json_to_recordset(CAST(:keys AS json)) AS k(u text, c text, k text, rev bigint)
        ON v.user_id = k.u AND v.revision = k.rev AND v.collection = k.c AND v.key = k.k
""")
# The write: every item compare-and-set (UPDATE on the expected revision, or INSERT when none
# may exist), its history version added and history pruned to `depth` (the statement's
# snapshot does not see the versions it adds, so it keeps the newest `depth - 1` it sees), each
# user's counter row saved, each request's result stored, due devices' last-seen stamps. Values
# travel base64 in the JSON. A request id whose unexpired result is already stored (a duplicate
# that committed after the start's snapshot) is not overwritten. Answers how many
# compare-and-sets succeeded and how many results were stored.
_PUSH_WRITE = sql(f"""
    WITH w AS (
        SELECT * FROM json_to_recordset(CAST(:items AS json)) AS w(
            u text, c text, k text, rev bigint, v text, ct text, enc boolean, merge boolean,
            del boolean, dev text, size bigint, expected bigint, t timestamptz)
    ), p AS (
        SELECT * FROM json_to_recordset(CAST(:pushes AS json)) AS p(
            u text, revision bigint, usage bigint, count bigint, r text, f text, result json,
            t timestamptz, exp timestamptz, touch text)
    ), upd AS (
        UPDATE {S}.items i SET revision = w.rev, value = decode(w.v, 'base64'),
            content_type = w.ct, encrypted = w.enc, mergeable = w.merge, deleted = w.del,
            device = w.dev, size_bytes = w.size, update_time = w.t
        FROM w
        WHERE w.expected IS NOT NULL AND i.user_id = w.u AND i.collection = w.c
          AND i.key = w.k AND i.revision = w.expected
        RETURNING 1
    ), ins AS (
        INSERT INTO {S}.items (user_id, collection, key, revision, value, content_type,
            encrypted, mergeable, deleted, device, size_bytes, update_time)
        SELECT u, c, k, rev, decode(v, 'base64'), ct, enc, merge, del, dev, size, t FROM w
        WHERE expected IS NULL
        ON CONFLICT (user_id, collection, key) DO NOTHING
        RETURNING 1
    ), ver AS (
        INSERT INTO {S}.item_versions (user_id, revision, collection, key, value, content_type,
            encrypted, mergeable, deleted, device, update_time)
        SELECT u, rev, c, k, decode(v, 'base64'), ct, enc, merge, del, dev, t FROM w
    ), pruned AS (
        DELETE FROM {S}.item_versions v USING (
            SELECT iv.user_id, iv.revision FROM w CROSS JOIN LATERAL (
                SELECT user_id, revision FROM {S}.item_versions
                WHERE user_id = w.u AND collection = w.c AND key = w.k
                ORDER BY revision DESC OFFSET GREATEST(CAST(:depth AS int) - 1, 0)
            ) iv
        ) old
        WHERE v.user_id = old.user_id AND v.revision = old.revision
    ), usr AS (
        UPDATE {S}.users s SET revision = p.revision, usage_bytes = p.usage, item_count = p.count,
            update_time = p.t
        FROM p WHERE s.user_id = p.u
    ), req AS (
        INSERT INTO {S}.requests AS old (user_id, method, request_id, fingerprint, result,
            create_time, expire_time)
        SELECT u, :m, r, decode(f, 'base64'), CAST(result AS jsonb), t, exp FROM p
        ON CONFLICT (user_id, method, request_id) DO UPDATE
            SET fingerprint = EXCLUDED.fingerprint, result = EXCLUDED.result,
                create_time = EXCLUDED.create_time, expire_time = EXCLUDED.expire_time
            WHERE old.expire_time <= EXCLUDED.create_time
        RETURNING 1
    ), touched AS (
        UPDATE {S}.devices d SET last_seen_time = p.t
        FROM p WHERE p.touch <> '' AND d.user_id = p.u AND d.uid = p.touch
    )
    SELECT (SELECT count(*) FROM upd) + (SELECT count(*) FROM ins) AS written,
           (SELECT count(*) FROM req) AS stored
""")
# Pages of changes for many pulls in one statement (one snapshot, so each page and its cursor
# agree): per query `n` the user's counter, the device (its excluded collections filter the
# page) and the items, each row carrying the user and device columns (one row with NULL items
# when a page is empty). The queries come as one JSON parameter; rows are read by index lookups
# (see the push group's statements above).
_READ_CHANGES = sql(f"""
    WITH q AS (
        SELECT * FROM json_to_recordset(CAST(:queries AS json))
            AS q(n int, u text, d text, after bigint, upto bigint, inc text[], lim int, maxb bigint)
    )
    SELECT q.n, u.revision AS u_revision, u.generation AS u_generation,
           u.tombstone_floor AS u_tombstone_floor,
           d.uid AS d_uid, d.display_name AS d_display_name, d.platform AS d_platform,
           d.excluded_collections AS d_excluded_collections, d.disabled AS d_disabled,
           d.create_time AS d_create_time, d.update_time AS d_update_time,
           d.last_seen_time AS d_last_seen_time,
           i.collection, i.key, i.value, i.content_type, i.encrypted, i.mergeable, i.revision,
           i.device, i.update_time, i.deleted
    FROM q
    LEFT JOIN LATERAL (SELECT * FROM {S}.users WHERE user_id = q.u LIMIT 1) u ON true
    LEFT JOIN LATERAL (
        SELECT * FROM {S}.devices WHERE user_id = q.u AND uid = q.d LIMIT 1
    ) d ON true
    LEFT JOIN LATERAL (
        SELECT {ITEM_COLUMNS} FROM (
            SELECT *, sum(octet_length(key) + octet_length(value)) OVER (ORDER BY revision) AS running
            FROM (
                SELECT * FROM {S}.items it
                WHERE it.user_id = q.u AND it.revision > q.after
                  AND it.revision <= LEAST(q.upto, u.revision)
                  AND (cardinality(q.inc) = 0 OR it.collection = ANY(q.inc))
                  AND NOT (it.collection = ANY(coalesce(d.excluded_collections, '{{}}')))
                ORDER BY it.revision LIMIT q.lim
            ) page
        ) s WHERE running - (octet_length(key) + octet_length(value)) < q.maxb
    ) i ON true
    ORDER BY q.n, i.revision
""")
_LIVE_ITEMS = sql(
    f"SELECT {ITEM_COLUMNS} FROM {S}.items WHERE user_id = :u AND NOT deleted ORDER BY revision"
)
_DELETE_ITEMS = sql(f"DELETE FROM {S}.items WHERE user_id = :u")
_DELETE_VERSIONS = sql(f"DELETE FROM {S}.item_versions WHERE user_id = :u")

_GET_DEVICE = sql(f"SELECT {DEVICE_COLUMNS} FROM {S}.devices WHERE user_id = :u AND uid = :d")
_COUNT_DEVICES = sql(f"SELECT count(*) FROM {S}.devices WHERE user_id = :u")
_LIST_DEVICES = sql(f"""
    SELECT {DEVICE_COLUMNS} FROM {S}.devices
    WHERE user_id = :u AND (CAST(:t AS timestamptz) IS NULL OR (create_time, uid) > (CAST(:t AS timestamptz), :id))
    ORDER BY create_time, uid LIMIT :lim
""")
_INSERT_DEVICE = sql(f"""
    INSERT INTO {S}.devices (user_id, uid, display_name, platform, excluded_collections, disabled,
        create_time, update_time, last_seen_time)
    VALUES (:u, :d, :name, :platform, CAST(:excl AS text[]), :disabled, :ct, :ut, :seen)
""")
_UPDATE_DEVICE = sql(f"""
    UPDATE {S}.devices SET display_name = :name, excluded_collections = CAST(:excl AS text[]),
        disabled = :disabled, update_time = :ut
    WHERE user_id = :u AND uid = :d
""")
_DELETE_DEVICE = sql(f"DELETE FROM {S}.devices WHERE user_id = :u AND uid = :d")
_TOUCH_DEVICE = sql(f"""
    UPDATE {S}.devices SET last_seen_time = :now
    WHERE user_id = :u AND uid = :d AND (last_seen_time IS NULL OR last_seen_time < :now - interval '1 minute')
""")

SNAPSHOT_COLUMNS = "uid, description, trigger, generation, revision, item_count, size_bytes, device, create_time, expire_time"
_INSERT_SNAPSHOT = sql(f"""
    INSERT INTO {S}.snapshots (user_id, uid, description, trigger, generation, revision, device,
        create_time, expire_time)
    VALUES (:u, :s, :desc, :trigger, :gen, :rev, :dev, :ct, :exp)
""")
_FILL_SNAPSHOT = sql(f"""
    WITH ins AS (
        INSERT INTO {S}.snapshot_items (user_id, snapshot_uid, collection, key, value, content_type, encrypted, mergeable)
        SELECT user_id, :s, collection, key, value, content_type, encrypted, mergeable
        FROM {S}.items WHERE user_id = :u AND NOT deleted
        RETURNING octet_length(key) + octet_length(value) AS sz
    )
    UPDATE {S}.snapshots SET item_count = (SELECT count(*) FROM ins),
        size_bytes = (SELECT coalesce(sum(sz), 0) FROM ins)
    WHERE user_id = :u AND uid = :s
    RETURNING item_count, size_bytes
""")
_GET_SNAPSHOT = sql(f"SELECT {SNAPSHOT_COLUMNS} FROM {S}.snapshots WHERE user_id = :u AND uid = :s")
_LIST_SNAPSHOTS = sql(f"""
    SELECT {SNAPSHOT_COLUMNS} FROM {S}.snapshots
    WHERE user_id = :u AND (CAST(:t AS timestamptz) IS NULL OR (create_time, uid) < (CAST(:t AS timestamptz), :id))
      AND (expire_time IS NULL OR expire_time > :now)
    ORDER BY create_time DESC, uid DESC LIMIT :lim
""")
_SNAPSHOT_ITEMS = sql(f"""
    SELECT collection, key, value, content_type, encrypted, mergeable FROM {S}.snapshot_items
    WHERE user_id = :u AND snapshot_uid = :s ORDER BY collection, key
""")
# Keeps the newest `keep`: manual snapshots before automatic ones, so the oldest automatic
# ones go first; the newest snapshot (just taken) is never pruned.
_PRUNE_SNAPSHOTS = sql(f"""
    DELETE FROM {S}.snapshots WHERE user_id = :u AND uid IN (
        SELECT uid FROM {S}.snapshots WHERE user_id = :u
        ORDER BY (uid = (SELECT uid FROM {S}.snapshots WHERE user_id = :u
                         ORDER BY create_time DESC, uid DESC LIMIT 1)) DESC,
                 (trigger = 1) DESC, create_time DESC, uid DESC
        OFFSET :keep)
""")

_PURGE_TOMBSTONES = sql(f"""
    WITH purged AS (
        DELETE FROM {S}.items WHERE deleted AND update_time < :before RETURNING user_id, revision
    ), floors AS (
        SELECT user_id, max(revision) AS floor FROM purged GROUP BY user_id
    ), raised AS (
        UPDATE {S}.users u SET tombstone_floor = GREATEST(u.tombstone_floor, f.floor)
        FROM floors f WHERE u.user_id = f.user_id RETURNING 1
    )
    SELECT (SELECT count(*) FROM purged), (SELECT count(*) FROM raised)
""")
_PURGE_HISTORY = sql(f"""
    DELETE FROM {S}.item_versions v WHERE v.update_time < :before
      AND NOT EXISTS (SELECT 1 FROM {S}.items i WHERE i.user_id = v.user_id AND i.revision = v.revision)
""")
_PURGE_REQUESTS = sql(f"DELETE FROM {S}.requests WHERE expire_time <= :now")
_PURGE_SNAPSHOTS = sql(f"DELETE FROM {S}.snapshots WHERE expire_time <= :now")


def translated(fn: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        with translate_db_errors():
            return await fn(*args, **kwargs)

    return wrapper


def request_lock_key(user_id: str, method: str, request_id: str) -> int:
    digest = hashlib.sha256(f"sync-request\0{user_id}\0{method}\0{request_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _item(row: Any, *, revision: int | None = None, update_time: Any = None) -> Item:
    """An item row; `revision` and `update_time` where the row names them otherwise."""
    return Item(
        collection=row.collection,
        key=row.key,
        value=bytes(row.value),
        content_type=row.content_type,
        encrypted=row.encrypted,
        mergeable=row.mergeable,
        revision=row.revision if revision is None else revision,
        device=row.device,
        update_time=row.update_time if update_time is None else update_time,
        deleted=row.deleted,
    )


def _device(row: Any, prefix: str = "") -> Device:
    """A Device from a row whose device columns may carry a prefix (`d_` when joined)."""

    def col(name: str) -> Any:
        return getattr(row, prefix + name)

    return Device(
        uid=col("uid"),
        display_name=col("display_name"),
        platform=col("platform"),
        excluded_collections=list(col("excluded_collections") or []),
        disabled=col("disabled"),
        create_time=col("create_time"),
        update_time=col("update_time"),
        last_seen_time=col("last_seen_time"),
    )


def _prefixed_device(row: Any) -> Device | None:
    """The joined device of a row (`d_` columns), or None when the join found none."""
    return None if row.d_uid is None else _device(row, "d_")


def _snapshot(row: Any) -> Snapshot:
    return Snapshot(
        uid=row.uid,
        description=row.description,
        trigger=SnapshotTrigger(row.trigger),
        generation=row.generation,
        revision=row.revision,
        item_count=row.item_count,
        size_bytes=row.size_bytes,
        device=row.device,
        create_time=row.create_time,
        expire_time=row.expire_time,
    )


def _user(row: Any) -> UserState:
    return UserState(
        user_id=row.user_id,
        revision=row.revision,
        generation=row.generation,
        usage_bytes=row.usage_bytes,
        item_count=row.item_count,
        tombstone_floor=row.tombstone_floor,
    )


def _item_params(user_id: str, item: Item) -> dict[str, Any]:
    return {
        "u": user_id,
        "c": item.collection,
        "k": item.key,
        "rev": item.revision,
        "value": item.value,
        "ct": item.content_type,
        "enc": item.encrypted,
        "merge": item.mergeable,
        "del": item.deleted,
        "dev": item.device,
        "size": item.size_bytes,
        "t": item.update_time,
    }


class SqlSyncRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    async def _rowcount(self, statement: Any, params: dict[str, Any]) -> int:
        result = await self.conn.execute(statement, params)
        return int(result.rowcount or 0)

    # users
    @translated
    async def lock_user(self, user_id: str) -> UserState:
        row = (await self.conn.execute(_LOCK_USER, {"u": user_id})).one()
        return _user(row)

    @translated
    async def get_user(self, user_id: str) -> UserState | None:
        row = (await self.conn.execute(_GET_USER, {"u": user_id})).first()
        return _user(row) if row else None

    @translated
    async def save_user(self, state: UserState, now: datetime) -> None:
        await self.conn.execute(
            _SAVE_USER,
            {
                "u": state.user_id,
                "revision": state.revision,
                "generation": state.generation,
                "usage": state.usage_bytes,
                "count": state.item_count,
                "floor": state.tombstone_floor,
                "now": now,
            },
        )

    # push groups: `_PUSH_START`, `_PUSH_WRITE`
    @translated
    async def start_pushes(
        self,
        method: str,
        pushes: Sequence[tuple[str, str, str, Sequence[tuple[str, str]]]],
        now: datetime,
    ) -> list[PushStart | None]:
        rows = (
            await self.conn.execute(
                _PUSH_START,
                {
                    "pushes": _json(
                        [
                            {
                                "u": user,
                                "r": request_id,
                                "d": device if len(device) <= 64 else "",
                                "lock": request_lock_key(user, method, request_id),
                            }
                            for user, request_id, device, _ in pushes
                        ]
                    ),
                    "keys": _json(
                        [
                            {"u": user, "c": collection, "k": key}
                            for user, _, _, keys in pushes
                            for collection, key in keys
                        ]
                    ),
                    "m": method,
                    "now": now,
                },
            )
        ).all()
        heads = {r.user_id: r for r in rows if r.kind == "u"}
        items: dict[str, dict[tuple[str, str], Item]] = {user: {} for user in heads}
        for r in rows:
            if r.kind == "i":
                items[r.user_id][(r.collection, r.key)] = _item(
                    r, revision=r.item_revision, update_time=r.item_update_time
                )
        starts: list[PushStart | None] = []
        for user, _, _, _ in pushes:
            head = heads[user]
            if not head.locked:
                starts.append(None)
                continue
            state = _user(head)
            fresh = (head.snapshot_revision or 0) == state.revision
            starts.append(
                PushStart(
                    state=state,
                    stored=(bytes(head.req_fingerprint), head.req_result)
                    if head.req_fingerprint is not None
                    else None,
                    device=_prefixed_device(head),
                    items=items[user] if fresh else None,
                )
            )
        return starts

    @translated
    async def get_items_of(
        self, keys: Sequence[tuple[str, str, str]]
    ) -> dict[tuple[str, str, str], Item]:
        """Current items of several users: (user, collection, key) → item."""
        rows = await self.conn.execute(
            _GET_ITEMS_OF, {"keys": _json([{"u": u, "c": c, "k": k} for u, c, k in keys])}
        )
        return {(r.user_id, r.collection, r.key): _item(r) for r in rows}

    @translated
    async def get_versions_of(
        self, keys: Sequence[tuple[str, str, str, int]]
    ) -> dict[tuple[str, str, str, int], Item]:
        """History versions of several users: (user, collection, key, revision) → item."""
        rows = await self.conn.execute(
            _GET_VERSIONS_OF,
            {"keys": _json([{"u": u, "c": c, "k": k, "rev": rev} for u, c, k, rev in keys])},
        )
        return {(r.user_id, r.collection, r.key, r.revision): _item(r) for r in rows}

    @translated
    async def write_pushes(
        self, method: str, pushes: Sequence[PushWrite], depth: int
    ) -> tuple[int, int]:
        b64 = base64.b64encode
        items = [
            {
                "u": push.state.user_id,
                "c": item.collection,
                "k": item.key,
                "rev": item.revision,
                "v": b64(item.value).decode(),
                "ct": item.content_type,
                "enc": item.encrypted,
                "merge": item.mergeable,
                "del": item.deleted,
                "dev": item.device,
                "size": item.size_bytes,
                "expected": expected,
                "t": push.now.isoformat(),
            }
            for push in pushes
            for item, expected in push.writes
        ]
        heads = [
            {
                "u": push.state.user_id,
                "revision": push.state.revision,
                "usage": push.state.usage_bytes,
                "count": push.state.item_count,
                "r": push.request.request_id,
                "f": b64(push.request.fingerprint).decode(),
                "result": push.request.result,
                "t": push.now.isoformat(),
                "exp": push.request.expire_time.isoformat(),
                "touch": push.touch_device,
            }
            for push in pushes
        ]
        row = (
            await self.conn.execute(
                _PUSH_WRITE,
                {
                    "items": _json(items),
                    "pushes": _json(heads),
                    "m": method,
                    "depth": max(depth, 1),
                },
            )
        ).one()
        return int(row.written), int(row.stored)

    @translated
    async def read_changes(self, queries: Sequence[ChangesQuery]) -> list[ChangesRead]:
        rows = (
            await self.conn.execute(
                _READ_CHANGES,
                {
                    "queries": _json(
                        [
                            {
                                "n": n,
                                "u": q.user_id,
                                "d": q.device if 0 < len(q.device) <= 64 else "",
                                "after": q.after,
                                "upto": q.upto,
                                "inc": q.include,
                                "lim": q.limit,
                                "maxb": q.max_bytes,
                            }
                            for n, q in enumerate(queries)
                        ]
                    )
                },
            )
        ).all()
        reads: list[ChangesRead] = []
        for row in rows:
            if row.n == len(reads):  # the first row of the next query
                state = None
                if row.u_revision is not None:
                    state = UserState(
                        user_id=queries[row.n].user_id,
                        revision=row.u_revision,
                        generation=row.u_generation,
                        tombstone_floor=row.u_tombstone_floor,
                    )
                reads.append(ChangesRead(state, _prefixed_device(row), []))
            if row.collection is not None:
                reads[-1].items.append(_item(row))
        return reads

    # idempotency
    @translated
    async def try_lock_request(self, user_id: str, method: str, request_id: str) -> bool:
        key = request_lock_key(user_id, method, request_id)
        return bool((await self.conn.execute(_TRY_LOCK, {"k": key})).scalar_one())

    @translated
    async def get_request(
        self, user_id: str, method: str, request_id: str, now: datetime
    ) -> tuple[bytes, Any] | None:
        row = (
            await self.conn.execute(
                _GET_REQUEST, {"u": user_id, "m": method, "r": request_id, "now": now}
            )
        ).first()
        return (bytes(row.fingerprint), row.result) if row else None

    @translated
    async def store_request(
        self,
        user_id: str,
        method: str,
        request_id: str,
        fingerprint: bytes,
        result: Any,
        now: datetime,
        expire_time: datetime,
    ) -> None:
        await self.conn.execute(
            _STORE_REQUEST,
            {
                "u": user_id,
                "m": method,
                "r": request_id,
                "f": fingerprint,
                "result": json.dumps(result, separators=(",", ":")),
                "now": now,
                "exp": expire_time,
            },
        )

    # items
    @translated
    async def get_items(
        self, user_id: str, keys: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], Item]:
        if not keys:
            return {}
        rows = await self.conn.execute(
            _GET_ITEMS, {"u": user_id, "cs": [c for c, _ in keys], "ks": [k for _, k in keys]}
        )
        return {(r.collection, r.key): _item(r) for r in rows}

    @translated
    async def cas_item(self, user_id: str, item: Item, expected_revision: int | None) -> bool:
        params = _item_params(user_id, item)
        if expected_revision is None:
            return await self._rowcount(_INSERT_ITEM, params) == 1
        return await self._rowcount(_UPDATE_ITEM, {**params, "expected": expected_revision}) == 1

    @translated
    async def add_version(self, user_id: str, item: Item) -> None:
        params = _item_params(user_id, item)
        params.pop("size")
        await self.conn.execute(_ADD_VERSION, params)

    @translated
    async def prune_history(self, user_id: str, collection: str, key: str, depth: int) -> None:
        await self.conn.execute(
            _PRUNE_HISTORY, {"u": user_id, "c": collection, "k": key, "off": max(depth, 1) - 1}
        )

    @translated
    async def get_version(
        self, user_id: str, collection: str, key: str, revision: int
    ) -> Item | None:
        row = (
            await self.conn.execute(
                _GET_VERSION, {"u": user_id, "c": collection, "k": key, "rev": revision}
            )
        ).first()
        return _item(row) if row else None

    @translated
    async def list_versions(
        self,
        user_id: str,
        collection: str,
        key: str,
        before_revision: int | None,
        limit: int,
        not_before: datetime,
    ) -> list[Item]:
        rows = await self.conn.execute(
            _LIST_VERSIONS,
            {"u": user_id, "c": collection, "k": key, "before": before_revision, "lim": limit},
        )
        return [_item(r) for r in rows]

    @translated
    async def changes_since(
        self,
        user_id: str,
        since: int,
        upto: int,
        include: Sequence[str],
        exclude: Sequence[str],
        limit: int,
        max_bytes: int,
    ) -> list[Item]:
        rows = await self.conn.execute(
            _CHANGES,
            {
                "u": user_id,
                "after": since,
                "upto": upto,
                "inc": list(include),
                "exc": list(exclude),
                "lim": limit,
                "maxb": max_bytes,
            },
        )
        return [_item(r) for r in rows]

    @translated
    async def live_items(self, user_id: str) -> list[Item]:
        return [_item(r) for r in await self.conn.execute(_LIVE_ITEMS, {"u": user_id})]

    @translated
    async def delete_all_items(self, user_id: str) -> int:
        count = await self._rowcount(_DELETE_ITEMS, {"u": user_id})
        await self.conn.execute(_DELETE_VERSIONS, {"u": user_id})
        return count

    # devices
    @translated
    async def get_device(self, user_id: str, uid: str) -> Device | None:
        row = (await self.conn.execute(_GET_DEVICE, {"u": user_id, "d": uid})).first()
        return _device(row) if row else None

    @translated
    async def count_devices(self, user_id: str) -> int:
        return int((await self.conn.execute(_COUNT_DEVICES, {"u": user_id})).scalar_one())

    @translated
    async def list_devices(
        self, user_id: str, after: tuple[datetime, str] | None, limit: int
    ) -> list[Device]:
        rows = await self.conn.execute(
            _LIST_DEVICES,
            {
                "u": user_id,
                "t": after[0] if after else None,
                "id": after[1] if after else "",
                "lim": limit,
            },
        )
        return [_device(r) for r in rows]

    @translated
    async def insert_device(self, user_id: str, device: Device) -> None:
        await self.conn.execute(
            _INSERT_DEVICE,
            {
                "u": user_id,
                "d": device.uid,
                "name": device.display_name,
                "platform": device.platform,
                "excl": device.excluded_collections,
                "disabled": device.disabled,
                "ct": device.create_time,
                "ut": device.update_time,
                "seen": device.last_seen_time,
            },
        )

    @translated
    async def update_device(self, user_id: str, device: Device) -> None:
        await self.conn.execute(
            _UPDATE_DEVICE,
            {
                "u": user_id,
                "d": device.uid,
                "name": device.display_name,
                "excl": device.excluded_collections,
                "disabled": device.disabled,
                "ut": device.update_time,
            },
        )

    @translated
    async def delete_device(self, user_id: str, uid: str) -> bool:
        return await self._rowcount(_DELETE_DEVICE, {"u": user_id, "d": uid}) == 1

    @translated
    async def touch_device(self, user_id: str, uid: str, now: datetime) -> None:
        await self.conn.execute(_TOUCH_DEVICE, {"u": user_id, "d": uid, "now": now})

    # snapshots
    @translated
    async def create_snapshot_of_live_items(self, user_id: str, snapshot: Snapshot) -> Snapshot:
        await self.conn.execute(
            _INSERT_SNAPSHOT,
            {
                "u": user_id,
                "s": snapshot.uid,
                "desc": snapshot.description,
                "trigger": int(snapshot.trigger),
                "gen": snapshot.generation,
                "rev": snapshot.revision,
                "dev": snapshot.device,
                "ct": snapshot.create_time,
                "exp": snapshot.expire_time,
            },
        )
        row = (await self.conn.execute(_FILL_SNAPSHOT, {"u": user_id, "s": snapshot.uid})).one()
        snapshot.item_count, snapshot.size_bytes = int(row.item_count), int(row.size_bytes)
        return snapshot

    @translated
    async def get_snapshot(self, user_id: str, uid: str) -> Snapshot | None:
        row = (await self.conn.execute(_GET_SNAPSHOT, {"u": user_id, "s": uid})).first()
        return _snapshot(row) if row else None

    @translated
    async def list_snapshots(
        self, user_id: str, after: tuple[datetime, str] | None, limit: int, now: datetime
    ) -> list[Snapshot]:
        """The user's unexpired snapshots, newest first, after `after`."""
        rows = await self.conn.execute(
            _LIST_SNAPSHOTS,
            {
                "u": user_id,
                "t": after[0] if after else None,
                "id": after[1] if after else "",
                "lim": limit,
                "now": now,
            },
        )
        return [_snapshot(r) for r in rows]

    @translated
    async def snapshot_items(self, user_id: str, uid: str) -> list[Item]:
        rows = await self.conn.execute(_SNAPSHOT_ITEMS, {"u": user_id, "s": uid})
        return [
            Item(r.collection, r.key, bytes(r.value), r.content_type, r.encrypted, r.mergeable)
            for r in rows
        ]

    @translated
    async def prune_snapshots(self, user_id: str, keep: int) -> None:
        await self.conn.execute(_PRUNE_SNAPSHOTS, {"u": user_id, "keep": keep})

    # erasure and retention
    @translated
    async def delete_user_data(self, user_id: str) -> DeleteUserDataResult:
        params = {"u": user_id}
        items = await self._rowcount(_DELETE_ITEMS, params)
        versions = await self._rowcount(_DELETE_VERSIONS, params)
        devices = await self._rowcount(sql(f"DELETE FROM {S}.devices WHERE user_id = :u"), params)
        snapshots = await self._rowcount(
            sql(f"DELETE FROM {S}.snapshots WHERE user_id = :u"), params
        )
        await self.conn.execute(sql(f"DELETE FROM {S}.requests WHERE user_id = :u"), params)
        await self.conn.execute(sql(f"DELETE FROM {S}.users WHERE user_id = :u"), params)
        return DeleteUserDataResult(max(items, versions), devices, snapshots)

    @translated
    async def purge_tombstones(self, before: datetime) -> int:
        row = (await self.conn.execute(_PURGE_TOMBSTONES, {"before": before})).one()
        return int(row[0])

    @translated
    async def purge_history(self, before: datetime) -> int:
        return await self._rowcount(_PURGE_HISTORY, {"before": before})

    @translated
    async def purge_requests(self, now: datetime) -> int:
        return await self._rowcount(_PURGE_REQUESTS, {"now": now})

    @translated
    async def purge_snapshots(self, now: datetime) -> int:
        return await self._rowcount(_PURGE_SNAPSHOTS, {"now": now})
