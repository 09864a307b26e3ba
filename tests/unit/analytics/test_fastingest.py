"""The native ingest fast path against the Python path, on generated batches: whatever it
stores is exactly what the Python path would store, and it defers (None) on everything else.
It must also take the usual batch, or it would be dead weight."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench import analytics_data
from symphony.analytics.v1 import analytics_service_pb2 as spb
from symphony.analytics.v1 import resources_pb2 as rpb
from symphony_analytics.adapters import fast_ingest
from symphony_analytics.domain.catalogue import EXTENSION_ID, PLATFORMS, SEMVER, load_catalogue
from symphony_analytics.domain.models import PropertyDefinition, PropertyType
from tests.integration.analytics.support import ts, value
from tests.unit.analytics.fastingest_oracle import agrees, python_path

if fast_ingest.native_encoder(True) is None:
    if os.environ.get("SYMPHONY_REQUIRE_NATIVE") == "1":
        raise RuntimeError("the native ingest path is not built (make install builds it)")
    pytest.skip("the native ingest path is not built", allow_module_level=True)

SCHEMA = load_catalogue().current
ENCODE = fast_ingest.NativeBatchEncoder()
NOW = datetime(2026, 12, 7, 12, 0, 0, 123456, tzinfo=UTC)
NIGHTLY = os.environ.get("SYMPHONY_TEST_TIER") == "nightly"
HYPOTHESIS = settings(
    max_examples=3000 if NIGHTLY else 300,
    derandomize=not NIGHTLY,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def check(raw: bytes) -> object:
    fast = ENCODE(raw, SCHEMA, NOW)
    problem = agrees(fast, python_path(raw, SCHEMA, NOW))
    assert problem == "", problem
    return fast


# --- generated batches ---------------------------------------------------------------------

uuids = st.uuids(version=4).map(str)


def valid_value(prop: PropertyDefinition) -> st.SearchStrategy[object]:
    low = prop.min_value if prop.min_value is not None else -(2**53)
    high = prop.max_value if prop.max_value is not None else 2**53
    if prop.type == PropertyType.BOOL:
        return st.booleans()
    if prop.type == PropertyType.INT:
        return st.integers(int(low), int(high))
    if prop.type == PropertyType.DOUBLE:
        return st.floats(low, high, allow_nan=False)
    if prop.type == PropertyType.ENUM:
        return st.sampled_from(prop.allowed_values)
    pattern = {PropertyType.VERSION: SEMVER, PropertyType.EXTENSION_ID: EXTENSION_ID}.get(
        prop.type, prop.pattern
    )
    return st.from_regex(pattern, fullmatch=True).filter(
        lambda s: not prop.max_length or len(s) <= prop.max_length
    )


# Ways to spoil one event; each is a rejection (or an in-batch duplicate) for the Python path.
SPOILERS = {
    "uppercase id": lambda e, d: setattr(e, "event_id", e.event_id.upper()),
    "id not a uuid": lambda e, d: setattr(e, "event_id", e.event_id[:-1]),
    "unknown event": lambda e, d: setattr(e, "name", e.name + "x"),
    "unknown property": lambda e, d: e.properties["nope"].CopyFrom(value(1)),
    "bad install": lambda e, d: setattr(e, "install_id", "install"),
    "bad session": lambda e, d: setattr(e, "session_id", e.session_id.upper()),
    "bad editor version": lambda e, d: setattr(e, "editor_version", "1.0"),
    "long editor version": lambda e, d: setattr(e, "editor_version", "1.0.0-" + "a" * 60),
    "bad platform": lambda e, d: setattr(e, "platform", "amiga"),
    "no time": lambda e, d: e.ClearField("client_time"),
    "too old": lambda e, d: e.client_time.CopyFrom(ts(NOW - timedelta(days=31))),
    "in the future": lambda e, d: e.client_time.CopyFrom(ts(NOW + timedelta(hours=2))),
    "out-of-range time": lambda e, d: setattr(e.client_time, "seconds", 253_402_300_800),
    "bad nanos": lambda e, d: setattr(e.client_time, "nanos", -1),
    "wrong type": lambda e, d: [
        e.properties[k].CopyFrom(value([1])) for k in list(e.properties)[:1]
    ],
    "null value": lambda e, d: [
        e.properties[k].CopyFrom(value(None)) for k in list(e.properties)[:1]
    ],
    "string for number": lambda e, d: [
        e.properties[k].CopyFrom(value("7"))
        for k in list(e.properties)[:1]
        if e.properties[k].HasField("number_value") or e.properties[k].HasField("bool_value")
    ],
    "number out of range": lambda e, d: [
        e.properties[k].CopyFrom(value(1e12))
        for k in list(e.properties)[:1]
        if e.properties[k].HasField("number_value")
    ],
    "fraction for int": lambda e, d: [
        e.properties[k].CopyFrom(value(e.properties[k].number_value + 0.5))
        for k in list(e.properties)[:1]
        if e.properties[k].HasField("number_value")
    ],
    "string off pattern": lambda e, d: [
        e.properties[k].CopyFrom(value(" " + e.properties[k].string_value))
        for k in list(e.properties)[:1]
        if e.properties[k].HasField("string_value")
    ],
    "string too long": lambda e, d: [
        e.properties[k].CopyFrom(value("a" * 200))
        for k in list(e.properties)[:1]
        if e.properties[k].HasField("string_value")
    ],
    "missing required": lambda e, d: [e.properties.pop(k) for k in list(e.properties)[:1]],
    "id twice": lambda e, d: setattr(e, "event_id", d),
    "receive_time sent": lambda e, d: e.receive_time.CopyFrom(ts(NOW)),
    "too large": lambda e, d: e.properties["pad"].CopyFrom(value("x" * 9000)),
}


@st.composite
def batches(draw: st.DrawFn) -> tuple[bytes, list[str]]:
    """A serialized batch and the spoilers applied to it ([]: every event valid)."""
    request = spb.BatchIngestEventsRequest()
    install, session = draw(uuids), draw(uuids)
    version = draw(st.sampled_from(["1.4.0", "2.0.0-beta.1", "0.9.12+build.7"]))
    platform = draw(st.sampled_from(PLATFORMS))
    skew = draw(st.sampled_from([None, timedelta(0), timedelta(days=3), -timedelta(hours=5)]))
    sent = NOW + skew if skew is not None else NOW
    for _ in range(draw(st.integers(1, 12))):
        definition = draw(st.sampled_from(SCHEMA.events))
        age = draw(st.integers(0, 29 * 86_400_000_000))
        event = request.events.add(
            event_id=draw(uuids),
            name=definition.name,
            client_time=ts(sent - timedelta(microseconds=age)),
            install_id=install if draw(st.booleans()) else draw(uuids),
            session_id=session,
            editor_version=version,
            platform=platform,
        )
        for prop in definition.properties:
            if prop.required or draw(st.booleans()):
                event.properties[prop.name].CopyFrom(value(draw(valid_value(prop))))
    if skew is not None:
        request.sent_time.CopyFrom(ts(sent))
    spoiled = []
    for _ in range(draw(st.sampled_from([0, 0, 1, 2]))):
        name = draw(st.sampled_from(sorted(SPOILERS)))
        target = draw(st.sampled_from(list(request.events)))
        SPOILERS[name](target, request.events[0].event_id)
        spoiled.append(name)
    return request.SerializeToString(), spoiled


@HYPOTHESIS
@given(batches())
def test_the_fast_path_stores_what_the_python_path_stores(batch: tuple[bytes, list[str]]) -> None:
    raw, spoiled = batch
    fast = check(raw)
    if not spoiled:
        assert fast is not None, "the fast path deferred a batch of valid events"


@HYPOTHESIS
@given(batches(), st.data())
def test_mangled_bytes_never_make_it_store_more(
    batch: tuple[bytes, list[str]], data: st.DataObject
) -> None:
    raw = bytearray(batch[0])
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(raw)))
        action = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        if action == "flip" and at < len(raw):
            raw[at] ^= 1 << data.draw(st.integers(0, 7))
        elif action == "cut":
            del raw[at : at + data.draw(st.integers(1, 8))]
        else:
            raw[at:at] = data.draw(st.binary(min_size=1, max_size=8))
    check(bytes(raw))


@pytest.mark.parametrize(
    "extra",
    [
        b"\x18\x01",  # an unknown varint field of the request
        b"\x12\x00",  # a second sent_time
        b"\x0a\x00",  # an empty event
    ],
)
def test_unusual_encodings_are_left_to_protobuf(extra: bytes) -> None:
    raw = analytics_data.ingest_batches(1, 3, seed=1)[0].request
    now = datetime.now(UTC)
    fast = ENCODE(raw + extra, SCHEMA, now)
    problem = agrees(fast, python_path(raw + extra, SCHEMA, now))
    assert fast is None and problem == ""


def test_the_benchmark_batches_take_the_fast_path() -> None:
    now = datetime.now(UTC)
    for batch in analytics_data.ingest_batches(3, 500, seed=5):
        fast = ENCODE(batch.request, SCHEMA, now)
        assert fast is not None and fast.count == 500
        assert agrees(fast, python_path(batch.request, SCHEMA, now)) == ""


def test_an_event_may_be_as_large_as_the_limit_and_no_larger() -> None:
    event = rpb.Event(
        event_id=str(uuid.uuid4()),
        name="command_executed",
        client_time=ts(NOW - timedelta(minutes=1)),
        install_id=str(uuid.uuid4()),
        session_id=str(uuid.uuid4()),
        editor_version="1.0.0",
        platform="web",
    )
    event.properties["command"].CopyFrom(value("a"))
    request = spb.BatchIngestEventsRequest(events=[event])
    assert check(request.SerializeToString()) is not None
    event.properties["source"].CopyFrom(value("x" * (SCHEMA.limits.max_event_bytes)))
    assert check(spb.BatchIngestEventsRequest(events=[event]).SerializeToString()) is None
