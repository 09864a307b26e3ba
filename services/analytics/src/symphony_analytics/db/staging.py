"""A batch of valid events as the ingest statements' parameters, already in PostgreSQL's binary
format (`typsend` output): one-dimensional arrays of the stored columns, the events in the
order of the dedupe index (install id, event id), and the batch's rollup deltas. PostgreSQL reads
them without parsing any text (the JSON rows they replace cost ~1 ms of its CPU per 500
events), and the keys and deltas come sorted and grouped, so it neither sorts nor groups.

The native fast path (`_fastingest.c`) writes exactly these bytes from the request's; the
differential tests compare the two (tests/unit/analytics/test_fastingest.py)."""

from __future__ import annotations

import json
import struct
import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from symphony_analytics.domain.models import StoredEvent
from symphony_common.db.driver import Binary

_PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)  # PostgreSQL's binary timestamps count from here
_MICROSECOND = timedelta(microseconds=1)
_HOUR_US = 3_600_000_000
_JSONB_VERSION = b"\x01"
# The properties' JSON text, as the fast path writes it (keys in the validator's sorted order).
_dump_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode

# Element OIDs of the arrays (pg_type), and of the two scalars.
UUID, TEXT, TIMESTAMPTZ, JSONB, INT8, INT2 = 2950, 25, 1184, 3802, 20, 21
ARRAY_OF = {UUID: 2951, TEXT: 1009, TIMESTAMPTZ: 1185, JSONB: 3807, INT8: 1016}


class Staged(NamedTuple):
    """The parameters, by statement name; each field is the encoded value (see TYPES)."""

    receive_time: bytes  # the batch's, one value
    schema_version: bytes  # the batch's, one value
    # The events, sorted by their dedupe key (install_id, event_id) as the index sorts it.
    event_ids: bytes
    names: bytes
    event_times: bytes
    install_ids: bytes
    session_ids: bytes
    editor_versions: bytes
    platforms: bytes
    properties: bytes
    # The rollup deltas: events per (hour, event, install, version, platform, extension,
    # extension version), sorted by that key.
    delta_buckets: bytes
    delta_events: bytes
    delta_installs: bytes
    delta_editor_versions: bytes
    delta_platforms: bytes
    delta_extensions: bytes
    delta_extension_versions: bytes
    delta_counts: bytes


# Each field's type (pg_type OID): the two scalars', then the arrays' element types.
TYPES: dict[str, int] = dict(
    zip(
        Staged._fields,
        (
            TIMESTAMPTZ, INT2,
            UUID, TEXT, TIMESTAMPTZ, UUID, UUID, TEXT, TEXT, JSONB,
            TIMESTAMPTZ, TEXT, UUID, TEXT, TEXT, TEXT, TEXT, INT8,
        ),
        strict=True,
    )
)  # fmt: skip
_SCALARS = ("receive_time", "schema_version")


def parameters(staged: Sequence[bytes]) -> dict[str, Binary]:
    """The statement parameters (`:receive_time`, `:event_ids`, ...) of a staged batch (a
    `Staged`, or the same values in a plain tuple: the fast path's)."""
    if len(staged) != len(TYPES):
        raise ValueError(f"a staged batch has {len(TYPES)} parameters, not {len(staged)}")
    return {
        name: Binary(data, oid if name in _SCALARS else ARRAY_OF[oid])
        for (name, oid), data in zip(TYPES.items(), staged, strict=True)
    }


def _array(oid: int, items: Sequence[bytes]) -> bytes:
    """PostgreSQL's binary array (`array_send`): dimensions, no nulls, the element type, then
    each element's length and bytes."""
    if not items:
        return struct.pack("!iiI", 0, 0, oid)
    head = struct.pack("!iiIii", 1, 0, oid, len(items), 1)
    return head + b"".join(struct.pack("!i", len(item)) + item for item in items)


def _time(moment: datetime) -> bytes:
    return struct.pack("!q", (moment - _PG_EPOCH) // _MICROSECOND)


def _text(value: str) -> bytes:
    return value.encode()


def _dimension(properties: Mapping[str, Any], name: str) -> str:
    # The catalogue types `extension` and `extension_version` as strings (catalogue._parse).
    value = properties.get(name, "")
    return value if isinstance(value, str) else ""


def stage(events: Sequence[StoredEvent]) -> Staged:
    """The events of one batch (one receive time, one schema version)."""
    first = events[0]
    if any(
        e.receive_time != first.receive_time or e.schema_version != first.schema_version
        for e in events
    ):
        raise ValueError("a batch has one receive time and one schema version")
    installs = {e.install_id: uuid.UUID(e.install_id).bytes for e in events}
    keyed = sorted(
        (installs[e.install_id] + uuid.UUID(e.event_id).bytes, i) for i, e in enumerate(events)
    )
    events = [events[i] for _, i in keyed]
    deltas = Counter(
        (
            (e.event_time - _PG_EPOCH) // _MICROSECOND // _HOUR_US * _HOUR_US,
            _text(e.name),
            installs[e.install_id],
            _text(e.editor_version),
            _text(e.platform),
            _text(_dimension(e.properties, "extension")),
            _text(_dimension(e.properties, "extension_version")),
        )
        for e in events
    )
    groups = sorted(deltas)
    column = list(zip(*groups, strict=True))
    return Staged(
        receive_time=_time(first.receive_time),
        schema_version=struct.pack("!h", first.schema_version),
        event_ids=_array(UUID, [key[16:] for key, _ in keyed]),
        names=_array(TEXT, [_text(e.name) for e in events]),
        event_times=_array(TIMESTAMPTZ, [_time(e.event_time) for e in events]),
        install_ids=_array(UUID, [installs[e.install_id] for e in events]),
        session_ids=_array(UUID, [uuid.UUID(e.session_id).bytes for e in events]),
        editor_versions=_array(TEXT, [_text(e.editor_version) for e in events]),
        platforms=_array(TEXT, [_text(e.platform) for e in events]),
        properties=_array(
            JSONB, [_JSONB_VERSION + _text(_dump_json(e.properties)) for e in events]
        ),
        delta_buckets=_array(TIMESTAMPTZ, [struct.pack("!q", hour) for hour in column[0]]),
        delta_events=_array(TEXT, column[1]),
        delta_installs=_array(UUID, column[2]),
        delta_editor_versions=_array(TEXT, column[3]),
        delta_platforms=_array(TEXT, column[4]),
        delta_extensions=_array(TEXT, column[5]),
        delta_extension_versions=_array(TEXT, column[6]),
        delta_counts=_array(INT8, [struct.pack("!q", deltas[group]) for group in groups]),
    )
