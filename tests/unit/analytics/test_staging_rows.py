"""A batch's rows travel to the store as one JSON array, in the stored column order; any string
survives it unchanged, and times are exact to the microsecond."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from symphony_analytics.db.repository import staging_rows
from symphony_analytics.domain.models import STORED_FIELDS, StoredEvent

ID = "7d7f4c52-4a36-4c5e-9d8e-0f1c2b3a4d5e"
NOW = datetime(2026, 3, 10, 12, 30, 1, 250, tzinfo=UTC)


def stored(**changes: object) -> StoredEvent:
    fields: dict[str, object] = {
        "event_id": ID,
        "name": "file_opened",
        "event_time": NOW,
        "receive_time": NOW,
        "install_id": ID,
        "session_id": ID,
        "editor_version": "1.4.0",
        "platform": "linux-x64",
        "properties": {"language": "python", "n": 3, "ok": True},
        "schema_version": 2,
    }
    return StoredEvent(**{**fields, **changes})  # type: ignore[arg-type]


def test_one_row_per_event_in_column_order() -> None:
    rows = json.loads(staging_rows([stored(), stored(name="editor_closed")]))
    assert len(rows) == 2 and all(len(row) == len(STORED_FIELDS) for row in rows)
    first = dict(zip(STORED_FIELDS, rows[0], strict=True))
    assert first["event_id"] == ID and first["name"] == "file_opened"
    assert first["properties"] == {"language": "python", "n": 3, "ok": True}
    assert first["schema_version"] == 2
    assert rows[1][1] == "editor_closed"


def test_times_are_exact_microseconds_since_the_epoch() -> None:
    late = NOW + timedelta(microseconds=999_999)
    (row,) = json.loads(staging_rows([stored(event_time=late)]))
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    assert epoch + timedelta(microseconds=row[2]) == late
    assert epoch + timedelta(microseconds=row[3]) == NOW


def test_any_string_survives_unchanged() -> None:
    awkward = '1\t2\n3\r4\\5"6\u00e9\u2028'
    (row,) = json.loads(staging_rows([stored(editor_version=awkward, properties={"a": awkward})]))
    assert row[6] == awkward and row[8] == {"a": awkward}
