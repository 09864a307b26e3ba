"""The versioned event schema: loaded from the JSON files in `symphony_analytics/schema/`
(one complete catalogue per version, `v<N>.json`), and the per-event validation against it."""

from __future__ import annotations

import functools
import hashlib
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from symphony_analytics.domain.models import (
    STORED_FIELDS,
    DimensionDefinition,
    EventDefinition,
    EventSchema,
    IncomingEvent,
    IngestLimits,
    PrivacyPolicy,
    PropertyDefinition,
    PropertyType,
    PropertyValue,
    Reason,
    Rejection,
    StoredEvent,
    ValueKind,
)

NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
# SemVer 2.0 (semver.org's recommended expression).
SEMVER = re.compile(
    r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?"
)
EXTENSION_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,63}\.[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
MAX_EDITOR_VERSION = 64
MAX_SAFE_INT = 2**53

PLATFORMS: tuple[str, ...] = (
    "universal",
    "web",
    "win32-x64",
    "win32-ia32",
    "win32-arm64",
    "linux-x64",
    "linux-arm64",
    "linux-armhf",
    "alpine-x64",
    "alpine-arm64",
    "darwin-x64",
    "darwin-arm64",
)

DIMENSIONS: tuple[DimensionDefinition, ...] = (
    DimensionDefinition("editor_version", "editor_version", "The editor's version (SemVer)."),
    DimensionDefinition(
        "extension",
        "properties.extension",
        "The extension an event is about, `namespace.extension` (lowercase).",
    ),
    DimensionDefinition("platform", "platform", "The editor's platform.", PLATFORMS),
)

# Properties the rollups keep as dimensions (as text: db/staging.py), and their one type.
DIMENSION_PROPERTIES = {
    "extension": PropertyType.EXTENSION_ID,
    "extension_version": PropertyType.VERSION,
}

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schema"


class SchemaCatalogue:
    """Every published version; `current` is the newest, and ingest checks against it."""

    def __init__(self, versions: Mapping[int, EventSchema]) -> None:
        if not versions:
            raise ValueError("the event schema catalogue is empty")
        self.versions = dict(versions)
        self.current = self.versions[max(self.versions)]

    def get(self, version: int) -> EventSchema | None:
        return self.current if version == 0 else self.versions.get(version)


def load_catalogue(
    directory: Path = SCHEMA_DIR,
    *,
    limits: IngestLimits | None = None,
    retention: timedelta = timedelta(days=90),
    dedupe_window: timedelta = timedelta(days=30),
    threshold: int = 5,
) -> SchemaCatalogue:
    limits = limits or IngestLimits()
    privacy = PrivacyPolicy(retention, dedupe_window, threshold, STORED_FIELDS)
    versions: dict[int, EventSchema] = {}
    for path in sorted(directory.glob("v*.json")):
        raw = path.read_bytes()
        document = json.loads(raw)
        schema = _parse(document, raw, limits, privacy)
        if path.stem != f"v{schema.version}":
            raise ValueError(f"{path.name} declares version {schema.version}")
        versions[schema.version] = schema
    return SchemaCatalogue(versions)


def _parse(
    document: dict[str, Any], raw: bytes, limits: IngestLimits, privacy: PrivacyPolicy
) -> EventSchema:
    version = int(document["version"])
    events = []
    for event in document["events"]:
        if not NAME.fullmatch(event["name"]):
            raise ValueError(f"bad event name {event['name']!r}")
        props = []
        for prop in event.get("properties", []):
            if not NAME.fullmatch(prop["name"]):
                raise ValueError(f"bad property name {prop['name']!r}")
            kind = PropertyType(prop["type"])
            if kind == PropertyType.STRING and not (prop.get("pattern") and prop.get("max_length")):
                raise ValueError(f"string property {prop['name']} needs a pattern and a max_length")
            if DIMENSION_PROPERTIES.get(prop["name"], kind) != kind:
                raise ValueError(
                    f"property {prop['name']} is a rollup dimension: its type is"
                    f" {DIMENSION_PROPERTIES[prop['name']]}"
                )
            props.append(
                PropertyDefinition(
                    name=prop["name"],
                    type=kind,
                    description=prop.get("description", ""),
                    required=bool(prop.get("required", False)),
                    max_length=int(prop.get("max_length", 0)),
                    pattern=prop.get("pattern", ""),
                    allowed_values=tuple(prop.get("allowed_values", ())),
                    min_value=prop.get("min_value"),
                    max_value=prop.get("max_value"),
                    since_version=int(prop.get("since_version", 1)),
                )
            )
        events.append(
            EventDefinition(
                name=event["name"],
                description=event.get("description", ""),
                properties=tuple(sorted(props, key=lambda p: p.name)),
                since_version=int(event.get("since_version", 1)),
                deprecated=bool(event.get("deprecated", False)),
            )
        )
    digest = hashlib.sha256(raw)
    digest.update(repr((limits, privacy)).encode())
    return EventSchema(
        version=version,
        create_time=datetime.fromisoformat(document["create_time"].replace("Z", "+00:00")),
        etag=f'"{digest.hexdigest()[:32]}"',
        events=tuple(sorted(events, key=lambda e: e.name)),
        dimensions=DIMENSIONS,
        limits=limits,
        privacy=privacy,
    )


# Only the canonical lowercase form is accepted (so one event has one id): exactly the strings
# for which `str(uuid.UUID(s)) == s`, checked without building a UUID.
CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_is_uuid = CANONICAL_UUID.fullmatch


@functools.lru_cache(maxsize=4096)
def _known_uuid(value: str) -> bool:
    """For install and session ids, which repeat across a batch (one editor sends it)."""
    return _is_uuid(value) is not None


class _Reject(Exception):
    def __init__(self, reason: Reason, field: str, description: str) -> None:
        super().__init__(description)
        self.reason = reason
        self.field = field
        self.description = description


_Checker = Callable[[PropertyValue], Any]
_SCALAR_KINDS = frozenset((ValueKind.NUMBER, ValueKind.STRING, ValueKind.BOOL))


def _checker(prop: PropertyDefinition) -> _Checker:
    """The check of one declared property, built once per schema: the value as stored, or
    `_Reject`."""
    path = f"properties.{prop.name}"
    kind = prop.type

    def scalar(value: PropertyValue, expected: ValueKind, description: str) -> Any:
        if value.kind not in _SCALAR_KINDS:
            raise _Reject(
                Reason.INVALID_PROPERTY_TYPE, path, "only scalar property values are accepted"
            )
        if value.kind != expected:
            raise _Reject(Reason.INVALID_PROPERTY_TYPE, path, description)
        return value.value

    if kind == PropertyType.BOOL:
        return lambda value: bool(scalar(value, ValueKind.BOOL, "must be true or false"))

    if kind in (PropertyType.INT, PropertyType.DOUBLE):
        integer = kind == PropertyType.INT
        low, high = prop.min_value, prop.max_value

        def number(value: PropertyValue) -> Any:
            n = float(scalar(value, ValueKind.NUMBER, "must be a number"))
            if not math.isfinite(n):
                raise _Reject(Reason.INVALID_PROPERTY_VALUE, path, "must be a finite number")
            if integer and (n != math.floor(n) or abs(n) > MAX_SAFE_INT):
                raise _Reject(Reason.INVALID_PROPERTY_TYPE, path, "must be an integer within ±2^53")
            if (low is not None and n < low) or (high is not None and n > high):
                raise _Reject(Reason.INVALID_PROPERTY_VALUE, path, "is out of the allowed range")
            return int(n) if integer else n

        return number

    if kind == PropertyType.ENUM:
        allowed = frozenset(prop.allowed_values)

        def enum(value: PropertyValue) -> Any:
            text = str(scalar(value, ValueKind.STRING, "must be a string"))
            if text not in allowed:
                raise _Reject(
                    Reason.INVALID_PROPERTY_VALUE, path, "is not one of the allowed values"
                )
            return text

        return enum

    max_length = prop.max_length
    if kind == PropertyType.STRING:
        matches, problem = re.compile(prop.pattern).fullmatch, "does not match the schema's pattern"
    elif kind == PropertyType.VERSION:
        matches, problem = SEMVER.fullmatch, "must be a SemVer version"
    else:
        matches, problem = EXTENSION_ID.fullmatch, "must be an extension id `namespace.extension`"
    lower = kind == PropertyType.EXTENSION_ID  # extension ids compare case-insensitively

    def string(value: PropertyValue) -> Any:
        text = str(scalar(value, ValueKind.STRING, "must be a string"))
        if max_length and len(text) > max_length:
            raise _Reject(Reason.PROPERTY_TOO_LONG, path, "is longer than the schema allows")
        if not matches(text):
            raise _Reject(Reason.INVALID_PROPERTY_VALUE, path, problem)
        return text.lower() if lower else text

    return string


@dataclass(frozen=True)
class _CompiledEvent:
    definition: EventDefinition
    checks: dict[str, _Checker]
    required: tuple[str, ...]


_COMPILED: dict[int, tuple[EventSchema, dict[str, _CompiledEvent]]] = {}


def _compiled(schema: EventSchema) -> dict[str, _CompiledEvent]:
    """Per-schema lookup tables (event by name, property check by name, required names), built
    once."""
    entry = _COMPILED.get(id(schema))
    if entry is None or entry[0] is not schema:
        table = {
            e.name: _CompiledEvent(
                e,
                {p.name: _checker(p) for p in e.properties},
                tuple(p.name for p in e.properties if p.required),
            )
            for e in schema.events
        }
        entry = _COMPILED[id(schema)] = (schema, table)
    return entry[1]


class EventValidator:
    """Validates the events of one message against `schema`; what is the same for all of them
    (the schema's tables, the accepted event-time window) is worked out once."""

    __slots__ = ("events", "max_event_bytes", "newest", "oldest", "receive_time", "skew", "version")

    def __init__(self, schema: EventSchema, receive_time: datetime, skew: timedelta) -> None:
        limits = schema.limits
        self.events = _compiled(schema)
        self.version = schema.version
        self.max_event_bytes = limits.max_event_bytes
        self.receive_time = receive_time
        self.skew = skew
        self.oldest = receive_time - limits.max_event_age
        self.newest = receive_time + limits.max_clock_skew

    def __call__(self, event: IncomingEvent, index: int) -> StoredEvent | Rejection:
        """The event as it will be stored, or the first problem found (in proto order)."""
        event_id = event.event_id
        valid_id = _is_uuid(event_id) is not None
        compiled = self.events.get(event.name) if event.name else None
        try:
            if event.encoded_size > self.max_event_bytes:
                raise _Reject(
                    Reason.EVENT_TOO_LARGE, "", "the event is larger than max_event_bytes"
                )
            if not valid_id:
                raise _Reject(
                    Reason.INVALID_EVENT_ID,
                    "event_id",
                    "must be a UUID in canonical lowercase form",
                )
            if compiled is None:
                raise _Reject(Reason.UNKNOWN_EVENT, "name", "is not an event of the schema")
            if event.client_time is None:
                if event.client_time_invalid:
                    raise _Reject(
                        Reason.INVALID_TIMESTAMP,
                        "client_time",
                        "is not a valid timestamp (years 0001-9999)",
                    )
                raise _Reject(Reason.MISSING_TIMESTAMP, "client_time", "is required")
            event_time = _shifted(event.client_time, self.skew)
            if event_time < self.oldest:
                raise _Reject(
                    Reason.TIMESTAMP_TOO_OLD, "client_time", "is older than max_event_age"
                )
            if event_time > self.newest:
                raise _Reject(
                    Reason.TIMESTAMP_IN_FUTURE,
                    "client_time",
                    "is further ahead than max_clock_skew",
                )
            if not _known_uuid(event.install_id):
                raise _Reject(
                    Reason.INVALID_INSTALL_ID,
                    "install_id",
                    "must be a UUID in canonical lowercase form",
                )
            if not _known_uuid(event.session_id):
                raise _Reject(
                    Reason.INVALID_SESSION_ID,
                    "session_id",
                    "must be a UUID in canonical lowercase form",
                )
            if not editor_version_ok(event.editor_version):
                raise _Reject(
                    Reason.INVALID_EDITOR_VERSION,
                    "editor_version",
                    "must be a SemVer version of at most 64 characters",
                )
            if event.platform not in PLATFORMS:
                raise _Reject(Reason.INVALID_PLATFORM, "platform", "is not an allowed platform")
            properties: dict[str, Any] = {}
            sent = event.properties
            if sent:
                checks = compiled.checks
                for name in sorted(sent):
                    check = checks.get(name)
                    if check is None:
                        raise _Reject(
                            Reason.UNKNOWN_PROPERTY,
                            "properties",
                            "a property is not declared for this event",
                        )
                    properties[name] = check(sent[name])
            for required in compiled.required:
                if required not in properties:
                    raise _Reject(Reason.MISSING_PROPERTY, f"properties.{required}", "is required")
        except _Reject as problem:
            return Rejection(
                index=index,
                event_id=event_id if valid_id else "",
                reason=problem.reason,
                field=problem.field,
                description=problem.description,
                event=compiled.definition.name if compiled else "",
            )
        return StoredEvent(
            event_id,
            compiled.definition.name,
            event_time,
            self.receive_time,
            event.install_id,
            event.session_id,
            event.editor_version,
            event.platform,
            properties,
            self.version,
        )


def _shifted(moment: datetime, skew: timedelta) -> datetime:
    """`moment + skew`, clamped to datetime's range: a wild `sent_time` must give a wild time
    (refused as too old or in the future), not an OverflowError."""
    try:
        return moment + skew
    except OverflowError:
        return (datetime.min if skew < timedelta(0) else datetime.max).replace(tzinfo=moment.tzinfo)


def validate_event(
    schema: EventSchema,
    event: IncomingEvent,
    *,
    index: int,
    receive_time: datetime,
    skew: timedelta,
) -> StoredEvent | Rejection:
    """One event on its own (see `EventValidator`)."""
    return EventValidator(schema, receive_time, skew)(event, index)


@functools.lru_cache(maxsize=1024)
def editor_version_ok(value: str) -> bool:
    """Editor versions repeat across a batch and across installs."""
    return len(value) <= MAX_EDITOR_VERSION and SEMVER.fullmatch(value) is not None


def schema_names(schema: EventSchema) -> Iterable[str]:
    return (event.name for event in schema.events)
