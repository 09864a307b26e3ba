import datetime

from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import resource_pb2 as _resource_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SnapshotTrigger(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SNAPSHOT_TRIGGER_UNSPECIFIED: _ClassVar[SnapshotTrigger]
    SNAPSHOT_TRIGGER_MANUAL: _ClassVar[SnapshotTrigger]
    SNAPSHOT_TRIGGER_BEFORE_RESET: _ClassVar[SnapshotTrigger]
    SNAPSHOT_TRIGGER_BEFORE_RESTORE: _ClassVar[SnapshotTrigger]

class ChangeOutcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CHANGE_OUTCOME_UNSPECIFIED: _ClassVar[ChangeOutcome]
    CHANGE_OUTCOME_APPLIED: _ClassVar[ChangeOutcome]
    CHANGE_OUTCOME_MERGED: _ClassVar[ChangeOutcome]
    CHANGE_OUTCOME_CONFLICT: _ClassVar[ChangeOutcome]

class WatchEventType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    WATCH_EVENT_TYPE_UNSPECIFIED: _ClassVar[WatchEventType]
    WATCH_EVENT_TYPE_CHANGES: _ClassVar[WatchEventType]
    WATCH_EVENT_TYPE_CAUGHT_UP: _ClassVar[WatchEventType]
    WATCH_EVENT_TYPE_HEARTBEAT: _ClassVar[WatchEventType]
    WATCH_EVENT_TYPE_RESET_REQUIRED: _ClassVar[WatchEventType]
SNAPSHOT_TRIGGER_UNSPECIFIED: SnapshotTrigger
SNAPSHOT_TRIGGER_MANUAL: SnapshotTrigger
SNAPSHOT_TRIGGER_BEFORE_RESET: SnapshotTrigger
SNAPSHOT_TRIGGER_BEFORE_RESTORE: SnapshotTrigger
CHANGE_OUTCOME_UNSPECIFIED: ChangeOutcome
CHANGE_OUTCOME_APPLIED: ChangeOutcome
CHANGE_OUTCOME_MERGED: ChangeOutcome
CHANGE_OUTCOME_CONFLICT: ChangeOutcome
WATCH_EVENT_TYPE_UNSPECIFIED: WatchEventType
WATCH_EVENT_TYPE_CHANGES: WatchEventType
WATCH_EVENT_TYPE_CAUGHT_UP: WatchEventType
WATCH_EVENT_TYPE_HEARTBEAT: WatchEventType
WATCH_EVENT_TYPE_RESET_REQUIRED: WatchEventType

class Item(_message.Message):
    __slots__ = ("name", "collection", "key", "value", "content_type", "encrypted", "mergeable", "revision", "device", "update_time", "deleted")
    NAME_FIELD_NUMBER: _ClassVar[int]
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    ENCRYPTED_FIELD_NUMBER: _ClassVar[int]
    MERGEABLE_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    DELETED_FIELD_NUMBER: _ClassVar[int]
    name: str
    collection: str
    key: str
    value: bytes
    content_type: str
    encrypted: bool
    mergeable: bool
    revision: int
    device: str
    update_time: _timestamp_pb2.Timestamp
    deleted: bool
    def __init__(self, name: _Optional[str] = ..., collection: _Optional[str] = ..., key: _Optional[str] = ..., value: _Optional[bytes] = ..., content_type: _Optional[str] = ..., encrypted: _Optional[bool] = ..., mergeable: _Optional[bool] = ..., revision: _Optional[int] = ..., device: _Optional[str] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., deleted: _Optional[bool] = ...) -> None: ...

class Device(_message.Message):
    __slots__ = ("name", "uid", "display_name", "platform", "excluded_collections", "disabled", "create_time", "update_time", "last_seen_time")
    NAME_FIELD_NUMBER: _ClassVar[int]
    UID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_FIELD_NUMBER: _ClassVar[int]
    EXCLUDED_COLLECTIONS_FIELD_NUMBER: _ClassVar[int]
    DISABLED_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    LAST_SEEN_TIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    uid: str
    display_name: str
    platform: str
    excluded_collections: _containers.RepeatedScalarFieldContainer[str]
    disabled: bool
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    last_seen_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., uid: _Optional[str] = ..., display_name: _Optional[str] = ..., platform: _Optional[str] = ..., excluded_collections: _Optional[_Iterable[str]] = ..., disabled: _Optional[bool] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_seen_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Snapshot(_message.Message):
    __slots__ = ("name", "uid", "description", "trigger", "generation", "revision", "item_count", "size_bytes", "device", "create_time", "expire_time")
    NAME_FIELD_NUMBER: _ClassVar[int]
    UID_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    TRIGGER_FIELD_NUMBER: _ClassVar[int]
    GENERATION_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    ITEM_COUNT_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    uid: str
    description: str
    trigger: SnapshotTrigger
    generation: int
    revision: int
    item_count: int
    size_bytes: int
    device: str
    create_time: _timestamp_pb2.Timestamp
    expire_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., uid: _Optional[str] = ..., description: _Optional[str] = ..., trigger: _Optional[_Union[SnapshotTrigger, str]] = ..., generation: _Optional[int] = ..., revision: _Optional[int] = ..., item_count: _Optional[int] = ..., size_bytes: _Optional[int] = ..., device: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SyncLimits(_message.Message):
    __slots__ = ("max_key_bytes", "max_item_bytes", "max_batch_changes", "max_batch_bytes", "quota_bytes", "history_depth", "history_retention", "tombstone_retention", "idempotency_retention", "snapshot_retention", "max_snapshots", "max_watch_streams", "heartbeat_interval", "poll_interval", "max_page_size")
    MAX_KEY_BYTES_FIELD_NUMBER: _ClassVar[int]
    MAX_ITEM_BYTES_FIELD_NUMBER: _ClassVar[int]
    MAX_BATCH_CHANGES_FIELD_NUMBER: _ClassVar[int]
    MAX_BATCH_BYTES_FIELD_NUMBER: _ClassVar[int]
    QUOTA_BYTES_FIELD_NUMBER: _ClassVar[int]
    HISTORY_DEPTH_FIELD_NUMBER: _ClassVar[int]
    HISTORY_RETENTION_FIELD_NUMBER: _ClassVar[int]
    TOMBSTONE_RETENTION_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_RETENTION_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_RETENTION_FIELD_NUMBER: _ClassVar[int]
    MAX_SNAPSHOTS_FIELD_NUMBER: _ClassVar[int]
    MAX_WATCH_STREAMS_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_INTERVAL_FIELD_NUMBER: _ClassVar[int]
    POLL_INTERVAL_FIELD_NUMBER: _ClassVar[int]
    MAX_PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    max_key_bytes: int
    max_item_bytes: int
    max_batch_changes: int
    max_batch_bytes: int
    quota_bytes: int
    history_depth: int
    history_retention: _duration_pb2.Duration
    tombstone_retention: _duration_pb2.Duration
    idempotency_retention: _duration_pb2.Duration
    snapshot_retention: _duration_pb2.Duration
    max_snapshots: int
    max_watch_streams: int
    heartbeat_interval: _duration_pb2.Duration
    poll_interval: _duration_pb2.Duration
    max_page_size: int
    def __init__(self, max_key_bytes: _Optional[int] = ..., max_item_bytes: _Optional[int] = ..., max_batch_changes: _Optional[int] = ..., max_batch_bytes: _Optional[int] = ..., quota_bytes: _Optional[int] = ..., history_depth: _Optional[int] = ..., history_retention: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., tombstone_retention: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., idempotency_retention: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., snapshot_retention: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., max_snapshots: _Optional[int] = ..., max_watch_streams: _Optional[int] = ..., heartbeat_interval: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., poll_interval: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., max_page_size: _Optional[int] = ...) -> None: ...

class SyncConfig(_message.Message):
    __slots__ = ("name", "limits", "builtin_collections", "collection_pattern", "merge_collections", "generation", "latest_revision", "usage_bytes", "item_count")
    NAME_FIELD_NUMBER: _ClassVar[int]
    LIMITS_FIELD_NUMBER: _ClassVar[int]
    BUILTIN_COLLECTIONS_FIELD_NUMBER: _ClassVar[int]
    COLLECTION_PATTERN_FIELD_NUMBER: _ClassVar[int]
    MERGE_COLLECTIONS_FIELD_NUMBER: _ClassVar[int]
    GENERATION_FIELD_NUMBER: _ClassVar[int]
    LATEST_REVISION_FIELD_NUMBER: _ClassVar[int]
    USAGE_BYTES_FIELD_NUMBER: _ClassVar[int]
    ITEM_COUNT_FIELD_NUMBER: _ClassVar[int]
    name: str
    limits: SyncLimits
    builtin_collections: _containers.RepeatedScalarFieldContainer[str]
    collection_pattern: str
    merge_collections: _containers.RepeatedScalarFieldContainer[str]
    generation: int
    latest_revision: int
    usage_bytes: int
    item_count: int
    def __init__(self, name: _Optional[str] = ..., limits: _Optional[_Union[SyncLimits, _Mapping]] = ..., builtin_collections: _Optional[_Iterable[str]] = ..., collection_pattern: _Optional[str] = ..., merge_collections: _Optional[_Iterable[str]] = ..., generation: _Optional[int] = ..., latest_revision: _Optional[int] = ..., usage_bytes: _Optional[int] = ..., item_count: _Optional[int] = ...) -> None: ...
