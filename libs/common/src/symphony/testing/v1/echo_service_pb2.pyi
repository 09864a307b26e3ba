import datetime

from google.api import annotations_pb2 as _annotations_pb2
from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Kind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    KIND_UNSPECIFIED: _ClassVar[Kind]
    KIND_PLAIN: _ClassVar[Kind]
    KIND_FANCY: _ClassVar[Kind]
KIND_UNSPECIFIED: Kind
KIND_PLAIN: Kind
KIND_FANCY: Kind

class Nested(_message.Message):
    __slots__ = ("name", "path", "numbers")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    NUMBERS_FIELD_NUMBER: _ClassVar[int]
    name: str
    path: str
    numbers: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, name: _Optional[str] = ..., path: _Optional[str] = ..., numbers: _Optional[_Iterable[int]] = ...) -> None: ...

class Payload(_message.Message):
    __slots__ = ("text", "data", "time")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    text: str
    data: _struct_pb2.Struct
    time: _timestamp_pb2.Timestamp
    def __init__(self, text: _Optional[str] = ..., data: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class EchoRequest(_message.Message):
    __slots__ = ("message", "nested", "tags", "big_number", "kind", "payload", "update_mask", "fail_with", "flag", "blob")
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    NESTED_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    BIG_NUMBER_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    FAIL_WITH_FIELD_NUMBER: _ClassVar[int]
    FLAG_FIELD_NUMBER: _ClassVar[int]
    BLOB_FIELD_NUMBER: _ClassVar[int]
    message: str
    nested: Nested
    tags: _containers.RepeatedScalarFieldContainer[str]
    big_number: int
    kind: Kind
    payload: Payload
    update_mask: _field_mask_pb2.FieldMask
    fail_with: int
    flag: bool
    blob: bytes
    def __init__(self, message: _Optional[str] = ..., nested: _Optional[_Union[Nested, _Mapping]] = ..., tags: _Optional[_Iterable[str]] = ..., big_number: _Optional[int] = ..., kind: _Optional[_Union[Kind, str]] = ..., payload: _Optional[_Union[Payload, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ..., fail_with: _Optional[int] = ..., flag: _Optional[bool] = ..., blob: _Optional[bytes] = ...) -> None: ...

class EchoResponse(_message.Message):
    __slots__ = ("request", "sequence")
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    request: EchoRequest
    sequence: int
    def __init__(self, request: _Optional[_Union[EchoRequest, _Mapping]] = ..., sequence: _Optional[int] = ...) -> None: ...

class ExpandRequest(_message.Message):
    __slots__ = ("message", "count", "interval")
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    INTERVAL_FIELD_NUMBER: _ClassVar[int]
    message: str
    count: int
    interval: _duration_pb2.Duration
    def __init__(self, message: _Optional[str] = ..., count: _Optional[int] = ..., interval: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...
