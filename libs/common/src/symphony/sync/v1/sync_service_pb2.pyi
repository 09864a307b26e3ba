import datetime

from google.api import annotations_pb2 as _annotations_pb2
from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import empty_pb2 as _empty_pb2
from google.protobuf import field_mask_pb2 as _field_mask_pb2
from symphony.sync.v1 import resources_pb2 as _resources_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GetSyncConfigRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Change(_message.Message):
    __slots__ = ("collection", "key", "base_revision", "value", "content_type", "encrypted", "mergeable", "deleted")
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    BASE_REVISION_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    ENCRYPTED_FIELD_NUMBER: _ClassVar[int]
    MERGEABLE_FIELD_NUMBER: _ClassVar[int]
    DELETED_FIELD_NUMBER: _ClassVar[int]
    collection: str
    key: str
    base_revision: int
    value: bytes
    content_type: str
    encrypted: bool
    mergeable: bool
    deleted: bool
    def __init__(self, collection: _Optional[str] = ..., key: _Optional[str] = ..., base_revision: _Optional[int] = ..., value: _Optional[bytes] = ..., content_type: _Optional[str] = ..., encrypted: _Optional[bool] = ..., mergeable: _Optional[bool] = ..., deleted: _Optional[bool] = ...) -> None: ...

class PushRequest(_message.Message):
    __slots__ = ("request_id", "changes", "atomic", "device", "generation")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CHANGES_FIELD_NUMBER: _ClassVar[int]
    ATOMIC_FIELD_NUMBER: _ClassVar[int]
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    GENERATION_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    changes: _containers.RepeatedCompositeFieldContainer[Change]
    atomic: bool
    device: str
    generation: int
    def __init__(self, request_id: _Optional[str] = ..., changes: _Optional[_Iterable[_Union[Change, _Mapping]]] = ..., atomic: _Optional[bool] = ..., device: _Optional[str] = ..., generation: _Optional[int] = ...) -> None: ...

class KeyConflict(_message.Message):
    __slots__ = ("key", "base_value", "server_value", "client_value")
    KEY_FIELD_NUMBER: _ClassVar[int]
    BASE_VALUE_FIELD_NUMBER: _ClassVar[int]
    SERVER_VALUE_FIELD_NUMBER: _ClassVar[int]
    CLIENT_VALUE_FIELD_NUMBER: _ClassVar[int]
    key: str
    base_value: bytes
    server_value: bytes
    client_value: bytes
    def __init__(self, key: _Optional[str] = ..., base_value: _Optional[bytes] = ..., server_value: _Optional[bytes] = ..., client_value: _Optional[bytes] = ...) -> None: ...

class MergeConflict(_message.Message):
    __slots__ = ("base_revision", "server_revision", "base_available", "keys", "merged_value")
    BASE_REVISION_FIELD_NUMBER: _ClassVar[int]
    SERVER_REVISION_FIELD_NUMBER: _ClassVar[int]
    BASE_AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    KEYS_FIELD_NUMBER: _ClassVar[int]
    MERGED_VALUE_FIELD_NUMBER: _ClassVar[int]
    base_revision: int
    server_revision: int
    base_available: bool
    keys: _containers.RepeatedCompositeFieldContainer[KeyConflict]
    merged_value: bytes
    def __init__(self, base_revision: _Optional[int] = ..., server_revision: _Optional[int] = ..., base_available: _Optional[bool] = ..., keys: _Optional[_Iterable[_Union[KeyConflict, _Mapping]]] = ..., merged_value: _Optional[bytes] = ...) -> None: ...

class ChangeResult(_message.Message):
    __slots__ = ("index", "outcome", "item", "merge_conflict", "value_omitted")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    ITEM_FIELD_NUMBER: _ClassVar[int]
    MERGE_CONFLICT_FIELD_NUMBER: _ClassVar[int]
    VALUE_OMITTED_FIELD_NUMBER: _ClassVar[int]
    index: int
    outcome: _resources_pb2.ChangeOutcome
    item: _resources_pb2.Item
    merge_conflict: MergeConflict
    value_omitted: bool
    def __init__(self, index: _Optional[int] = ..., outcome: _Optional[_Union[_resources_pb2.ChangeOutcome, str]] = ..., item: _Optional[_Union[_resources_pb2.Item, _Mapping]] = ..., merge_conflict: _Optional[_Union[MergeConflict, _Mapping]] = ..., value_omitted: _Optional[bool] = ...) -> None: ...

class PushResponse(_message.Message):
    __slots__ = ("results", "latest_revision", "replayed")
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    LATEST_REVISION_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[ChangeResult]
    latest_revision: int
    replayed: bool
    def __init__(self, results: _Optional[_Iterable[_Union[ChangeResult, _Mapping]]] = ..., latest_revision: _Optional[int] = ..., replayed: _Optional[bool] = ...) -> None: ...

class PushConflicts(_message.Message):
    __slots__ = ("conflicts",)
    CONFLICTS_FIELD_NUMBER: _ClassVar[int]
    conflicts: _containers.RepeatedCompositeFieldContainer[ChangeResult]
    def __init__(self, conflicts: _Optional[_Iterable[_Union[ChangeResult, _Mapping]]] = ...) -> None: ...

class PullChangesRequest(_message.Message):
    __slots__ = ("since", "collections", "page_size", "page_token", "device", "generation")
    SINCE_FIELD_NUMBER: _ClassVar[int]
    COLLECTIONS_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    GENERATION_FIELD_NUMBER: _ClassVar[int]
    since: int
    collections: _containers.RepeatedScalarFieldContainer[str]
    page_size: int
    page_token: str
    device: str
    generation: int
    def __init__(self, since: _Optional[int] = ..., collections: _Optional[_Iterable[str]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., device: _Optional[str] = ..., generation: _Optional[int] = ...) -> None: ...

class PullChangesResponse(_message.Message):
    __slots__ = ("changes", "next_page_token", "cursor", "reset_required", "generation")
    CHANGES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    RESET_REQUIRED_FIELD_NUMBER: _ClassVar[int]
    GENERATION_FIELD_NUMBER: _ClassVar[int]
    changes: _containers.RepeatedCompositeFieldContainer[_resources_pb2.Item]
    next_page_token: str
    cursor: int
    reset_required: bool
    generation: int
    def __init__(self, changes: _Optional[_Iterable[_Union[_resources_pb2.Item, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., cursor: _Optional[int] = ..., reset_required: _Optional[bool] = ..., generation: _Optional[int] = ...) -> None: ...

class WatchRequest(_message.Message):
    __slots__ = ("since", "collections", "device", "generation", "heartbeat_interval")
    SINCE_FIELD_NUMBER: _ClassVar[int]
    COLLECTIONS_FIELD_NUMBER: _ClassVar[int]
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    GENERATION_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_INTERVAL_FIELD_NUMBER: _ClassVar[int]
    since: int
    collections: _containers.RepeatedScalarFieldContainer[str]
    device: str
    generation: int
    heartbeat_interval: _duration_pb2.Duration
    def __init__(self, since: _Optional[int] = ..., collections: _Optional[_Iterable[str]] = ..., device: _Optional[str] = ..., generation: _Optional[int] = ..., heartbeat_interval: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class WatchResponse(_message.Message):
    __slots__ = ("type", "changes", "cursor")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    CHANGES_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    type: _resources_pb2.WatchEventType
    changes: _containers.RepeatedCompositeFieldContainer[_resources_pb2.Item]
    cursor: int
    def __init__(self, type: _Optional[_Union[_resources_pb2.WatchEventType, str]] = ..., changes: _Optional[_Iterable[_Union[_resources_pb2.Item, _Mapping]]] = ..., cursor: _Optional[int] = ...) -> None: ...

class GetItemRequest(_message.Message):
    __slots__ = ("collection", "item")
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    ITEM_FIELD_NUMBER: _ClassVar[int]
    collection: str
    item: str
    def __init__(self, collection: _Optional[str] = ..., item: _Optional[str] = ...) -> None: ...

class ListItemRevisionsRequest(_message.Message):
    __slots__ = ("collection", "item", "page_size", "page_token")
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    ITEM_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    collection: str
    item: str
    page_size: int
    page_token: str
    def __init__(self, collection: _Optional[str] = ..., item: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListItemRevisionsResponse(_message.Message):
    __slots__ = ("revisions", "next_page_token")
    REVISIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    revisions: _containers.RepeatedCompositeFieldContainer[_resources_pb2.Item]
    next_page_token: str
    def __init__(self, revisions: _Optional[_Iterable[_Union[_resources_pb2.Item, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class RestoreItemRevisionRequest(_message.Message):
    __slots__ = ("collection", "item", "revision", "base_revision", "request_id", "device", "generation")
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    ITEM_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    BASE_REVISION_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    GENERATION_FIELD_NUMBER: _ClassVar[int]
    collection: str
    item: str
    revision: int
    base_revision: int
    request_id: str
    device: str
    generation: int
    def __init__(self, collection: _Optional[str] = ..., item: _Optional[str] = ..., revision: _Optional[int] = ..., base_revision: _Optional[int] = ..., request_id: _Optional[str] = ..., device: _Optional[str] = ..., generation: _Optional[int] = ...) -> None: ...

class ListDevicesRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListDevicesResponse(_message.Message):
    __slots__ = ("devices", "next_page_token")
    DEVICES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    devices: _containers.RepeatedCompositeFieldContainer[_resources_pb2.Device]
    next_page_token: str
    def __init__(self, devices: _Optional[_Iterable[_Union[_resources_pb2.Device, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class RegisterDeviceRequest(_message.Message):
    __slots__ = ("device", "request_id")
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    device: _resources_pb2.Device
    request_id: str
    def __init__(self, device: _Optional[_Union[_resources_pb2.Device, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class UpdateDeviceRequest(_message.Message):
    __slots__ = ("device", "patch", "update_mask")
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    PATCH_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    device: str
    patch: _resources_pb2.Device
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, device: _Optional[str] = ..., patch: _Optional[_Union[_resources_pb2.Device, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class DeleteDeviceRequest(_message.Message):
    __slots__ = ("device",)
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    device: str
    def __init__(self, device: _Optional[str] = ...) -> None: ...

class CreateSnapshotRequest(_message.Message):
    __slots__ = ("snapshot", "request_id", "device")
    SNAPSHOT_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    snapshot: _resources_pb2.Snapshot
    request_id: str
    device: str
    def __init__(self, snapshot: _Optional[_Union[_resources_pb2.Snapshot, _Mapping]] = ..., request_id: _Optional[str] = ..., device: _Optional[str] = ...) -> None: ...

class ListSnapshotsRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListSnapshotsResponse(_message.Message):
    __slots__ = ("snapshots", "next_page_token")
    SNAPSHOTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    snapshots: _containers.RepeatedCompositeFieldContainer[_resources_pb2.Snapshot]
    next_page_token: str
    def __init__(self, snapshots: _Optional[_Iterable[_Union[_resources_pb2.Snapshot, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class RestoreSnapshotRequest(_message.Message):
    __slots__ = ("snapshot", "request_id", "device", "generation")
    SNAPSHOT_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    GENERATION_FIELD_NUMBER: _ClassVar[int]
    snapshot: str
    request_id: str
    device: str
    generation: int
    def __init__(self, snapshot: _Optional[str] = ..., request_id: _Optional[str] = ..., device: _Optional[str] = ..., generation: _Optional[int] = ...) -> None: ...

class RestoreSnapshotResponse(_message.Message):
    __slots__ = ("backup", "changed_items", "latest_revision")
    BACKUP_FIELD_NUMBER: _ClassVar[int]
    CHANGED_ITEMS_FIELD_NUMBER: _ClassVar[int]
    LATEST_REVISION_FIELD_NUMBER: _ClassVar[int]
    backup: _resources_pb2.Snapshot
    changed_items: int
    latest_revision: int
    def __init__(self, backup: _Optional[_Union[_resources_pb2.Snapshot, _Mapping]] = ..., changed_items: _Optional[int] = ..., latest_revision: _Optional[int] = ...) -> None: ...

class ResetRequest(_message.Message):
    __slots__ = ("request_id", "device", "generation")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    GENERATION_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    device: str
    generation: int
    def __init__(self, request_id: _Optional[str] = ..., device: _Optional[str] = ..., generation: _Optional[int] = ...) -> None: ...

class ResetResponse(_message.Message):
    __slots__ = ("generation", "snapshot", "latest_revision")
    GENERATION_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_FIELD_NUMBER: _ClassVar[int]
    LATEST_REVISION_FIELD_NUMBER: _ClassVar[int]
    generation: int
    snapshot: _resources_pb2.Snapshot
    latest_revision: int
    def __init__(self, generation: _Optional[int] = ..., snapshot: _Optional[_Union[_resources_pb2.Snapshot, _Mapping]] = ..., latest_revision: _Optional[int] = ...) -> None: ...
