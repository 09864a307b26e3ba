"""The editor's local sync cache: SQLite (stdlib), one file per user and server.

Local reads and writes never touch the network. Every local write is appended to a durable
queue in the same SQLite transaction as the new local value (WAL, synchronous=FULL), so a
crash loses nothing queued. Pushes go out as frozen batches: a batch's request id and payload
are stored before the first send, so a retry after a lost answer resends exactly the same
request and the server answers with its stored result instead of applying it twice.

Per item the cache keeps:
- the local value (what the editor sees);
- `base_rev`: the server revision the local value was derived from (the next push's base);
- `server_rev` and, while the item has unpushed local edits, the newest server copy seen
  (`srv_*`), so a remote change that arrives while a push is in flight is not lost.
"""
# ruff: noqa: E501  (SQL text)

from __future__ import annotations

import base64
import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS items (
    collection   TEXT NOT NULL,
    key          TEXT NOT NULL,
    value        BLOB NOT NULL DEFAULT x'',
    content_type TEXT NOT NULL DEFAULT '',
    encrypted    INTEGER NOT NULL DEFAULT 0,
    mergeable    INTEGER NOT NULL DEFAULT 0,
    deleted      INTEGER NOT NULL DEFAULT 0,
    base_rev     INTEGER NOT NULL DEFAULT 0,
    server_rev   INTEGER NOT NULL DEFAULT 0,
    srv_present  INTEGER NOT NULL DEFAULT 0,
    srv_value    BLOB,
    srv_deleted  INTEGER NOT NULL DEFAULT 0,
    srv_content_type TEXT NOT NULL DEFAULT '',
    srv_encrypted INTEGER NOT NULL DEFAULT 0,
    srv_mergeable INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (collection, key)
);
CREATE TABLE IF NOT EXISTS queue (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    collection   TEXT NOT NULL,
    key          TEXT NOT NULL,
    value        BLOB NOT NULL DEFAULT x'',
    deleted      INTEGER NOT NULL DEFAULT 0,
    created      REAL NOT NULL,
    batch        TEXT
);
CREATE INDEX IF NOT EXISTS queue_key ON queue (collection, key);
CREATE TABLE IF NOT EXISTS batches (
    request_id   TEXT PRIMARY KEY,
    created      REAL NOT NULL,
    payload      TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS conflicts (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    collection    TEXT NOT NULL,
    key           TEXT NOT NULL,
    local_value   BLOB,
    local_deleted INTEGER NOT NULL DEFAULT 0,
    server_value  BLOB,
    server_deleted INTEGER NOT NULL DEFAULT 0,
    server_revision INTEGER NOT NULL DEFAULT 0,
    reason        TEXT NOT NULL DEFAULT 'conflict',
    keys          TEXT NOT NULL DEFAULT '[]',
    created       REAL NOT NULL
);
"""


@dataclass
class LocalItem:
    collection: str
    key: str
    value: bytes = b""
    content_type: str = ""
    encrypted: bool = False
    mergeable: bool = False
    deleted: bool = False
    base_rev: int = 0
    server_rev: int = 0


@dataclass
class RemoteItem:
    """An item version as the server sent it."""

    collection: str
    key: str
    value: bytes
    revision: int
    deleted: bool = False
    content_type: str = ""
    encrypted: bool = False
    mergeable: bool = False


@dataclass
class BatchChange:
    collection: str
    key: str
    base_revision: int
    value: bytes
    deleted: bool
    content_type: str
    encrypted: bool
    mergeable: bool


@dataclass
class Batch:
    request_id: str
    changes: list[BatchChange]


@dataclass
class ConflictCopy:
    id: int
    collection: str
    key: str
    local_value: bytes | None
    local_deleted: bool
    server_value: bytes | None
    server_deleted: bool
    server_revision: int
    reason: str
    keys: list[str] = field(default_factory=list)


def _encode_batch(changes: Sequence[BatchChange]) -> str:
    return json.dumps(
        [{**c.__dict__, "value": base64.b64encode(c.value).decode()} for c in changes]
    )


def _decode_batch(payload: str) -> list[BatchChange]:
    return [
        BatchChange(**{**c, "value": base64.b64decode(c["value"])}) for c in json.loads(payload)
    ]


class LocalStore:
    """Synchronous SQLite access, serialized by a lock; the engine calls it through
    `asyncio.to_thread` so the event loop never blocks on disk."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # ------------------------------------------------------------------ meta

    def get_meta(self, key: str, default: str = "") -> str:
        with self._lock:
            row = self._db.execute("SELECT v FROM meta WHERE k = ?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, **values: Any) -> None:
        with self._tx() as db:
            for k, v in values.items():
                db.execute(
                    "INSERT INTO meta (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v",
                    (k, str(v)),
                )

    @property
    def cursor(self) -> int:
        return int(self.get_meta("cursor", "0"))

    # ------------------------------------------------------------------ local reads and writes

    def get(self, collection: str, key: str) -> LocalItem | None:
        with self._lock:
            row = self._db.execute(
                "SELECT collection, key, value, content_type, encrypted, mergeable, deleted, base_rev, server_rev "
                "FROM items WHERE collection = ? AND key = ?",
                (collection, key),
            ).fetchone()
        return _local(row) if row else None

    def items(
        self, collection: str | None = None, include_deleted: bool = False
    ) -> list[LocalItem]:
        sql = (
            "SELECT collection, key, value, content_type, encrypted, mergeable, deleted, base_rev, server_rev "
            "FROM items WHERE (? IS NULL OR collection = ?) AND (? OR NOT deleted) ORDER BY collection, key"
        )
        with self._lock:
            rows = self._db.execute(sql, (collection, collection, int(include_deleted))).fetchall()
        return [_local(r) for r in rows]

    def write(
        self,
        collection: str,
        key: str,
        value: bytes,
        *,
        deleted: bool = False,
        content_type: str = "",
        encrypted: bool = False,
        mergeable: bool = False,
    ) -> None:
        """A local edit: the new local value and its queue entry, in one transaction."""
        with self._tx() as db:
            db.execute(
                """INSERT INTO items (collection, key, value, content_type, encrypted, mergeable, deleted)
                   VALUES (?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT (collection, key) DO UPDATE SET value = excluded.value,
                       content_type = excluded.content_type, encrypted = excluded.encrypted,
                       mergeable = excluded.mergeable, deleted = excluded.deleted""",
                (
                    collection,
                    key,
                    b"" if deleted else value,
                    content_type,
                    int(encrypted),
                    int(mergeable),
                    int(deleted),
                ),
            )
            db.execute(
                "INSERT INTO queue (collection, key, value, deleted, created) VALUES (?, ?, ?, ?, ?)",
                (collection, key, b"" if deleted else value, int(deleted), time.time()),
            )

    def pending_count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM queue").fetchone()[0])

    # ------------------------------------------------------------------ batches

    def next_batch(
        self, max_changes: int, max_bytes: int, excluded: Sequence[str] = ()
    ) -> Batch | None:
        """The unfinished batch if there is one (resent as it was), else a new frozen batch of
        the oldest pending items (each item's latest local state), or None."""
        with self._tx() as db:
            row = db.execute(
                "SELECT request_id, payload FROM batches ORDER BY created LIMIT 1"
            ).fetchone()
            if row:
                return Batch(row[0], _decode_batch(row[1]))
            pending = db.execute(
                "SELECT collection, key, max(seq) FROM queue WHERE batch IS NULL GROUP BY collection, key "
                "ORDER BY min(seq)"
            ).fetchall()
            changes: list[BatchChange] = []
            marks: list[tuple[str, str, int]] = []
            total = 0
            for collection, key, max_seq in pending:
                if collection in excluded:
                    continue
                item = db.execute(
                    "SELECT value, deleted, content_type, encrypted, mergeable, base_rev FROM items "
                    "WHERE collection = ? AND key = ?",
                    (collection, key),
                ).fetchone()
                size = len(key.encode()) + len(item[0])
                if changes and (len(changes) >= max_changes or total + size > max_bytes):
                    break
                total += size
                changes.append(
                    BatchChange(
                        collection,
                        key,
                        item[5],
                        bytes(item[0]),
                        bool(item[1]),
                        item[2],
                        bool(item[3]),
                        bool(item[4]),
                    )
                )
                marks.append((collection, key, max_seq))
            if not changes:
                return None
            request_id = str(uuid.uuid4())
            db.execute(
                "INSERT INTO batches (request_id, created, payload) VALUES (?, ?, ?)",
                (request_id, time.time(), _encode_batch(changes)),
            )
            for collection, key, max_seq in marks:
                db.execute(
                    "UPDATE queue SET batch = ? WHERE collection = ? AND key = ? AND seq <= ? AND batch IS NULL",
                    (request_id, collection, key, max_seq),
                )
            return Batch(request_id, changes)

    def drop_batch(self, request_id: str, *, reason: str) -> None:
        """A batch the server can never accept (e.g. an item over the limit): keep its local
        values as conflict copies with `reason` and stop resending it."""
        with self._tx() as db:
            row = db.execute(
                "SELECT payload FROM batches WHERE request_id = ?", (request_id,)
            ).fetchone()
            if not row:
                return
            for change in _decode_batch(row[0]):
                db.execute(
                    "INSERT INTO conflicts (collection, key, local_value, local_deleted, reason, created) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        change.collection,
                        change.key,
                        change.value,
                        int(change.deleted),
                        reason,
                        time.time(),
                    ),
                )
            db.execute("DELETE FROM queue WHERE batch = ?", (request_id,))
            db.execute("DELETE FROM batches WHERE request_id = ?", (request_id,))

    def abandon_batches(self) -> None:
        """After a reset: unfinished batches were based on data that no longer exists."""
        with self._tx() as db:
            db.execute("UPDATE queue SET batch = NULL")
            db.execute("DELETE FROM batches")

    def finish_batch(self, batch: Batch, outcomes: Sequence[dict[str, Any]]) -> None:
        """Apply the server's answer to `batch`, one transaction. Each outcome: `kind`
        (applied/merged/keep_server/keep_local/resolved), `revision`, and for merged or
        conflicts the server item (`server`: RemoteItem | None), `value` for resolved, and
        `keys` of a merge conflict."""
        with self._tx() as db:
            if not db.execute(
                "SELECT 1 FROM batches WHERE request_id = ?", (batch.request_id,)
            ).fetchone():
                return  # already applied (a replayed answer after a crash)
            for change, outcome in zip(batch.changes, outcomes, strict=True):
                self._finish_change(db, batch.request_id, change, outcome)
            db.execute("DELETE FROM queue WHERE batch = ?", (batch.request_id,))
            db.execute("DELETE FROM batches WHERE request_id = ?", (batch.request_id,))

    def _finish_change(
        self, db: sqlite3.Connection, request_id: str, change: BatchChange, outcome: dict[str, Any]
    ) -> None:
        ck = (change.collection, change.key)
        db.execute(
            "DELETE FROM queue WHERE batch = ? AND collection = ? AND key = ?", (request_id, *ck)
        )
        newer = db.execute(
            "SELECT 1 FROM queue WHERE collection = ? AND key = ? AND batch IS NULL LIMIT 1", ck
        ).fetchone()
        row = db.execute(
            "SELECT value, deleted, server_rev, srv_present, srv_value, srv_deleted, srv_content_type, "
            "srv_encrypted, srv_mergeable FROM items WHERE collection = ? AND key = ?",
            ck,
        ).fetchone()
        local_value, local_deleted, seen_rev, srv_present = (
            bytes(row[0]),
            bool(row[1]),
            row[2],
            row[3],
        )
        kind = outcome["kind"]
        if kind in ("applied", "merged"):
            revision = outcome["revision"]
            if seen_rev > revision and srv_present:
                # A newer remote version arrived while the push was in flight.
                if not newer:
                    db.execute(
                        "UPDATE items SET value = coalesce(srv_value, x''), deleted = srv_deleted, "
                        "content_type = srv_content_type, encrypted = srv_encrypted, mergeable = srv_mergeable, "
                        "base_rev = server_rev, srv_present = 0, srv_value = NULL WHERE collection = ? AND key = ?",
                        ck,
                    )
                else:
                    db.execute(
                        "UPDATE items SET base_rev = ? WHERE collection = ? AND key = ?",
                        (revision, *ck),
                    )
                return
            value = local_value
            if kind == "merged":
                merged: RemoteItem = outcome["server"]
                value = merged.value
                if newer:
                    value = _rebase(change.value, merged.value, local_value)
            db.execute(
                "UPDATE items SET value = ?, base_rev = ?, server_rev = ?, srv_present = 0, srv_value = NULL "
                "WHERE collection = ? AND key = ?",
                (value, revision, revision, *ck),
            )
            return
        server: RemoteItem | None = outcome.get("server")
        srv_rev = server.revision if server else 0
        if seen_rev > srv_rev and srv_present:  # a newer server copy is already known
            server = RemoteItem(
                change.collection,
                change.key,
                bytes(row[4] or b""),
                seen_rev,
                bool(row[5]),
                row[6],
                bool(row[7]),
                bool(row[8]),
            )
            srv_rev = seen_rev
        if kind == "keep_server":
            db.execute(
                "INSERT INTO conflicts (collection, key, local_value, local_deleted, server_value, server_deleted, "
                "server_revision, reason, keys, created) VALUES (?, ?, ?, ?, ?, ?, ?, 'conflict', ?, ?)",
                (
                    *ck,
                    local_value,
                    int(local_deleted),
                    server.value if server else None,
                    int(server.deleted) if server else 1,
                    srv_rev,
                    json.dumps(outcome.get("keys", [])),
                    time.time(),
                ),
            )
            db.execute("DELETE FROM queue WHERE collection = ? AND key = ? AND batch IS NULL", ck)
            if server is None:
                db.execute(
                    "UPDATE items SET value = x'', deleted = 1, base_rev = 0, server_rev = max(server_rev, 0), "
                    "srv_present = 0, srv_value = NULL WHERE collection = ? AND key = ?",
                    ck,
                )
            else:
                db.execute(
                    "UPDATE items SET value = ?, deleted = ?, content_type = ?, encrypted = ?, mergeable = ?, "
                    "base_rev = ?, server_rev = ?, srv_present = 0, srv_value = NULL WHERE collection = ? AND key = ?",
                    (
                        server.value,
                        int(server.deleted),
                        server.content_type,
                        int(server.encrypted),
                        int(server.mergeable),
                        srv_rev,
                        srv_rev,
                        *ck,
                    ),
                )
            return
        # keep_local or resolved: push again on top of the server's version.
        value = outcome.get("value", local_value)
        base = srv_rev if server is not None else 0
        db.execute(
            "UPDATE items SET value = ?, base_rev = ?, server_rev = max(server_rev, ?), srv_present = 0, "
            "srv_value = NULL WHERE collection = ? AND key = ?",
            (value, base, srv_rev, *ck),
        )
        if not newer:
            db.execute(
                "INSERT INTO queue (collection, key, value, deleted, created) VALUES (?, ?, ?, ?, ?)",
                (*ck, value, int(local_deleted), time.time()),
            )

    # ------------------------------------------------------------------ remote changes

    def apply_remote(self, items: Sequence[RemoteItem], cursor: int | None) -> int:
        """Changes from a pull or a watch, and the cursor they bring us to, in one
        transaction. Items with unpushed local edits keep their local value; the server copy
        is remembered for when the push completes. Returns how many local values changed."""
        changed = 0
        with self._tx() as db:
            for item in items:
                ck = (item.collection, item.key)
                row = db.execute(
                    "SELECT server_rev FROM items WHERE collection = ? AND key = ?", ck
                ).fetchone()
                if row and item.revision <= row[0]:
                    continue
                dirty = db.execute(
                    "SELECT 1 FROM queue WHERE collection = ? AND key = ? LIMIT 1", ck
                ).fetchone()
                if dirty:
                    db.execute(
                        "UPDATE items SET server_rev = ?, srv_present = 1, srv_value = ?, srv_deleted = ?, "
                        "srv_content_type = ?, srv_encrypted = ?, srv_mergeable = ? WHERE collection = ? AND key = ?",
                        (
                            item.revision,
                            item.value,
                            int(item.deleted),
                            item.content_type,
                            int(item.encrypted),
                            int(item.mergeable),
                            *ck,
                        ),
                    )
                    continue
                db.execute(
                    """INSERT INTO items (collection, key, value, content_type, encrypted, mergeable, deleted,
                           base_rev, server_rev) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                       ON CONFLICT (collection, key) DO UPDATE SET value = excluded.value,
                           content_type = excluded.content_type, encrypted = excluded.encrypted,
                           mergeable = excluded.mergeable, deleted = excluded.deleted,
                           base_rev = excluded.base_rev, server_rev = excluded.server_rev,
                           srv_present = 0, srv_value = NULL""",
                    (
                        *ck,
                        item.value,
                        item.content_type,
                        int(item.encrypted),
                        int(item.mergeable),
                        int(item.deleted),
                        item.revision,
                        item.revision,
                    ),
                )
                changed += 1
            if cursor is not None:
                # The cursor only moves forward: a pull and the watch may interleave.
                db.execute(
                    "INSERT INTO meta (k, v) VALUES ('cursor', ?) ON CONFLICT (k) DO UPDATE "
                    "SET v = CAST(max(CAST(v AS INTEGER), CAST(excluded.v AS INTEGER)) AS TEXT)",
                    (str(cursor),),
                )
        return changed

    def forget_missing(self, present: set[tuple[str, str]]) -> None:
        """After a full resync: clean local items the server no longer has were deleted while
        their tombstones expired."""
        with self._tx() as db:
            rows = db.execute("SELECT collection, key FROM items WHERE NOT deleted").fetchall()
            for collection, key in rows:
                if (collection, key) in present:
                    continue
                if db.execute(
                    "SELECT 1 FROM queue WHERE collection = ? AND key = ? LIMIT 1",
                    (collection, key),
                ).fetchone():
                    continue
                db.execute(
                    "UPDATE items SET value = x'', deleted = 1 WHERE collection = ? AND key = ?",
                    (collection, key),
                )

    def start_new_generation(self, generation: int) -> None:
        """The server's data was reset: drop what came from it; keep unpushed local edits and
        push them as new items."""
        with self._tx() as db:
            db.execute("UPDATE queue SET batch = NULL")
            db.execute("DELETE FROM batches")
            db.execute(
                "DELETE FROM items WHERE NOT EXISTS (SELECT 1 FROM queue q WHERE q.collection = items.collection "
                "AND q.key = items.key)"
            )
            db.execute(
                "UPDATE items SET base_rev = 0, server_rev = 0, srv_present = 0, srv_value = NULL"
            )
            for k, v in (("cursor", "0"), ("generation", str(generation))):
                db.execute(
                    "INSERT INTO meta (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v",
                    (k, v),
                )

    # ------------------------------------------------------------------ conflicts

    def conflicts(self) -> list[ConflictCopy]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, collection, key, local_value, local_deleted, server_value, server_deleted, "
                "server_revision, reason, keys FROM conflicts ORDER BY id"
            ).fetchall()
        return [
            ConflictCopy(
                r[0],
                r[1],
                r[2],
                None if r[3] is None else bytes(r[3]),
                bool(r[4]),
                None if r[5] is None else bytes(r[5]),
                bool(r[6]),
                r[7],
                r[8],
                json.loads(r[9]),
            )
            for r in rows
        ]

    def dismiss_conflict(self, conflict_id: int) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM conflicts WHERE id = ?", (conflict_id,))


def _local(row: Sequence[Any]) -> LocalItem:
    return LocalItem(
        row[0],
        row[1],
        bytes(row[2]),
        row[3],
        bool(row[4]),
        bool(row[5]),
        bool(row[6]),
        row[7],
        row[8],
    )


def _rebase(pushed: bytes, merged: bytes, local: bytes) -> bytes:
    """The server merged our pushed value with others' changes while we kept editing: bring
    the others' changes into the newer local value (three-way, base = what we pushed)."""
    from symphony_client.sync.merge import three_way_bytes

    return three_way_bytes(pushed, merged, local, prefer="client")
