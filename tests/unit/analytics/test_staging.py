"""A batch travels to the store as binary arrays (PostgreSQL's `array_send` format): the stored
columns with the events in the dedupe index's order, and the rollup deltas grouped; any
string survives them unchanged, and times are exact to the microsecond. (The integration tests
store them in a real PostgreSQL.)"""

from __future__ import annotations

import json
import struct
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from symphony_analytics.db.staging import ARRAY_OF, TYPES, Staged, parameters, stage
from symphony_analytics.domain.models import StoredEvent

ID = "7d7f4c52-4a36-4c5e-9d8e-0f1c2b3a4d5e"
OTHER = "0a7f4c52-4a36-4c5e-9d8e-0f1c2b3a4d5e"
NOW = datetime(2026, 3, 10, 12, 30, 1, 250, tzinfo=UTC)
PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def stored(**changes: object) -> StoredEvent:
    fields: dict[str, object] = {
        "event_id": str(uuid.uuid4()),
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


def elements(data: bytes, oid: int) -> list[bytes]:
    """The elements of a one-dimensional binary array, checking its header."""
    ndim, flags, element = struct.unpack_from("!iiI", data)
    assert (flags, element) == (0, oid)
    if ndim == 0:
        return []
    assert ndim == 1
    (n, lower) = struct.unpack_from("!ii", data, 12)
    assert lower == 1
    out, at = [], 20
    for _ in range(n):
        (size,) = struct.unpack_from("!i", data, at)
        out.append(data[at + 4 : at + 4 + size])
        at += 4 + size
    assert at == len(data)
    return out


def column(staged: Staged, field: str) -> list[bytes]:
    return elements(getattr(staged, field), TYPES[field])


def time_of(raw: bytes) -> datetime:
    return PG_EPOCH + timedelta(microseconds=struct.unpack("!q", raw)[0])


def test_one_element_per_event_each_column_in_the_same_order() -> None:
    events = [stored(), stored(name="editor_closed", install_id=OTHER, properties={})]
    staged = stage(events)
    in_key_order = events[::-1]  # OTHER sorts before ID
    assert [uuid.UUID(bytes=b) for b in column(staged, "event_ids")] == [
        uuid.UUID(e.event_id) for e in in_key_order
    ]
    assert column(staged, "names") == [b"editor_closed", b"file_opened"]
    assert [str(uuid.UUID(bytes=b)) for b in column(staged, "install_ids")] == [OTHER, ID]
    assert column(staged, "platforms") == [b"linux-x64"] * 2
    jsonb = column(staged, "properties")
    assert all(p[:1] == b"\x01" for p in jsonb)  # jsonb's binary version
    assert [json.loads(p[1:]) for p in jsonb] == [e.properties for e in in_key_order]
    assert time_of(staged.receive_time) == NOW
    assert struct.unpack("!h", staged.schema_version) == (2,)


def test_times_are_exact_microseconds() -> None:
    late = NOW + timedelta(microseconds=999_999)
    staged = stage([stored(event_time=late)])
    assert [time_of(t) for t in column(staged, "event_times")] == [late]


def test_any_string_survives_unchanged() -> None:
    awkward = '1\t2\n3\r4\\5"6\u00e9\u2028'
    staged = stage([stored(editor_version=awkward, properties={"a": awkward})])
    assert column(staged, "editor_versions") == [awkward.encode()]
    assert json.loads(column(staged, "properties")[0][1:]) == {"a": awkward}


def test_events_come_in_the_dedupe_index_order() -> None:
    events = [
        stored(install_id=i, editor_version=str(n))
        for n, i in enumerate((ID, OTHER, ID, OTHER, ID))
    ]
    staged = stage(events)
    keys = list(
        zip(
            (uuid.UUID(bytes=b) for b in column(staged, "install_ids")),
            (uuid.UUID(bytes=b) for b in column(staged, "event_ids")),
            strict=True,
        )
    )
    assert keys == sorted((uuid.UUID(e.install_id), uuid.UUID(e.event_id)) for e in events)
    by_key = {(uuid.UUID(e.install_id), uuid.UUID(e.event_id)): e.editor_version for e in events}
    assert [v.decode() for v in column(staged, "editor_versions")] == [by_key[k] for k in keys]


def test_deltas_count_each_hour_event_and_dimension_once() -> None:
    before_2000 = datetime(1999, 12, 31, 23, 59, tzinfo=UTC)  # negative: floored, not rounded up
    ext = {"extension": "acme.tool", "extension_version": "1.0.0"}
    events = [
        stored(name="extension_active", properties=ext),
        stored(name="extension_active", properties=ext, event_time=NOW + timedelta(minutes=20)),
        stored(name="extension_active", properties=ext, event_time=NOW + timedelta(hours=1)),
        stored(),
        stored(event_time=before_2000),
        stored(install_id=OTHER),
    ]
    staged = stage(events)
    groups = list(
        zip(
            (time_of(t) for t in column(staged, "delta_buckets")),
            (n.decode() for n in column(staged, "delta_events")),
            (str(uuid.UUID(bytes=b)) for b in column(staged, "delta_installs")),
            (e.decode() for e in column(staged, "delta_extensions")),
            (v.decode() for v in column(staged, "delta_extension_versions")),
            (struct.unpack("!q", n)[0] for n in column(staged, "delta_counts")),
            strict=True,
        )
    )
    hour = NOW.replace(minute=0, second=0, microsecond=0)
    expected = Counter(
        {
            (hour, "extension_active", ID, "acme.tool", "1.0.0"): 2,
            (hour + timedelta(hours=1), "extension_active", ID, "acme.tool", "1.0.0"): 1,
            (hour, "file_opened", ID, "", ""): 1,
            (hour, "file_opened", OTHER, "", ""): 1,
            (datetime(1999, 12, 31, 23, tzinfo=UTC), "file_opened", ID, "", ""): 1,
        }
    )
    assert Counter({g[:5]: g[5] for g in groups}) == expected
    assert len(groups) == len(expected)  # grouped: each key once
    assert groups == sorted(groups, key=lambda g: (g[0], g[1].encode(), uuid.UUID(g[2]).bytes))


def test_a_batch_has_one_receive_time_and_one_schema_version() -> None:
    with pytest.raises(ValueError, match="one receive time"):
        stage([stored(), stored(receive_time=NOW + timedelta(seconds=1))])
    with pytest.raises(ValueError, match="one schema version"):
        stage([stored(), stored(schema_version=1)])


def test_parameters_are_typed_arrays_and_scalars() -> None:
    params = parameters(stage([stored()]))
    assert set(params) == set(Staged._fields)
    assert params["receive_time"].oid == 1184 and params["schema_version"].oid == 21
    assert params["event_ids"].oid == ARRAY_OF[2950] == 2951
    assert params["delta_counts"].oid == 1016
