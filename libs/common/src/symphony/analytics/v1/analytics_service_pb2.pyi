import datetime

from google.api import annotations_pb2 as _annotations_pb2
from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from symphony.analytics.v1 import resources_pb2 as _resources_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GetEventSchemaRequest(_message.Message):
    __slots__ = ("version",)
    VERSION_FIELD_NUMBER: _ClassVar[int]
    version: int
    def __init__(self, version: _Optional[int] = ...) -> None: ...

class BatchIngestEventsRequest(_message.Message):
    __slots__ = ("events", "sent_time")
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    SENT_TIME_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[_resources_pb2.Event]
    sent_time: _timestamp_pb2.Timestamp
    def __init__(self, events: _Optional[_Iterable[_Union[_resources_pb2.Event, _Mapping]]] = ..., sent_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class BatchIngestEventsResponse(_message.Message):
    __slots__ = ("accepted_count", "duplicate_count", "rejected_count", "rejected_events", "schema_version")
    ACCEPTED_COUNT_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_COUNT_FIELD_NUMBER: _ClassVar[int]
    REJECTED_COUNT_FIELD_NUMBER: _ClassVar[int]
    REJECTED_EVENTS_FIELD_NUMBER: _ClassVar[int]
    SCHEMA_VERSION_FIELD_NUMBER: _ClassVar[int]
    accepted_count: int
    duplicate_count: int
    rejected_count: int
    rejected_events: _containers.RepeatedCompositeFieldContainer[_resources_pb2.RejectedEvent]
    schema_version: int
    def __init__(self, accepted_count: _Optional[int] = ..., duplicate_count: _Optional[int] = ..., rejected_count: _Optional[int] = ..., rejected_events: _Optional[_Iterable[_Union[_resources_pb2.RejectedEvent, _Mapping]]] = ..., schema_version: _Optional[int] = ...) -> None: ...

class StreamIngestEventsRequest(_message.Message):
    __slots__ = ("events", "sent_time")
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    SENT_TIME_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[_resources_pb2.Event]
    sent_time: _timestamp_pb2.Timestamp
    def __init__(self, events: _Optional[_Iterable[_Union[_resources_pb2.Event, _Mapping]]] = ..., sent_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class StreamIngestEventsResponse(_message.Message):
    __slots__ = ("accepted_count", "duplicate_count", "rejected_count", "rejected_events", "schema_version")
    ACCEPTED_COUNT_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_COUNT_FIELD_NUMBER: _ClassVar[int]
    REJECTED_COUNT_FIELD_NUMBER: _ClassVar[int]
    REJECTED_EVENTS_FIELD_NUMBER: _ClassVar[int]
    SCHEMA_VERSION_FIELD_NUMBER: _ClassVar[int]
    accepted_count: int
    duplicate_count: int
    rejected_count: int
    rejected_events: _containers.RepeatedCompositeFieldContainer[_resources_pb2.RejectedEvent]
    schema_version: int
    def __init__(self, accepted_count: _Optional[int] = ..., duplicate_count: _Optional[int] = ..., rejected_count: _Optional[int] = ..., rejected_events: _Optional[_Iterable[_Union[_resources_pb2.RejectedEvent, _Mapping]]] = ..., schema_version: _Optional[int] = ...) -> None: ...

class QueryTimeSeriesRequest(_message.Message):
    __slots__ = ("event", "interval", "start_time", "end_time", "group_by", "filters", "group_limit")
    EVENT_FIELD_NUMBER: _ClassVar[int]
    INTERVAL_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    GROUP_BY_FIELD_NUMBER: _ClassVar[int]
    FILTERS_FIELD_NUMBER: _ClassVar[int]
    GROUP_LIMIT_FIELD_NUMBER: _ClassVar[int]
    event: str
    interval: _resources_pb2.Interval
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    group_by: str
    filters: _containers.RepeatedScalarFieldContainer[str]
    group_limit: int
    def __init__(self, event: _Optional[str] = ..., interval: _Optional[_Union[_resources_pb2.Interval, str]] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., group_by: _Optional[str] = ..., filters: _Optional[_Iterable[str]] = ..., group_limit: _Optional[int] = ...) -> None: ...

class QueryTimeSeriesResponse(_message.Message):
    __slots__ = ("event", "interval", "start_time", "end_time", "group_by", "series", "suppression_threshold", "data_through_time")
    EVENT_FIELD_NUMBER: _ClassVar[int]
    INTERVAL_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    GROUP_BY_FIELD_NUMBER: _ClassVar[int]
    SERIES_FIELD_NUMBER: _ClassVar[int]
    SUPPRESSION_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    DATA_THROUGH_TIME_FIELD_NUMBER: _ClassVar[int]
    event: str
    interval: _resources_pb2.Interval
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    group_by: str
    series: _containers.RepeatedCompositeFieldContainer[_resources_pb2.TimeSeries]
    suppression_threshold: int
    data_through_time: _timestamp_pb2.Timestamp
    def __init__(self, event: _Optional[str] = ..., interval: _Optional[_Union[_resources_pb2.Interval, str]] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., group_by: _Optional[str] = ..., series: _Optional[_Iterable[_Union[_resources_pb2.TimeSeries, _Mapping]]] = ..., suppression_threshold: _Optional[int] = ..., data_through_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class QueryActiveInstallsRequest(_message.Message):
    __slots__ = ("period", "start_time", "end_time", "group_by", "filters", "group_limit")
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    GROUP_BY_FIELD_NUMBER: _ClassVar[int]
    FILTERS_FIELD_NUMBER: _ClassVar[int]
    GROUP_LIMIT_FIELD_NUMBER: _ClassVar[int]
    period: _resources_pb2.ActivityPeriod
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    group_by: str
    filters: _containers.RepeatedScalarFieldContainer[str]
    group_limit: int
    def __init__(self, period: _Optional[_Union[_resources_pb2.ActivityPeriod, str]] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., group_by: _Optional[str] = ..., filters: _Optional[_Iterable[str]] = ..., group_limit: _Optional[int] = ...) -> None: ...

class QueryActiveInstallsResponse(_message.Message):
    __slots__ = ("period", "start_time", "end_time", "group_by", "series", "suppression_threshold", "data_through_time")
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    GROUP_BY_FIELD_NUMBER: _ClassVar[int]
    SERIES_FIELD_NUMBER: _ClassVar[int]
    SUPPRESSION_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    DATA_THROUGH_TIME_FIELD_NUMBER: _ClassVar[int]
    period: _resources_pb2.ActivityPeriod
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    group_by: str
    series: _containers.RepeatedCompositeFieldContainer[_resources_pb2.ActiveInstallsSeries]
    suppression_threshold: int
    data_through_time: _timestamp_pb2.Timestamp
    def __init__(self, period: _Optional[_Union[_resources_pb2.ActivityPeriod, str]] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., group_by: _Optional[str] = ..., series: _Optional[_Iterable[_Union[_resources_pb2.ActiveInstallsSeries, _Mapping]]] = ..., suppression_threshold: _Optional[int] = ..., data_through_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class QueryTopEventsRequest(_message.Message):
    __slots__ = ("start_time", "end_time", "filters", "limit")
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    FILTERS_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    filters: _containers.RepeatedScalarFieldContainer[str]
    limit: int
    def __init__(self, start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., filters: _Optional[_Iterable[str]] = ..., limit: _Optional[int] = ...) -> None: ...

class QueryTopEventsResponse(_message.Message):
    __slots__ = ("events", "start_time", "end_time", "suppression_threshold", "data_through_time")
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    SUPPRESSION_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    DATA_THROUGH_TIME_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[_resources_pb2.EventTotal]
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    suppression_threshold: int
    data_through_time: _timestamp_pb2.Timestamp
    def __init__(self, events: _Optional[_Iterable[_Union[_resources_pb2.EventTotal, _Mapping]]] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., suppression_threshold: _Optional[int] = ..., data_through_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class QueryDroppedEventsRequest(_message.Message):
    __slots__ = ("start_time", "end_time")
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    def __init__(self, start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class QueryDroppedEventsResponse(_message.Message):
    __slots__ = ("counts", "dropped_total", "accepted_total", "duplicate_total", "start_time", "end_time")
    COUNTS_FIELD_NUMBER: _ClassVar[int]
    DROPPED_TOTAL_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_TOTAL_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_TOTAL_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    counts: _containers.RepeatedCompositeFieldContainer[_resources_pb2.DroppedEventCount]
    dropped_total: int
    accepted_total: int
    duplicate_total: int
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    def __init__(self, counts: _Optional[_Iterable[_Union[_resources_pb2.DroppedEventCount, _Mapping]]] = ..., dropped_total: _Optional[int] = ..., accepted_total: _Optional[int] = ..., duplicate_total: _Optional[int] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetExtensionStatsRequest(_message.Message):
    __slots__ = ("namespace", "extension", "version", "start_time", "end_time")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    EXTENSION_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    extension: str
    version: str
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    def __init__(self, namespace: _Optional[str] = ..., extension: _Optional[str] = ..., version: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
