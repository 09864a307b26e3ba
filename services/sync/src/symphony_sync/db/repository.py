"""All of sync's SQL (text statements, converted once; run on psycopg, see `driver.py`). Driver
errors are translated to domain errors by `translate_db_errors` around every method."""
# ruff: noqa: S608, E501  (SQL text: the schema name is a constant, values are bound)

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, ParamSpec, TypeVar

from symphony_common.db.driver import Connection, sql
from symphony_common.db.unit_of_work import translate_db_errors
from symphony_sync.domain.models import (
    ChangesRead,
    DeleteUserDataResult,
    Device,
    Item,
    PushStart,
    Snapshot,
    SnapshotTrigger,
    StoredRequest,
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
# Push, second statement (after the request-id lock): the user's counter row locked, the
# stored result of this request id, the device, and the current items. The items come from the
# statement's snapshot, which predates the row lock when another write of this user held it;
# `snapshot_revision` (the counter as that snapshot saw it) differs from the locked one exactly
# then, and the caller re-reads the items (a writer of items always raises the counter).
_PUSH_START = sql(f"""
    WITH locked AS (
        INSERT INTO {S}.users AS u (user_id) VALUES (:u)
        ON CONFLICT (user_id) DO UPDATE SET user_id = EXCLUDED.user_id
        RETURNING user_id, revision, generation, usage_bytes, item_count, tombstone_floor
    ), seen AS (
        SELECT revision FROM {S}.users WHERE user_id = :u
    ), req AS (
        SELECT fingerprint, result FROM {S}.requests
        WHERE user_id = :u AND method = :m AND request_id = :r AND expire_time > :now
    ), dev AS (
        SELECT {DEVICE_COLUMNS} FROM {S}.devices WHERE user_id = :u AND uid = :d
    ), cur AS (
        SELECT {ITEM_COLUMNS} FROM {S}.items
        WHERE user_id = :u AND (collection, key) IN (
            SELECT c, k FROM unnest(CAST(:cs AS text[]), CAST(:ks AS text[])) AS t(c, k))
    )
    SELECT 'u' AS kind, l.user_id, l.revision, l.generation, l.usage_bytes, l.item_count,
           l.tombstone_floor, (SELECT revision FROM seen) AS snapshot_revision,
           (SELECT fingerprint FROM req) AS req_fingerprint, (SELECT result FROM req) AS req_result,
           d.uid AS d_uid, d.display_name AS d_display_name, d.platform AS d_platform,
           d.excluded_collections AS d_excluded_collections, d.disabled AS d_disabled,
           d.create_time AS d_create_time, d.update_time AS d_update_time,
           d.last_seen_time AS d_last_seen_time,
           NULL AS collection, NULL AS key, NULL::bytea AS value, NULL AS content_type,
           NULL::boolean AS encrypted, NULL::boolean AS mergeable, NULL::bigint AS item_revision,
           NULL AS device, NULL::timestamptz AS item_update_time, NULL::boolean AS deleted
    FROM locked l LEFT JOIN dev d ON true
    UNION ALL
    SELECT 'i', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
           NULL, NULL, NULL, NULL, collection, key, value, content_type, encrypted, mergeable,
           revision, device, update_time, deleted
    FROM cur
""")
# Push, the write: every item compare-and-set (UPDATE on the expected revision, or INSERT when
# none may exist), its history version added and history pruned to `depth` (the statement's
# snapshot does not see the versions it adds, hence `rn >= depth`), the counter row saved and
# the request's result stored. Answers how many compare-and-sets succeeded.
_PUSH_WRITE = sql(f"""
    WITH w AS (
        SELECT * FROM unnest(
            CAST(:cs AS text[]), CAST(:ks AS text[]), CAST(:revs AS bigint[]),
            CAST(:vals AS bytea[]), CAST(:cts AS text[]), CAST(:encs AS boolean[]),
            CAST(:merges AS boolean[]), CAST(:dels AS boolean[]), CAST(:devs AS text[]),
            CAST(:sizes AS bigint[]), CAST(:expected AS bigint[]), CAST(:times AS timestamptz[]))
        AS w(c, k, rev, value, ct, enc, merge, del, dev, size, expected, t)
    ), upd AS (
        UPDATE {S}.items i SET revision = w.rev, value = w.value, content_type = w.ct,
            encrypted = w.enc, mergeable = w.merge, deleted = w.del, device = w.dev,
            size_bytes = w.size, update_time = w.t
        FROM w
        WHERE w.expected IS NOT NULL AND i.user_id = :u AND i.collection = w.c
          AND i.key = w.k AND i.revision = w.expected
        RETURNING 1
    ), ins AS (
        INSERT INTO {S}.items (user_id, collection, key, revision, value, content_type,
            encrypted, mergeable, deleted, device, size_bytes, update_time)
        SELECT :u, c, k, rev, value, ct, enc, merge, del, dev, size, t FROM w
        WHERE expected IS NULL
        ON CONFLICT (user_id, collection, key) DO NOTHING
        RETURNING 1
    ), ver AS (
        INSERT INTO {S}.item_versions (user_id, revision, collection, key, value, content_type,
            encrypted, mergeable, deleted, device, update_time)
        SELECT :u, rev, c, k, value, ct, enc, merge, del, dev, t FROM w
    ), pruned AS (
        DELETE FROM {S}.item_versions v USING (
            SELECT revision FROM (
                SELECT iv.revision, row_number() OVER (
                    PARTITION BY iv.collection, iv.key ORDER BY iv.revision DESC) AS rn
                FROM {S}.item_versions iv JOIN w ON iv.collection = w.c AND iv.key = w.k
                WHERE iv.user_id = :u
            ) ranked WHERE rn >= :depth
        ) old
        WHERE v.user_id = :u AND v.revision = old.revision
    ), usr AS (
        UPDATE {S}.users SET revision = :revision, generation = :generation, usage_bytes = :usage,
            item_count = :count, tombstone_floor = :floor, update_time = :now
        WHERE user_id = :u
    ), req AS (
        INSERT INTO {S}.requests (user_id, method, request_id, fingerprint, result, create_time, expire_time)
        SELECT :u, :m, :r, :f, CAST(:result AS jsonb), :now, :exp WHERE :r <> ''
        ON CONFLICT (user_id, method, request_id) DO UPDATE
            SET fingerprint = EXCLUDED.fingerprint, result = EXCLUDED.result,
                create_time = EXCLUDED.create_time, expire_time = EXCLUDED.expire_time
    )
    SELECT (SELECT count(*) FROM upd) + (SELECT count(*) FROM ins)
""")
# A page of changes in one statement (one snapshot, so the page and its cursor agree): the
# user's counter, the device (its excluded collections filter the page) and the items, each
# row carrying the user and device columns (one row with NULL items when the page is empty).
_READ_CHANGES = sql(f"""
    WITH usr AS (
        SELECT revision, generation, tombstone_floor FROM {S}.users WHERE user_id = :u
    ), dev AS (
        SELECT {DEVICE_COLUMNS} FROM {S}.devices WHERE user_id = :u AND uid = :d
    ), page AS (
        SELECT i.* FROM {S}.items i
        WHERE i.user_id = :u AND i.revision > :after
          AND i.revision <= LEAST(CAST(:upto AS bigint), (SELECT revision FROM usr))
          AND (cardinality(CAST(:inc AS text[])) = 0 OR i.collection = ANY(CAST(:inc AS text[])))
          AND NOT (i.collection = ANY(coalesce((SELECT excluded_collections FROM dev), '{{}}')))
        ORDER BY i.revision LIMIT :lim
    ), sized AS (
        SELECT {ITEM_COLUMNS} FROM (
            SELECT *, sum(octet_length(key) + octet_length(value)) OVER (ORDER BY revision) AS running
            FROM page
        ) s WHERE running - (octet_length(key) + octet_length(value)) < :maxb
    )
    SELECT u.revision AS u_revision, u.generation AS u_generation,
           u.tombstone_floor AS u_tombstone_floor,
           d.uid AS d_uid, d.display_name AS d_display_name, d.platform AS d_platform,
           d.excluded_collections AS d_excluded_collections, d.disabled AS d_disabled,
           d.create_time AS d_create_time, d.update_time AS d_update_time,
           d.last_seen_time AS d_last_seen_time,
           i.collection, i.key, i.value, i.content_type, i.encrypted, i.mergeable, i.revision,
           i.device, i.update_time, i.deleted
    FROM (SELECT 1) one LEFT JOIN usr u ON true LEFT JOIN dev d ON true
         LEFT JOIN sized i ON true
    ORDER BY i.revision
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


def _item(row: Any) -> Item:
    return Item(
        collection=row.collection,
        key=row.key,
        value=bytes(row.value),
        content_type=row.content_type,
        encrypted=row.encrypted,
        mergeable=row.mergeable,
        revision=row.revision,
        device=row.device,
        update_time=row.update_time,
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

    # push: two statements after the request-id lock
    @translated
    async def start_push(
        self,
        user_id: str,
        method: str,
        request_id: str,
        device: str,
        keys: Sequence[tuple[str, str]],
        now: datetime,
    ) -> PushStart:
        rows = (
            await self.conn.execute(
                _PUSH_START,
                {
                    "u": user_id,
                    "m": method,
                    "r": request_id,
                    "d": device if 0 < len(device) <= 64 else "",
                    "now": now,
                    "cs": [c for c, _ in keys],
                    "ks": [k for _, k in keys],
                },
            )
        ).all()
        head = next(r for r in rows if r.kind == "u")
        items = {
            (r.collection, r.key): Item(
                collection=r.collection,
                key=r.key,
                value=bytes(r.value),
                content_type=r.content_type,
                encrypted=r.encrypted,
                mergeable=r.mergeable,
                revision=r.item_revision,
                device=r.device,
                update_time=r.item_update_time,
                deleted=r.deleted,
            )
            for r in rows
            if r.kind == "i"
        }
        state = _user(head)
        fresh = (head.snapshot_revision or 0) == state.revision
        return PushStart(
            state=state,
            stored=(bytes(head.req_fingerprint), head.req_result)
            if head.req_fingerprint is not None
            else None,
            device=_prefixed_device(head),
            items=items if fresh else None,
        )

    @translated
    async def write_push(
        self,
        user_id: str,
        writes: Sequence[tuple[Item, int | None]],
        depth: int,
        state: UserState,
        request: StoredRequest,
        now: datetime,
    ) -> int:
        items = [item for item, _ in writes]
        row = (
            await self.conn.execute(
                _PUSH_WRITE,
                {
                    "u": user_id,
                    "cs": [i.collection for i in items],
                    "ks": [i.key for i in items],
                    "revs": [i.revision for i in items],
                    "vals": [i.value for i in items],
                    "cts": [i.content_type for i in items],
                    "encs": [i.encrypted for i in items],
                    "merges": [i.mergeable for i in items],
                    "dels": [i.deleted for i in items],
                    "devs": [i.device for i in items],
                    "sizes": [i.size_bytes for i in items],
                    "expected": [expected for _, expected in writes],
                    "times": [i.update_time for i in items],
                    "depth": max(depth, 1),
                    "revision": state.revision,
                    "generation": state.generation,
                    "usage": state.usage_bytes,
                    "count": state.item_count,
                    "floor": state.tombstone_floor,
                    "now": now,
                    "m": request.method,
                    "r": request.request_id,
                    "f": request.fingerprint,
                    "result": json.dumps(request.result, separators=(",", ":")),
                    "exp": request.expire_time,
                },
            )
        ).one()
        return int(row[0])

    @translated
    async def read_changes(
        self,
        user_id: str,
        device: str,
        after: int,
        upto: int | None,
        include: Sequence[str],
        limit: int,
        max_bytes: int,
    ) -> ChangesRead:
        rows = (
            await self.conn.execute(
                _READ_CHANGES,
                {
                    "u": user_id,
                    "d": device if 0 < len(device) <= 64 else "",
                    "after": after,
                    "upto": upto,
                    "inc": list(include),
                    "lim": limit,
                    "maxb": max_bytes,
                },
            )
        ).all()
        head = rows[0]
        state = None
        if head.u_revision is not None:
            state = UserState(
                user_id=user_id,
                revision=head.u_revision,
                generation=head.u_generation,
                tombstone_floor=head.u_tombstone_floor,
            )
        return ChangesRead(
            state=state,
            device=_prefixed_device(head),
            items=[_item(r) for r in rows if r.collection is not None],
        )

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
        self, user_id: str, after: tuple[datetime, str] | None, limit: int
    ) -> list[Snapshot]:
        rows = await self.conn.execute(
            _LIST_SNAPSHOTS,
            {
                "u": user_id,
                "t": after[0] if after else None,
                "id": after[1] if after else "",
                "lim": limit,
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
