import datetime

from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import resource_pb2 as _resource_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PropertyType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PROPERTY_TYPE_UNSPECIFIED: _ClassVar[PropertyType]
    PROPERTY_TYPE_STRING: _ClassVar[PropertyType]
    PROPERTY_TYPE_ENUM: _ClassVar[PropertyType]
    PROPERTY_TYPE_INT: _ClassVar[PropertyType]
    PROPERTY_TYPE_DOUBLE: _ClassVar[PropertyType]
    PROPERTY_TYPE_BOOL: _ClassVar[PropertyType]
    PROPERTY_TYPE_VERSION: _ClassVar[PropertyType]
    PROPERTY_TYPE_EXTENSION_ID: _ClassVar[PropertyType]

class RejectionReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REJECTION_REASON_UNSPECIFIED: _ClassVar[RejectionReason]
    REJECTION_REASON_INVALID_EVENT_ID: _ClassVar[RejectionReason]
    REJECTION_REASON_UNKNOWN_EVENT: _ClassVar[RejectionReason]
    REJECTION_REASON_UNKNOWN_PROPERTY: _ClassVar[RejectionReason]
    REJECTION_REASON_MISSING_PROPERTY: _ClassVar[RejectionReason]
    REJECTION_REASON_INVALID_PROPERTY_TYPE: _ClassVar[RejectionReason]
    REJECTION_REASON_INVALID_PROPERTY_VALUE: _ClassVar[RejectionReason]
    REJECTION_REASON_PROPERTY_TOO_LONG: _ClassVar[RejectionReason]
    REJECTION_REASON_INVALID_INSTALL_ID: _ClassVar[RejectionReason]
    REJECTION_REASON_INVALID_SESSION_ID: _ClassVar[RejectionReason]
    REJECTION_REASON_INVALID_EDITOR_VERSION: _ClassVar[RejectionReason]
    REJECTION_REASON_INVALID_PLATFORM: _ClassVar[RejectionReason]
    REJECTION_REASON_MISSING_TIMESTAMP: _ClassVar[RejectionReason]
    REJECTION_REASON_TIMESTAMP_TOO_OLD: _ClassVar[RejectionReason]
    REJECTION_REASON_TIMESTAMP_IN_FUTURE: _ClassVar[RejectionReason]
    REJECTION_REASON_EVENT_TOO_LARGE: _ClassVar[RejectionReason]
    REJECTION_REASON_RATE_LIMITED: _ClassVar[RejectionReason]
    REJECTION_REASON_BATCH_TOO_LARGE: _ClassVar[RejectionReason]
    REJECTION_REASON_INVALID_TIMESTAMP: _ClassVar[RejectionReason]

class Interval(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    INTERVAL_UNSPECIFIED: _ClassVar[Interval]
    INTERVAL_HOUR: _ClassVar[Interval]
    INTERVAL_DAY: _ClassVar[Interval]

class ActivityPeriod(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ACTIVITY_PERIOD_UNSPECIFIED: _ClassVar[ActivityPeriod]
    ACTIVITY_PERIOD_DAY: _ClassVar[ActivityPeriod]
    ACTIVITY_PERIOD_WEEK: _ClassVar[ActivityPeriod]
    ACTIVITY_PERIOD_MONTH: _ClassVar[ActivityPeriod]
PROPERTY_TYPE_UNSPECIFIED: PropertyType
PROPERTY_TYPE_STRING: PropertyType
PROPERTY_TYPE_ENUM: PropertyType
PROPERTY_TYPE_INT: PropertyType
PROPERTY_TYPE_DOUBLE: PropertyType
PROPERTY_TYPE_BOOL: PropertyType
PROPERTY_TYPE_VERSION: PropertyType
PROPERTY_TYPE_EXTENSION_ID: PropertyType
REJECTION_REASON_UNSPECIFIED: RejectionReason
REJECTION_REASON_INVALID_EVENT_ID: RejectionReason
REJECTION_REASON_UNKNOWN_EVENT: RejectionReason
REJECTION_REASON_UNKNOWN_PROPERTY: RejectionReason
REJECTION_REASON_MISSING_PROPERTY: RejectionReason
REJECTION_REASON_INVALID_PROPERTY_TYPE: RejectionReason
REJECTION_REASON_INVALID_PROPERTY_VALUE: RejectionReason
REJECTION_REASON_PROPERTY_TOO_LONG: RejectionReason
REJECTION_REASON_INVALID_INSTALL_ID: RejectionReason
REJECTION_REASON_INVALID_SESSION_ID: RejectionReason
REJECTION_REASON_INVALID_EDITOR_VERSION: RejectionReason
REJECTION_REASON_INVALID_PLATFORM: RejectionReason
REJECTION_REASON_MISSING_TIMESTAMP: RejectionReason
REJECTION_REASON_TIMESTAMP_TOO_OLD: RejectionReason
REJECTION_REASON_TIMESTAMP_IN_FUTURE: RejectionReason
REJECTION_REASON_EVENT_TOO_LARGE: RejectionReason
REJECTION_REASON_RATE_LIMITED: RejectionReason
REJECTION_REASON_BATCH_TOO_LARGE: RejectionReason
REJECTION_REASON_INVALID_TIMESTAMP: RejectionReason
INTERVAL_UNSPECIFIED: Interval
INTERVAL_HOUR: Interval
INTERVAL_DAY: Interval
ACTIVITY_PERIOD_UNSPECIFIED: ActivityPeriod
ACTIVITY_PERIOD_DAY: ActivityPeriod
ACTIVITY_PERIOD_WEEK: ActivityPeriod
ACTIVITY_PERIOD_MONTH: ActivityPeriod

class EventSchema(_message.Message):
    __slots__ = ("name", "version", "create_time", "etag", "events", "dimensions", "ingest_limits", "privacy_policy")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    DIMENSIONS_FIELD_NUMBER: _ClassVar[int]
    INGEST_LIMITS_FIELD_NUMBER: _ClassVar[int]
    PRIVACY_POLICY_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: int
    create_time: _timestamp_pb2.Timestamp
    etag: str
    events: _containers.RepeatedCompositeFieldContainer[EventDefinition]
    dimensions: _containers.RepeatedCompositeFieldContainer[DimensionDefinition]
    ingest_limits: IngestLimits
    privacy_policy: PrivacyPolicy
    def __init__(self, name: _Optional[str] = ..., version: _Optional[int] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., etag: _Optional[str] = ..., events: _Optional[_Iterable[_Union[EventDefinition, _Mapping]]] = ..., dimensions: _Optional[_Iterable[_Union[DimensionDefinition, _Mapping]]] = ..., ingest_limits: _Optional[_Union[IngestLimits, _Mapping]] = ..., privacy_policy: _Optional[_Union[PrivacyPolicy, _Mapping]] = ...) -> None: ...

class EventDefinition(_message.Message):
    __slots__ = ("name", "description", "properties", "since_version", "deprecated")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    PROPERTIES_FIELD_NUMBER: _ClassVar[int]
    SINCE_VERSION_FIELD_NUMBER: _ClassVar[int]
    DEPRECATED_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    properties: _containers.RepeatedCompositeFieldContainer[PropertyDefinition]
    since_version: int
    deprecated: bool
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., properties: _Optional[_Iterable[_Union[PropertyDefinition, _Mapping]]] = ..., since_version: _Optional[int] = ..., deprecated: _Optional[bool] = ...) -> None: ...

class PropertyDefinition(_message.Message):
    __slots__ = ("name", "type", "description", "required", "max_length", "pattern", "allowed_values", "min_value", "max_value", "since_version")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_FIELD_NUMBER: _ClassVar[int]
    MAX_LENGTH_FIELD_NUMBER: _ClassVar[int]
    PATTERN_FIELD_NUMBER: _ClassVar[int]
    ALLOWED_VALUES_FIELD_NUMBER: _ClassVar[int]
    MIN_VALUE_FIELD_NUMBER: _ClassVar[int]
    MAX_VALUE_FIELD_NUMBER: _ClassVar[int]
    SINCE_VERSION_FIELD_NUMBER: _ClassVar[int]
    name: str
    type: PropertyType
    description: str
    required: bool
    max_length: int
    pattern: str
    allowed_values: _containers.RepeatedScalarFieldContainer[str]
    min_value: float
    max_value: float
    since_version: int
    def __init__(self, name: _Optional[str] = ..., type: _Optional[_Union[PropertyType, str]] = ..., description: _Optional[str] = ..., required: _Optional[bool] = ..., max_length: _Optional[int] = ..., pattern: _Optional[str] = ..., allowed_values: _Optional[_Iterable[str]] = ..., min_value: _Optional[float] = ..., max_value: _Optional[float] = ..., since_version: _Optional[int] = ...) -> None: ...

class DimensionDefinition(_message.Message):
    __slots__ = ("name", "source", "description", "allowed_values")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    ALLOWED_VALUES_FIELD_NUMBER: _ClassVar[int]
    name: str
    source: str
    description: str
    allowed_values: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, name: _Optional[str] = ..., source: _Optional[str] = ..., description: _Optional[str] = ..., allowed_values: _Optional[_Iterable[str]] = ...) -> None: ...

class IngestLimits(_message.Message):
    __slots__ = ("max_batch_events", "max_batch_bytes", "max_event_bytes", "max_stream_events", "max_event_age", "max_clock_skew")
    MAX_BATCH_EVENTS_FIELD_NUMBER: _ClassVar[int]
    MAX_BATCH_BYTES_FIELD_NUMBER: _ClassVar[int]
    MAX_EVENT_BYTES_FIELD_NUMBER: _ClassVar[int]
    MAX_STREAM_EVENTS_FIELD_NUMBER: _ClassVar[int]
    MAX_EVENT_AGE_FIELD_NUMBER: _ClassVar[int]
    MAX_CLOCK_SKEW_FIELD_NUMBER: _ClassVar[int]
    max_batch_events: int
    max_batch_bytes: int
    max_event_bytes: int
    max_stream_events: int
    max_event_age: _duration_pb2.Duration
    max_clock_skew: _duration_pb2.Duration
    def __init__(self, max_batch_events: _Optional[int] = ..., max_batch_bytes: _Optional[int] = ..., max_event_bytes: _Optional[int] = ..., max_stream_events: _Optional[int] = ..., max_event_age: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., max_clock_skew: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class PrivacyPolicy(_message.Message):
    __slots__ = ("raw_event_retention", "dedupe_window", "suppression_threshold", "stored_fields")
    RAW_EVENT_RETENTION_FIELD_NUMBER: _ClassVar[int]
    DEDUPE_WINDOW_FIELD_NUMBER: _ClassVar[int]
    SUPPRESSION_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    STORED_FIELDS_FIELD_NUMBER: _ClassVar[int]
    raw_event_retention: _duration_pb2.Duration
    dedupe_window: _duration_pb2.Duration
    suppression_threshold: int
    stored_fields: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, raw_event_retention: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., dedupe_window: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., suppression_threshold: _Optional[int] = ..., stored_fields: _Optional[_Iterable[str]] = ...) -> None: ...

class Event(_message.Message):
    __slots__ = ("event_id", "name", "client_time", "install_id", "session_id", "editor_version", "platform", "properties", "receive_time")
    class PropertiesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: _struct_pb2.Value
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ...) -> None: ...
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CLIENT_TIME_FIELD_NUMBER: _ClassVar[int]
    INSTALL_ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    EDITOR_VERSION_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_FIELD_NUMBER: _ClassVar[int]
    PROPERTIES_FIELD_NUMBER: _ClassVar[int]
    RECEIVE_TIME_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    name: str
    client_time: _timestamp_pb2.Timestamp
    install_id: str
    session_id: str
    editor_version: str
    platform: str
    properties: _containers.MessageMap[str, _struct_pb2.Value]
    receive_time: _timestamp_pb2.Timestamp
    def __init__(self, event_id: _Optional[str] = ..., name: _Optional[str] = ..., client_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., install_id: _Optional[str] = ..., session_id: _Optional[str] = ..., editor_version: _Optional[str] = ..., platform: _Optional[str] = ..., properties: _Optional[_Mapping[str, _struct_pb2.Value]] = ..., receive_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RejectedEvent(_message.Message):
    __slots__ = ("index", "event_id", "reason", "field", "description")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    FIELD_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    index: int
    event_id: str
    reason: RejectionReason
    field: str
    description: str
    def __init__(self, index: _Optional[int] = ..., event_id: _Optional[str] = ..., reason: _Optional[_Union[RejectionReason, str]] = ..., field: _Optional[str] = ..., description: _Optional[str] = ...) -> None: ...

class TimeSeries(_message.Message):
    __slots__ = ("group", "other", "points")
    GROUP_FIELD_NUMBER: _ClassVar[int]
    OTHER_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    group: str
    other: bool
    points: _containers.RepeatedCompositeFieldContainer[TimeSeriesPoint]
    def __init__(self, group: _Optional[str] = ..., other: _Optional[bool] = ..., points: _Optional[_Iterable[_Union[TimeSeriesPoint, _Mapping]]] = ...) -> None: ...

class TimeSeriesPoint(_message.Message):
    __slots__ = ("start_time", "event_count", "install_count", "suppressed")
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    EVENT_COUNT_FIELD_NUMBER: _ClassVar[int]
    INSTALL_COUNT_FIELD_NUMBER: _ClassVar[int]
    SUPPRESSED_FIELD_NUMBER: _ClassVar[int]
    start_time: _timestamp_pb2.Timestamp
    event_count: int
    install_count: int
    suppressed: bool
    def __init__(self, start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., event_count: _Optional[int] = ..., install_count: _Optional[int] = ..., suppressed: _Optional[bool] = ...) -> None: ...

class ActiveInstallsSeries(_message.Message):
    __slots__ = ("group", "other", "points")
    GROUP_FIELD_NUMBER: _ClassVar[int]
    OTHER_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    group: str
    other: bool
    points: _containers.RepeatedCompositeFieldContainer[ActiveInstallsPoint]
    def __init__(self, group: _Optional[str] = ..., other: _Optional[bool] = ..., points: _Optional[_Iterable[_Union[ActiveInstallsPoint, _Mapping]]] = ...) -> None: ...

class ActiveInstallsPoint(_message.Message):
    __slots__ = ("start_time", "active_installs", "suppressed")
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_INSTALLS_FIELD_NUMBER: _ClassVar[int]
    SUPPRESSED_FIELD_NUMBER: _ClassVar[int]
    start_time: _timestamp_pb2.Timestamp
    active_installs: int
    suppressed: bool
    def __init__(self, start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., active_installs: _Optional[int] = ..., suppressed: _Optional[bool] = ...) -> None: ...

class EventTotal(_message.Message):
    __slots__ = ("event", "event_count", "install_count", "suppressed")
    EVENT_FIELD_NUMBER: _ClassVar[int]
    EVENT_COUNT_FIELD_NUMBER: _ClassVar[int]
    INSTALL_COUNT_FIELD_NUMBER: _ClassVar[int]
    SUPPRESSED_FIELD_NUMBER: _ClassVar[int]
    event: str
    event_count: int
    install_count: int
    suppressed: bool
    def __init__(self, event: _Optional[str] = ..., event_count: _Optional[int] = ..., install_count: _Optional[int] = ..., suppressed: _Optional[bool] = ...) -> None: ...

class DroppedEventCount(_message.Message):
    __slots__ = ("reason", "event", "count")
    REASON_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    reason: RejectionReason
    event: str
    count: int
    def __init__(self, reason: _Optional[_Union[RejectionReason, str]] = ..., event: _Optional[str] = ..., count: _Optional[int] = ...) -> None: ...

class ExtensionStats(_message.Message):
    __slots__ = ("name", "start_time", "end_time", "totals", "points", "versions", "suppression_applied", "suppression_threshold", "data_through_time")
    NAME_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    TOTALS_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    VERSIONS_FIELD_NUMBER: _ClassVar[int]
    SUPPRESSION_APPLIED_FIELD_NUMBER: _ClassVar[int]
    SUPPRESSION_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    DATA_THROUGH_TIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    totals: ExtensionStatsTotals
    points: _containers.RepeatedCompositeFieldContainer[ExtensionStatsPoint]
    versions: _containers.RepeatedCompositeFieldContainer[VersionStats]
    suppression_applied: bool
    suppression_threshold: int
    data_through_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., totals: _Optional[_Union[ExtensionStatsTotals, _Mapping]] = ..., points: _Optional[_Iterable[_Union[ExtensionStatsPoint, _Mapping]]] = ..., versions: _Optional[_Iterable[_Union[VersionStats, _Mapping]]] = ..., suppression_applied: _Optional[bool] = ..., suppression_threshold: _Optional[int] = ..., data_through_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class VersionStats(_message.Message):
    __slots__ = ("version", "totals", "points")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    TOTALS_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    version: str
    totals: ExtensionStatsTotals
    points: _containers.RepeatedCompositeFieldContainer[ExtensionStatsPoint]
    def __init__(self, version: _Optional[str] = ..., totals: _Optional[_Union[ExtensionStatsTotals, _Mapping]] = ..., points: _Optional[_Iterable[_Union[ExtensionStatsPoint, _Mapping]]] = ...) -> None: ...

class ExtensionStatsTotals(_message.Message):
    __slots__ = ("downloads", "installs", "uninstalls", "active_installs", "suppressed")
    DOWNLOADS_FIELD_NUMBER: _ClassVar[int]
    INSTALLS_FIELD_NUMBER: _ClassVar[int]
    UNINSTALLS_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_INSTALLS_FIELD_NUMBER: _ClassVar[int]
    SUPPRESSED_FIELD_NUMBER: _ClassVar[int]
    downloads: int
    installs: int
    uninstalls: int
    active_installs: int
    suppressed: bool
    def __init__(self, downloads: _Optional[int] = ..., installs: _Optional[int] = ..., uninstalls: _Optional[int] = ..., active_installs: _Optional[int] = ..., suppressed: _Optional[bool] = ...) -> None: ...

class ExtensionStatsPoint(_message.Message):
    __slots__ = ("start_time", "downloads", "installs", "uninstalls", "active_installs", "suppressed")
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    DOWNLOADS_FIELD_NUMBER: _ClassVar[int]
    INSTALLS_FIELD_NUMBER: _ClassVar[int]
    UNINSTALLS_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_INSTALLS_FIELD_NUMBER: _ClassVar[int]
    SUPPRESSED_FIELD_NUMBER: _ClassVar[int]
    start_time: _timestamp_pb2.Timestamp
    downloads: int
    installs: int
    uninstalls: int
    active_installs: int
    suppressed: bool
    def __init__(self, start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., downloads: _Optional[int] = ..., installs: _Optional[int] = ..., uninstalls: _Optional[int] = ..., active_installs: _Optional[int] = ..., suppressed: _Optional[bool] = ...) -> None: ...
