from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class DeleteUserDataRequest(_message.Message):
    __slots__ = ("user",)
    USER_FIELD_NUMBER: _ClassVar[int]
    user: str
    def __init__(self, user: _Optional[str] = ...) -> None: ...

class DeleteUserDataResponse(_message.Message):
    __slots__ = ("deleted_items", "deleted_devices", "deleted_snapshots")
    DELETED_ITEMS_FIELD_NUMBER: _ClassVar[int]
    DELETED_DEVICES_FIELD_NUMBER: _ClassVar[int]
    DELETED_SNAPSHOTS_FIELD_NUMBER: _ClassVar[int]
    deleted_items: int
    deleted_devices: int
    deleted_snapshots: int
    def __init__(self, deleted_items: _Optional[int] = ..., deleted_devices: _Optional[int] = ..., deleted_snapshots: _Optional[int] = ...) -> None: ...
