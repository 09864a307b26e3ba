"""The analytics domain's values. Plain dataclasses: no protobuf, no SQL."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any


class Reason(enum.StrEnum):
    """Why an event was rejected or dropped; names match `RejectionReason` without its prefix."""

    INVALID_EVENT_ID = "INVALID_EVENT_ID"
    UNKNOWN_EVENT = "UNKNOWN_EVENT"
    UNKNOWN_PROPERTY = "UNKNOWN_PROPERTY"
    MISSING_PROPERTY = "MISSING_PROPERTY"
    INVALID_PROPERTY_TYPE = "INVALID_PROPERTY_TYPE"
    INVALID_PROPERTY_VALUE = "INVALID_PROPERTY_VALUE"
    PROPERTY_TOO_LONG = "PROPERTY_TOO_LONG"
    INVALID_INSTALL_ID = "INVALID_INSTALL_ID"
    INVALID_SESSION_ID = "INVALID_SESSION_ID"
    INVALID_EDITOR_VERSION = "INVALID_EDITOR_VERSION"
    INVALID_PLATFORM = "INVALID_PLATFORM"
    MISSING_TIMESTAMP = "MISSING_TIMESTAMP"
    TIMESTAMP_TOO_OLD = "TIMESTAMP_TOO_OLD"
    TIMESTAMP_IN_FUTURE = "TIMESTAMP_IN_FUTURE"
    EVENT_TOO_LARGE = "EVENT_TOO_LARGE"
    RATE_LIMITED = "RATE_LIMITED"
    BATCH_TOO_LARGE = "BATCH_TOO_LARGE"
    INVALID_TIMESTAMP = "INVALID_TIMESTAMP"


class PropertyType(enum.StrEnum):
    STRING = "STRING"
    ENUM = "ENUM"
    INT = "INT"
    DOUBLE = "DOUBLE"
    BOOL = "BOOL"
    VERSION = "VERSION"
    EXTENSION_ID = "EXTENSION_ID"


@dataclass(frozen=True)
class PropertyDefinition:
    name: str
    type: PropertyType
    description: str
    required: bool = False
    max_length: int = 0
    pattern: str = ""
    allowed_values: tuple[str, ...] = ()
    min_value: float | None = None
    max_value: float | None = None
    since_version: int = 1


@dataclass(frozen=True)
class EventDefinition:
    name: str
    description: str
    properties: tuple[PropertyDefinition, ...]
    since_version: int = 1
    deprecated: bool = False

    def property(self, name: str) -> PropertyDefinition | None:
        for prop in self.properties:
            if prop.name == name:
                return prop
        return None


@dataclass(frozen=True)
class DimensionDefinition:
    name: str
    source: str
    description: str
    allowed_values: tuple[str, ...] = ()


@dataclass(frozen=True)
class IngestLimits:
    max_batch_events: int = 500
    max_batch_bytes: int = 1024 * 1024
    max_event_bytes: int = 8 * 1024
    max_stream_events: int = 50_000
    max_event_age: timedelta = timedelta(days=30)
    max_clock_skew: timedelta = timedelta(hours=1)


@dataclass(frozen=True)
class PrivacyPolicy:
    raw_event_retention: timedelta
    dedupe_window: timedelta
    suppression_threshold: int
    stored_fields: tuple[str, ...]


@dataclass(frozen=True)
class EventSchema:
    version: int
    create_time: datetime
    etag: str
    events: tuple[EventDefinition, ...]
    dimensions: tuple[DimensionDefinition, ...]
    limits: IngestLimits
    privacy: PrivacyPolicy

    def event(self, name: str) -> EventDefinition | None:
        for definition in self.events:
            if definition.name == name:
                return definition
        return None

    def dimension(self, name: str) -> DimensionDefinition | None:
        for dimension in self.dimensions:
            if dimension.name == name:
                return dimension
        return None


class ValueKind(enum.StrEnum):
    NULL = "null"
    NUMBER = "number"
    STRING = "string"
    BOOL = "bool"
    STRUCT = "struct"
    LIST = "list"
    MISSING = "missing"


# The per-event values below are built hundreds of times per batch: slots, not frozen (a frozen
# dataclass's __init__ sets each field through object.__setattr__: ~6× slower). Treat them as
# immutable all the same.


@dataclass(slots=True)
class PropertyValue:
    """A property as received: its JSON kind and, for scalars, its value."""

    kind: ValueKind
    value: Any = None


@dataclass(slots=True)
class IncomingEvent:
    """An event as received, before validation. Strings are as sent (never echoed back)."""

    event_id: str
    name: str
    client_time: datetime | None
    install_id: str
    session_id: str
    editor_version: str
    platform: str
    properties: Mapping[str, PropertyValue]
    encoded_size: int
    # Sent, but not a valid Timestamp (outside 0001-9999 or nanos outside a second):
    # `client_time` is then None and the event is refused with INVALID_TIMESTAMP.
    client_time_invalid: bool = False


@dataclass(slots=True)
class EncodedBatch:
    """A batch whose every event is valid, already in the parameters the repository stores it
    with (see `StoredEvent`, `ports.BatchEncoder`): the fast path of BatchIngestEvents."""

    staged: tuple[bytes, ...]  # the binary parameters of `db.staging.stage`
    count: int
    encoded_size: int
    installs: dict[str, int]  # events per install id, for the rate limits
    first_event_time: datetime
    last_event_time: datetime


@dataclass(slots=True)
class StoredEvent:
    """Exactly what is persisted of an event; see `STORED_FIELDS`."""

    event_id: str  # canonical lowercase UUID text (validated)
    name: str
    event_time: datetime
    receive_time: datetime
    install_id: str  # canonical lowercase UUID text
    session_id: str  # canonical lowercase UUID text
    editor_version: str
    platform: str
    properties: Mapping[str, Any]
    schema_version: int


# The columns of the raw event table, exactly (AN-3 asserts the table matches this list).
STORED_FIELDS: tuple[str, ...] = (
    "event_id",
    "name",
    "event_time",
    "receive_time",
    "install_id",
    "session_id",
    "editor_version",
    "platform",
    "properties",
    "schema_version",
)


@dataclass(slots=True)
class Rejection:
    index: int
    event_id: str
    reason: Reason
    field: str
    description: str
    event: str = ""  # the event name when it is in the schema (for the dropped counters)


@dataclass
class IngestOutcome:
    accepted: int = 0
    duplicates: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    schema_version: int = 0

    def add(self, other: IngestOutcome) -> None:
        self.accepted += other.accepted
        self.duplicates += other.duplicates
        self.rejected.extend(other.rejected)
        self.schema_version = other.schema_version or self.schema_version


@dataclass(frozen=True)
class StoreResult:
    accepted: int
    duplicates: int


@dataclass(frozen=True)
class DownloadCount:
    outbox_id: int
    namespace: str
    extension: str
    version: str
    target_platform: str
    day: datetime
    downloads: int


class Interval(enum.StrEnum):
    HOUR = "hour"
    DAY = "day"


class Period(enum.StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


@dataclass(frozen=True)
class Filters:
    """dimension → allowed values (OR within a dimension, AND across dimensions)."""

    values: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class BucketFigure:
    bucket: datetime
    group: str
    events: int
    installs: int


@dataclass(frozen=True)
class GroupTotal:
    group: str
    events: int
    installs: int


@dataclass(frozen=True)
class SeriesPoint:
    start: datetime
    events: int
    installs: int
    suppressed: bool


@dataclass(frozen=True)
class Series:
    group: str
    other: bool
    points: Sequence[SeriesPoint]


@dataclass(frozen=True)
class TimeSeriesResult:
    event: str
    interval: Interval
    start: datetime
    end: datetime
    group_by: str
    series: Sequence[Series]
    threshold: int
    data_through: datetime


@dataclass(frozen=True)
class ActiveInstallsResult:
    period: Period
    start: datetime
    end: datetime
    group_by: str
    series: Sequence[Series]
    threshold: int
    data_through: datetime


@dataclass(frozen=True)
class EventTotal:
    event: str
    events: int
    installs: int
    suppressed: bool


@dataclass(frozen=True)
class TopEventsResult:
    events: Sequence[EventTotal]
    start: datetime
    end: datetime
    threshold: int
    data_through: datetime


@dataclass(frozen=True)
class DroppedCount:
    reason: Reason
    event: str
    count: int


@dataclass(frozen=True)
class DroppedResult:
    counts: Sequence[DroppedCount]
    dropped_total: int
    accepted_total: int
    duplicate_total: int
    start: datetime
    end: datetime


@dataclass(frozen=True)
class ExtensionDay:
    """Figures of one day (None: the whole range) and one version (None: all versions)."""

    day: datetime | None
    version: str | None
    downloads: int
    installs: int
    uninstalls: int
    active_installs: int
    distinct_installs: int  # distinct installs behind the install figures, for suppression


@dataclass(frozen=True)
class ExtensionFigures:
    downloads: int
    installs: int
    uninstalls: int
    active_installs: int
    suppressed: bool


@dataclass(frozen=True)
class ExtensionPoint:
    day: datetime
    figures: ExtensionFigures


@dataclass(frozen=True)
class VersionFigures:
    version: str
    totals: ExtensionFigures
    points: Sequence[ExtensionPoint]


@dataclass(frozen=True)
class ExtensionStatsResult:
    namespace: str
    extension: str
    start: datetime
    end: datetime
    totals: ExtensionFigures
    points: Sequence[ExtensionPoint]
    versions: Sequence[VersionFigures]
    suppression_applied: bool
    threshold: int
    data_through: datetime
