"""The schema catalogue and per-event validation (pure domain, no sockets)."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta

import pytest

from symphony_analytics.domain.catalogue import SCHEMA_DIR, load_catalogue, validate_event
from symphony_analytics.domain.models import (
    IncomingEvent,
    PropertyType,
    PropertyValue,
    Reason,
    Rejection,
    StoredEvent,
    ValueKind,
)

NOW = datetime(2026, 3, 10, 12, tzinfo=UTC)
CATALOGUE = load_catalogue()
ID = "7d7f4c52-4a36-4c5e-9d8e-0f1c2b3a4d5e"


def event(name: str = "extension_installed", **props: PropertyValue) -> IncomingEvent:
    return IncomingEvent(
        event_id=ID,
        name=name,
        client_time=NOW - timedelta(minutes=1),
        install_id=ID,
        session_id=ID,
        editor_version="1.4.0-beta.2",
        platform="darwin-arm64",
        properties=props,
        encoded_size=200,
    )


def s(v: str) -> PropertyValue:
    return PropertyValue(ValueKind.STRING, v)


def check(e: IncomingEvent) -> StoredEvent | Rejection:
    return validate_event(CATALOGUE.current, e, index=0, receive_time=NOW, skew=timedelta(0))


def test_every_version_file_loads_and_versions_only_grow() -> None:
    files = sorted(SCHEMA_DIR.glob("v*.json"))
    assert [f.stem for f in files] == [f"v{v}" for v in sorted(CATALOGUE.versions)]
    for older, newer in zip(
        sorted(CATALOGUE.versions), sorted(CATALOGUE.versions)[1:], strict=False
    ):
        old_names = {e.name for e in CATALOGUE.versions[older].events}
        assert old_names <= {
            e.name for e in CATALOGUE.versions[newer].events
        }  # nothing silently removed


def test_strings_are_never_free_text() -> None:
    for schema in CATALOGUE.versions.values():
        for e in schema.events:
            for p in e.properties:
                if p.type == PropertyType.STRING:
                    assert p.pattern and " " not in p.pattern and 0 < p.max_length <= 128
                if p.type in (PropertyType.VERSION, PropertyType.EXTENSION_ID):
                    assert p.max_length > 0


def test_publisher_events_carry_an_extension() -> None:
    for name in ("extension_installed", "extension_uninstalled", "extension_active"):
        definition = CATALOGUE.current.event(name)
        assert definition is not None
        prop = definition.property("extension")
        assert prop is not None and prop.required and prop.type == PropertyType.EXTENSION_ID


def test_valid_event_is_normalised() -> None:
    stored = check(event(extension=s("Acme.Tools"), extension_version=s("1.0.0")))
    assert isinstance(stored, StoredEvent)
    assert stored.properties == {"extension": "acme.tools", "extension_version": "1.0.0"}
    assert stored.schema_version == CATALOGUE.current.version


@pytest.mark.parametrize(
    ("props", "reason"),
    [
        ({"extension": s("acme.tools")}, Reason.MISSING_PROPERTY),
        ({"extension": s("acme"), "extension_version": s("1.0.0")}, Reason.INVALID_PROPERTY_VALUE),
        (
            {"extension": s("acme.tools"), "extension_version": s("v1")},
            Reason.INVALID_PROPERTY_VALUE,
        ),
        (
            {"extension": PropertyValue(ValueKind.NUMBER, 1), "extension_version": s("1.0.0")},
            Reason.INVALID_PROPERTY_TYPE,
        ),
        (
            {"extension": s("a." + "b" * 200), "extension_version": s("1.0.0")},
            Reason.PROPERTY_TOO_LONG,
        ),
        (
            {"extension": s("a.b"), "extension_version": s("1.0.0"), "user": s("x")},
            Reason.UNKNOWN_PROPERTY,
        ),
    ],
)
def test_property_problems(props: dict[str, PropertyValue], reason: Reason) -> None:
    result = check(event(**props))
    assert isinstance(result, Rejection) and result.reason == reason
    assert result.event == "extension_installed"


def test_int_bounds_and_doubles() -> None:
    ok = check(
        event(
            "editor_started",
            startup_ms=PropertyValue(ValueKind.NUMBER, 12.5),
            window_count=PropertyValue(ValueKind.NUMBER, 3.0),
        )
    )
    assert isinstance(ok, StoredEvent) and ok.properties == {"startup_ms": 12.5, "window_count": 3}
    for value, reason in [
        (2.0**60, Reason.INVALID_PROPERTY_TYPE),
        (-1, Reason.INVALID_PROPERTY_VALUE),
        (float("nan"), Reason.INVALID_PROPERTY_VALUE),
    ]:
        result = check(event("editor_started", window_count=PropertyValue(ValueKind.NUMBER, value)))
        assert isinstance(result, Rejection) and result.reason == reason


def test_timestamps_and_skew() -> None:
    late = dataclasses.replace(event(), client_time=NOW - timedelta(days=31))
    assert check(late).reason == Reason.TIMESTAMP_TOO_OLD  # type: ignore[union-attr]
    skewed = validate_event(
        CATALOGUE.current, late, index=0, receive_time=NOW, skew=timedelta(days=30)
    )
    assert (
        isinstance(skewed, Rejection) and skewed.reason == Reason.MISSING_PROPERTY
    )  # time fine now


@pytest.mark.parametrize(
    ("prop", "why"),
    [
        ({"name": "note", "type": "STRING"}, "pattern"),  # free text
        # The rollups keep `extension` as text (db/staging.py): a number there would not be one.
        ({"name": "extension", "type": "INT"}, "rollup dimension"),
    ],
)
def test_a_bad_catalogue_file_is_refused(tmp_path, prop: dict[str, str], why: str) -> None:
    bad = {
        "version": 1,
        "create_time": "2026-01-01T00:00:00Z",
        "events": [{"name": "x", "properties": [prop]}],
    }
    (tmp_path / "v1.json").write_text(json.dumps(bad))
    with pytest.raises(ValueError, match=why):
        load_catalogue(tmp_path)
