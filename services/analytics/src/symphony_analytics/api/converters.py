"""Proto ⇄ domain conversions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from google.protobuf import duration_pb2, struct_pb2, timestamp_pb2

from symphony.analytics.v1 import (
    analytics_internal_service_pb2 as ipb,
)
from symphony.analytics.v1 import (
    analytics_service_pb2 as spb,
)
from symphony.analytics.v1 import (
    resources_pb2 as rpb,
)
from symphony_analytics.domain.models import (
    DownloadCount,
    EventSchema,
    ExtensionFigures,
    ExtensionPoint,
    IncomingEvent,
    IngestOutcome,
    Interval,
    Period,
    PropertyValue,
    Reason,
    Series,
    ValueKind,
)
from symphony_analytics.domain.service import IngestMessage
from symphony_common.grpc import wellformed
from symphony_common.grpc.convert import proto_enum

_KINDS = {
    "null_value": ValueKind.NULL,
    "number_value": ValueKind.NUMBER,
    "string_value": ValueKind.STRING,
    "bool_value": ValueKind.BOOL,
    "struct_value": ValueKind.STRUCT,
    "list_value": ValueKind.LIST,
}


def timestamp(moment: datetime) -> timestamp_pb2.Timestamp:
    out = timestamp_pb2.Timestamp()
    out.FromDatetime(moment.astimezone(UTC))
    return out


def duration(delta) -> duration_pb2.Duration:  # type: ignore[no-untyped-def]
    out = duration_pb2.Duration()
    out.FromTimedelta(delta)
    return out


def optional_time(message, field: str) -> datetime | None:  # type: ignore[no-untyped-def]
    if not message.HasField(field):
        return None
    value = getattr(message, field)
    try:
        return value.ToDatetime(tzinfo=UTC)
    except (ValueError, OverflowError):
        # Out of the representable range: treat as absent for events, refused for ranges.
        return (
            datetime.min.replace(tzinfo=UTC)
            if value.seconds < 0
            else datetime.max.replace(tzinfo=UTC)
        )


_SCALARS = frozenset(("number_value", "string_value", "bool_value"))
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# google.protobuf.Timestamp's valid range: 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59Z.
_MIN_SECONDS, _MAX_SECONDS = -62_135_596_800, 253_402_300_799


def _event_time(value: timestamp_pb2.Timestamp) -> datetime | None:
    """`value.ToDatetime(tzinfo=UTC)` without its per-call overhead; None when the value is
    not a valid Timestamp."""
    seconds, nanos = value.seconds, value.nanos
    if _MIN_SECONDS <= seconds <= _MAX_SECONDS and 0 <= nanos < 1_000_000_000:
        return _EPOCH + timedelta(0, seconds, nanos // 1000)  # positional: 3× faster than keywords
    return None


def _property_value(value: struct_pb2.Value) -> PropertyValue:
    kind = value.WhichOneof("kind")
    if kind in _SCALARS:
        return PropertyValue(_KINDS[kind], getattr(value, kind))
    return PropertyValue(_KINDS.get(kind or "", ValueKind.MISSING))


def incoming_event(event: rpb.Event) -> IncomingEvent:
    sent = event.properties
    # keys + lookup: the map's items() view iterates in Python
    properties = {name: _property_value(sent[name]) for name in sent} if sent else {}
    sent_time = event.HasField("client_time")
    client_time = _event_time(event.client_time) if sent_time else None
    return IncomingEvent(
        event.event_id,
        event.name,
        client_time,
        event.install_id,
        event.session_id,
        event.editor_version,
        event.platform,
        properties,
        event.ByteSize(),
        sent_time and client_time is None,
    )


def ingest_message(
    request: spb.BatchIngestEventsRequest | spb.StreamIngestEventsRequest,
) -> IngestMessage:
    sent_time = None
    if request.HasField("sent_time"):
        # The batch's own time: not a valid Timestamp refuses the batch, as for other RPCs
        # (the interceptor leaves ingest's times to this module; see the service definition).
        wellformed.check_value(request.sent_time, "sent_time")
        sent_time = _event_time(request.sent_time)
    return IngestMessage(
        events=[incoming_event(e) for e in request.events],
        sent_time=sent_time,
        encoded_size=request.ByteSize(),
    )


def reason(value: Reason) -> rpb.RejectionReason:
    number = rpb.RejectionReason.Value(f"REJECTION_REASON_{value.value}")
    return proto_enum(rpb.RejectionReason, number)


def rejected_events(outcome: IngestOutcome) -> list[rpb.RejectedEvent]:
    return [
        rpb.RejectedEvent(
            index=r.index,
            event_id=r.event_id,
            reason=reason(r.reason),
            field=r.field,
            description=r.description,
        )
        for r in sorted(outcome.rejected, key=lambda r: r.index)
    ]


_PROPERTY_TYPES = {
    name: rpb.PropertyType.Value(f"PROPERTY_TYPE_{name}")
    for name in ("STRING", "ENUM", "INT", "DOUBLE", "BOOL", "VERSION", "EXTENSION_ID")
}


def event_schema(schema: EventSchema) -> rpb.EventSchema:
    events = []
    for e in schema.events:
        props = []
        for p in e.properties:
            prop = rpb.PropertyDefinition(
                name=p.name,
                type=proto_enum(rpb.PropertyType, _PROPERTY_TYPES[p.type.value]),
                description=p.description,
                required=p.required,
                max_length=p.max_length,
                pattern=p.pattern,
                allowed_values=list(p.allowed_values),
                since_version=p.since_version,
            )
            if p.min_value is not None:
                prop.min_value = p.min_value
            if p.max_value is not None:
                prop.max_value = p.max_value
            props.append(prop)
        events.append(
            rpb.EventDefinition(
                name=e.name,
                description=e.description,
                properties=props,
                since_version=e.since_version,
                deprecated=e.deprecated,
            )
        )
    limits = schema.limits
    privacy = schema.privacy
    return rpb.EventSchema(
        name="analytics/schema",
        version=schema.version,
        create_time=timestamp(schema.create_time),
        etag=schema.etag,
        events=events,
        dimensions=[
            rpb.DimensionDefinition(
                name=d.name,
                source=d.source,
                description=d.description,
                allowed_values=list(d.allowed_values),
            )
            for d in schema.dimensions
        ],
        ingest_limits=rpb.IngestLimits(
            max_batch_events=limits.max_batch_events,
            max_batch_bytes=limits.max_batch_bytes,
            max_event_bytes=limits.max_event_bytes,
            max_stream_events=limits.max_stream_events,
            max_event_age=duration(limits.max_event_age),
            max_clock_skew=duration(limits.max_clock_skew),
        ),
        privacy_policy=rpb.PrivacyPolicy(
            raw_event_retention=duration(privacy.raw_event_retention),
            dedupe_window=duration(privacy.dedupe_window),
            suppression_threshold=privacy.suppression_threshold,
            stored_fields=list(privacy.stored_fields),
        ),
    )


def interval(value: int) -> Interval:
    return Interval.HOUR if value == rpb.INTERVAL_HOUR else Interval.DAY


def interval_proto(value: Interval) -> rpb.Interval:
    return rpb.INTERVAL_HOUR if value == Interval.HOUR else rpb.INTERVAL_DAY


PERIODS: dict[int, Period] = {
    rpb.ACTIVITY_PERIOD_WEEK: Period.WEEK,
    rpb.ACTIVITY_PERIOD_MONTH: Period.MONTH,
}
PERIOD_PROTOS = {
    Period.DAY: rpb.ACTIVITY_PERIOD_DAY,
    Period.WEEK: rpb.ACTIVITY_PERIOD_WEEK,
    Period.MONTH: rpb.ACTIVITY_PERIOD_MONTH,
}


def period(value: int) -> Period:
    return PERIODS.get(value, Period.DAY)


def time_series(series: Sequence[Series]) -> list[rpb.TimeSeries]:
    return [
        rpb.TimeSeries(
            group=s.group,
            other=s.other,
            points=[
                rpb.TimeSeriesPoint(
                    start_time=timestamp(p.start),
                    event_count=p.events,
                    install_count=p.installs,
                    suppressed=p.suppressed,
                )
                for p in s.points
            ],
        )
        for s in series
    ]


def active_series(series: Sequence[Series]) -> list[rpb.ActiveInstallsSeries]:
    return [
        rpb.ActiveInstallsSeries(
            group=s.group,
            other=s.other,
            points=[
                rpb.ActiveInstallsPoint(
                    start_time=timestamp(p.start),
                    active_installs=p.installs,
                    suppressed=p.suppressed,
                )
                for p in s.points
            ],
        )
        for s in series
    ]


def _clamp32(value: int) -> int:
    return min(value, 2**31 - 1)


def totals(figures: ExtensionFigures) -> rpb.ExtensionStatsTotals:
    return rpb.ExtensionStatsTotals(
        downloads=figures.downloads,
        installs=_clamp32(figures.installs),
        uninstalls=_clamp32(figures.uninstalls),
        active_installs=_clamp32(figures.active_installs),
        suppressed=figures.suppressed,
    )


def stats_points(points: Sequence[ExtensionPoint]) -> list[rpb.ExtensionStatsPoint]:
    return [
        rpb.ExtensionStatsPoint(
            start_time=timestamp(p.day),
            downloads=p.figures.downloads,
            installs=_clamp32(p.figures.installs),
            uninstalls=_clamp32(p.figures.uninstalls),
            active_installs=_clamp32(p.figures.active_installs),
            suppressed=p.figures.suppressed,
        )
        for p in points
    ]


def download_count(row: ipb.DownloadCount) -> DownloadCount:
    day = datetime.min.replace(tzinfo=UTC)
    if row.HasField("day"):
        try:
            day = row.day.ToDatetime(tzinfo=UTC)
        except (ValueError, OverflowError):
            day = datetime.max.replace(tzinfo=UTC)  # refused as in the future
    else:
        day = datetime.max.replace(tzinfo=UTC)
    return DownloadCount(
        outbox_id=row.outbox_id,
        namespace=row.namespace,
        extension=row.extension,
        version=row.version,
        target_platform=row.target_platform,
        day=day,
        downloads=row.downloads,
    )
