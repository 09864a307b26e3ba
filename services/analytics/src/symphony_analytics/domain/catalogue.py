"""The versioned event schema: loaded from the JSON files in `symphony_analytics/schema/`
(one complete catalogue per version, `v<N>.json`), and the per-event validation against it."""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterable, Mapping
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


def _uuid(value: str) -> str | None:
    return value if CANONICAL_UUID.fullmatch(value) else None


@dataclass(frozen=True)
class _CompiledEvent:
    definition: EventDefinition
    properties: dict[str, PropertyDefinition]
    required: tuple[str, ...]


_COMPILED: dict[int, tuple[EventSchema, dict[str, _CompiledEvent]]] = {}


def _compiled(schema: EventSchema) -> dict[str, _CompiledEvent]:
    """Per-schema lookup tables (event by name, property by name, required names), built once."""
    entry = _COMPILED.get(id(schema))
    if entry is None or entry[0] is not schema:
        table = {
            e.name: _CompiledEvent(
                e,
                {p.name: p for p in e.properties},
                tuple(p.name for p in e.properties if p.required),
            )
            for e in schema.events
        }
        entry = _COMPILED[id(schema)] = (schema, table)
    return entry[1]


_PATTERNS: dict[str, re.Pattern[str]] = {}


def _pattern(source: str) -> re.Pattern[str]:
    compiled = _PATTERNS.get(source)
    if compiled is None:
        compiled = _PATTERNS[source] = re.compile(source)
    return compiled


class _Reject(Exception):
    def __init__(self, reason: Reason, field: str, description: str) -> None:
        super().__init__(description)
        self.reason = reason
        self.field = field
        self.description = description


def _check_property(prop: PropertyDefinition, value: PropertyValue) -> Any:
    path = f"properties.{prop.name}"
    if value.kind in (ValueKind.NULL, ValueKind.STRUCT, ValueKind.LIST, ValueKind.MISSING):
        raise _Reject(
            Reason.INVALID_PROPERTY_TYPE, path, "only scalar property values are accepted"
        )
    kind = prop.type
    if kind == PropertyType.BOOL:
        if value.kind != ValueKind.BOOL:
            raise _Reject(Reason.INVALID_PROPERTY_TYPE, path, "must be true or false")
        return bool(value.value)
    if kind in (PropertyType.INT, PropertyType.DOUBLE):
        if value.kind != ValueKind.NUMBER:
            raise _Reject(Reason.INVALID_PROPERTY_TYPE, path, "must be a number")
        number = float(value.value)
        if not math.isfinite(number):
            raise _Reject(Reason.INVALID_PROPERTY_VALUE, path, "must be a finite number")
        if kind == PropertyType.INT and (
            number != math.floor(number) or abs(number) > MAX_SAFE_INT
        ):
            raise _Reject(Reason.INVALID_PROPERTY_TYPE, path, "must be an integer within ±2^53")
        if (prop.min_value is not None and number < prop.min_value) or (
            prop.max_value is not None and number > prop.max_value
        ):
            raise _Reject(Reason.INVALID_PROPERTY_VALUE, path, "is out of the allowed range")
        return int(number) if kind == PropertyType.INT else number
    if value.kind != ValueKind.STRING:
        raise _Reject(Reason.INVALID_PROPERTY_TYPE, path, "must be a string")
    text = str(value.value)
    if kind == PropertyType.ENUM:
        if text not in prop.allowed_values:
            raise _Reject(Reason.INVALID_PROPERTY_VALUE, path, "is not one of the allowed values")
        return text
    if prop.max_length and len(text) > prop.max_length:
        raise _Reject(Reason.PROPERTY_TOO_LONG, path, "is longer than the schema allows")
    if kind == PropertyType.STRING:
        if not _pattern(prop.pattern).fullmatch(text):
            raise _Reject(
                Reason.INVALID_PROPERTY_VALUE, path, "does not match the schema's pattern"
            )
        return text
    if kind == PropertyType.VERSION:
        if not SEMVER.fullmatch(text):
            raise _Reject(Reason.INVALID_PROPERTY_VALUE, path, "must be a SemVer version")
        return text
    if not EXTENSION_ID.fullmatch(text):
        raise _Reject(
            Reason.INVALID_PROPERTY_VALUE, path, "must be an extension id `namespace.extension`"
        )
    return text.lower()  # extension ids compare case-insensitively


def validate_event(
    schema: EventSchema,
    event: IncomingEvent,
    *,
    index: int,
    receive_time: datetime,
    skew: timedelta,
) -> StoredEvent | Rejection:
    """The event as it will be stored, or the first problem found (in the order of the proto)."""
    event_id = _uuid(event.event_id)
    shown_id = event_id or ""
    compiled = _compiled(schema).get(event.name) if event.name else None
    definition = compiled.definition if compiled else None
    try:
        if event.encoded_size > schema.limits.max_event_bytes:
            raise _Reject(Reason.EVENT_TOO_LARGE, "", "the event is larger than max_event_bytes")
        if event_id is None:
            raise _Reject(
                Reason.INVALID_EVENT_ID, "event_id", "must be a UUID in canonical lowercase form"
            )
        if compiled is None or definition is None:
            raise _Reject(Reason.UNKNOWN_EVENT, "name", "is not an event of the schema")
        if event.client_time is None:
            raise _Reject(Reason.MISSING_TIMESTAMP, "client_time", "is required")
        event_time = event.client_time + skew
        if event_time < receive_time - schema.limits.max_event_age:
            raise _Reject(Reason.TIMESTAMP_TOO_OLD, "client_time", "is older than max_event_age")
        if event_time > receive_time + schema.limits.max_clock_skew:
            raise _Reject(
                Reason.TIMESTAMP_IN_FUTURE, "client_time", "is further ahead than max_clock_skew"
            )
        install_id = _uuid(event.install_id)
        if install_id is None:
            raise _Reject(
                Reason.INVALID_INSTALL_ID,
                "install_id",
                "must be a UUID in canonical lowercase form",
            )
        session_id = _uuid(event.session_id)
        if session_id is None:
            raise _Reject(
                Reason.INVALID_SESSION_ID,
                "session_id",
                "must be a UUID in canonical lowercase form",
            )
        if len(event.editor_version) > MAX_EDITOR_VERSION or not SEMVER.fullmatch(
            event.editor_version
        ):
            raise _Reject(
                Reason.INVALID_EDITOR_VERSION,
                "editor_version",
                "must be a SemVer version of at most 64 characters",
            )
        if event.platform not in PLATFORMS:
            raise _Reject(Reason.INVALID_PLATFORM, "platform", "is not an allowed platform")
        properties: dict[str, Any] = {}
        declared = compiled.properties
        for name in sorted(event.properties):
            prop = declared.get(name)
            if prop is None:
                raise _Reject(
                    Reason.UNKNOWN_PROPERTY,
                    "properties",
                    "a property is not declared for this event",
                )
            properties[name] = _check_property(prop, event.properties[name])
        for required in compiled.required:
            if required not in properties:
                raise _Reject(Reason.MISSING_PROPERTY, f"properties.{required}", "is required")
    except _Reject as problem:
        return Rejection(
            index=index,
            event_id=shown_id,
            reason=problem.reason,
            field=problem.field,
            description=problem.description,
            event=definition.name if definition else "",
        )
    return StoredEvent(
        event_id=event_id,
        name=definition.name,
        event_time=event_time,
        receive_time=receive_time,
        install_id=install_id,
        session_id=session_id,
        editor_version=event.editor_version,
        platform=event.platform,
        properties=properties,
        schema_version=schema.version,
    )


def schema_names(schema: EventSchema) -> Iterable[str]:
    return (event.name for event in schema.events)
