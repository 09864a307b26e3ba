"""The staging rows are built as COPY text in one pass; every text field is escaped."""

from __future__ import annotations

from datetime import UTC, datetime

from symphony_analytics.db.repository import copy_text
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


def test_one_line_per_event_in_column_order() -> None:
    text = copy_text([stored(), stored(name="editor_closed")]).decode()
    lines = text.split("\n")
    assert lines[-1] == "" and len(lines) == 3
    columns = lines[0].split("\t")
    assert len(columns) == len(STORED_FIELDS)
    assert columns[0] == ID and columns[1] == "file_opened"
    assert datetime.fromisoformat(columns[2]) == NOW
    assert columns[8] == '{"language":"python","n":3,"ok":true}' and columns[9] == "2"
    assert lines[1].split("\t")[1] == "editor_closed"


def test_separators_and_backslashes_are_escaped() -> None:
    line = copy_text([stored(editor_version="1\t2\n3\r4\\5", properties={"a": "x\\y"})])
    columns = line.decode().rstrip("\n").split("\t")
    assert len(columns) == len(STORED_FIELDS)
    assert columns[6] == "1\\t2\\n3\\r4\\\\5"
    assert columns[8] == '{"a":"x\\\\\\\\y"}'  # JSON's \\ doubled for COPY
