"""The sync domain's values. Plain dataclasses: no protobuf, no SQL."""

from __future__ import annotations

import base64
import dataclasses
import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

BUILTIN_COLLECTIONS = (
    "settings",
    "keybindings",
    "snippets",
    "tasks",
    "extensions",
    "ui_state",
    "workflow_templates",
)
COLLECTION_PATTERN = r"^[a-z0-9_.-]{1,32}$"
COLLECTION_RE = re.compile(COLLECTION_PATTERN)
MERGE_COLLECTIONS = ("settings",)
DEFAULT_CONTENT_TYPE = "application/json"


class Outcome(enum.IntEnum):
    APPLIED = 1
    MERGED = 2
    CONFLICT = 3


class SnapshotTrigger(enum.IntEnum):
    MANUAL = 1
    BEFORE_RESET = 2
    BEFORE_RESTORE = 3


class WatchEventType(enum.IntEnum):
    CHANGES = 1
    CAUGHT_UP = 2
    HEARTBEAT = 3
    RESET_REQUIRED = 4


@dataclass(frozen=True)
class Limits:
    max_key_bytes: int = 256
    max_item_bytes: int = 1024 * 1024
    max_batch_changes: int = 100
    max_batch_bytes: int = 4 * 1024 * 1024
    quota_bytes: int = 100 * 1024 * 1024
    history_depth: int = 20
    history_retention: timedelta = timedelta(days=90)
    tombstone_retention: timedelta = timedelta(days=90)
    idempotency_retention: timedelta = timedelta(days=30)
    snapshot_retention: timedelta = timedelta(days=30)
    max_snapshots: int = 20
    max_watch_streams: int = 20
    heartbeat_interval: timedelta = timedelta(seconds=15)
    poll_interval: timedelta = timedelta(seconds=60)
    max_page_size: int = 1000
    max_devices: int = 100


@dataclass
class Item:
    collection: str
    key: str
    value: bytes = b""
    content_type: str = DEFAULT_CONTENT_TYPE
    encrypted: bool = False
    mergeable: bool = False
    revision: int = 0
    device: str = ""
    update_time: datetime | None = None
    deleted: bool = False

    @property
    def size_bytes(self) -> int:
        """What a live item counts against the quota: key and value."""
        return 0 if self.deleted else len(self.key.encode()) + len(self.value)


@dataclass
class Change:
    collection: str
    key: str
    base_revision: int = 0
    value: bytes = b""
    content_type: str = ""
    encrypted: bool = False
    mergeable: bool = False
    deleted: bool = False


@dataclass
class KeyConflict:
    key: str
    base_value: bytes | None
    server_value: bytes | None
    client_value: bytes | None


@dataclass
class MergeConflict:
    base_revision: int
    server_revision: int
    base_available: bool
    keys: list[KeyConflict]
    merged_value: bytes


@dataclass
class ChangeResult:
    index: int
    outcome: Outcome
    item: Item | None = None
    merge_conflict: MergeConflict | None = None


@dataclass
class PushResult:
    results: list[ChangeResult]
    latest_revision: int
    replayed: bool = False


@dataclass
class UserState:
    user_id: str
    revision: int = 0
    generation: int = 1
    usage_bytes: int = 0
    item_count: int = 0
    tombstone_floor: int = 0


@dataclass
class PushStart:
    """What a push reads after taking the request-id lock, in one round trip: the user's
    locked counter row, the stored result of this request id (fingerprint, JSON), the device,
    and the current items — None when a concurrent write may have changed them since the read's
    snapshot (then they are read again)."""

    state: UserState
    stored: tuple[bytes, Any] | None
    device: Device | None
    items: dict[tuple[str, str], Item] | None


@dataclass
class PushWrite:
    """One push of a group, to write: its items, each with the revision the stored one must
    still have (None: none may exist), the user's new counter, the result stored under the
    request id, and a device whose last-seen stamp is due (or "")."""

    state: UserState
    writes: list[tuple[Item, int | None]]
    request: StoredRequest
    now: datetime
    touch_device: str = ""


@dataclass
class StoredRequest:
    """A mutation's result kept under its request id (idempotency)."""

    method: str
    request_id: str
    fingerprint: bytes
    result: Any
    expire_time: datetime


@dataclass(frozen=True)
class ChangesQuery:
    """One page to read: changes in (after, min(upto, the user's revision)] outside the
    device's excluded collections (in `include` when not empty), at most `limit` rows and
    about `max_bytes`."""

    user_id: str
    device: str
    after: int
    upto: int | None
    include: Sequence[str]
    limit: int
    max_bytes: int


@dataclass
class ChangesRead:
    """One snapshot: the user's counter (None for a user who never wrote), the device, a page."""

    state: UserState | None
    device: Device | None
    items: list[Item]


@dataclass
class SyncConfig:
    user_id: str
    limits: Limits
    generation: int
    latest_revision: int
    usage_bytes: int
    item_count: int


@dataclass
class Device:
    uid: str
    display_name: str
    platform: str = ""
    excluded_collections: list[str] = field(default_factory=list)
    disabled: bool = False
    create_time: datetime | None = None
    update_time: datetime | None = None
    last_seen_time: datetime | None = None


@dataclass
class Snapshot:
    uid: str
    description: str
    trigger: SnapshotTrigger
    generation: int
    revision: int
    item_count: int
    size_bytes: int
    device: str
    create_time: datetime | None = None
    expire_time: datetime | None = None


@dataclass
class PullPage:
    changes: list[Item]
    cursor: int
    next_position: int | None  # revision after which the next page starts
    upto: int
    reset_required: bool = False
    generation: int = 1


@dataclass
class WatchEvent:
    type: WatchEventType
    cursor: int
    changes: list[Item] = field(default_factory=list)


@dataclass
class RestoreResult:
    backup: Snapshot
    changed_items: int
    latest_revision: int


@dataclass
class ResetResult:
    generation: int
    snapshot: Snapshot
    latest_revision: int


@dataclass
class DeleteUserDataResult:
    deleted_items: int
    deleted_devices: int
    deleted_snapshots: int


@dataclass
class ClientContext:
    """The optional `device` and `generation` a sync request carries."""

    device: str = ""
    generation: int = 0


# --- a small JSON codec for stored idempotent results (no pickle in the database) ---------

_TYPES: dict[str, type] = {
    cls.__name__: cls
    for cls in (
        Item,
        Change,
        KeyConflict,
        MergeConflict,
        ChangeResult,
        PushResult,
        Device,
        Snapshot,
        RestoreResult,
        ResetResult,
    )
}
_ENUMS: dict[str, type[enum.IntEnum]] = {
    cls.__name__: cls for cls in (Outcome, SnapshotTrigger, WatchEventType)
}


_PLAIN = frozenset({str, int, float, bool, type(None)})  # exact types: an IntEnum is tagged
_FIELDS: dict[type, tuple[str, ...]] = {}


def to_json(value: Any) -> Any:
    # Runs for every stored push result: plain values first, field names looked up once.
    kind = type(value)
    if kind in _PLAIN:
        return value
    names = _FIELDS.get(kind)
    if names is None and dataclasses.is_dataclass(value) and not isinstance(value, type):
        names = _FIELDS[kind] = tuple(f.name for f in dataclasses.fields(value))
    if names is not None:
        return {"$t": kind.__name__, **{n: to_json(getattr(value, n)) for n in names}}
    if isinstance(value, enum.IntEnum):
        return {"$e": type(value).__name__, "v": int(value)}
    if isinstance(value, bytes):
        return {"$b": base64.b64encode(value).decode()}
    if isinstance(value, datetime):
        return {"$d": value.isoformat()}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    return value


def from_json(value: Any) -> Any:
    if isinstance(value, list):
        return [from_json(v) for v in value]
    if isinstance(value, dict):
        if "$t" in value:
            cls = _TYPES[value["$t"]]
            return cls(**{k: from_json(v) for k, v in value.items() if k != "$t"})
        if "$e" in value:
            return _ENUMS[value["$e"]](value["v"])
        if "$b" in value:
            return base64.b64decode(value["$b"])
        if "$d" in value:
            return datetime.fromisoformat(value["$d"])
        return {k: from_json(v) for k, v in value.items()}
    return value
