"""Ingest through the real server: per-event validation, dedupe, counters, limits (AN-3, AN-4)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import grpc
import psycopg
import pytest

from symphony.analytics.v1 import analytics_service_pb2 as spb
from symphony.analytics.v1 import resources_pb2 as rpb
from symphony_analytics.domain.models import STORED_FIELDS
from symphony_client.errors import error_reason as reason_of
from tests.integration.analytics.support import make_event, ts


def stored_rows(url: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT event_id, name, properties FROM analytics.events").fetchall()


async def test_valid_batch_is_stored_and_a_retry_counts_as_duplicates(
    stub, analytics_url, clean
) -> None:
    when = datetime.now(UTC).replace(microsecond=123_457) - timedelta(minutes=3)
    events = [make_event(client_time=when) for _ in range(10)]
    first = await stub.BatchIngestEvents(spb.BatchIngestEventsRequest(events=events))
    assert (first.accepted_count, first.duplicate_count, first.rejected_count) == (10, 0, 0)
    assert first.schema_version == 2
    retry = await stub.BatchIngestEvents(spb.BatchIngestEventsRequest(events=[*events, events[0]]))
    assert (retry.accepted_count, retry.duplicate_count, retry.rejected_count) == (0, 11, 0)
    rows = stored_rows(analytics_url)
    assert len(rows) == 10
    with psycopg.connect(analytics_url) as conn:
        times = conn.execute("SELECT DISTINCT event_time FROM analytics.events").fetchall()
    assert times == [(when,)]  # exact to the microsecond
    totals = await stub.QueryDroppedEvents(spb.QueryDroppedEventsRequest())
    assert (totals.accepted_total, totals.duplicate_total) == (10, 11)
    assert {str(r[0]) for r in rows} == {e.event_id for e in events}


async def test_each_bad_event_gets_its_reason_and_valid_ones_are_kept(
    stub, analytics_url, clean
) -> None:
    now = datetime.now(UTC)
    good = make_event()
    batch = [
        good,
        make_event(event_id="not-a-uuid"),
        make_event(event_id=str(uuid.uuid4()).upper()),
        make_event("secret_event"),
        make_event(properties={"language": "python", "email": "a@b.c"}),
        make_event(properties={}),
        make_event(properties={"language": 3}),
        make_event(properties={"language": "has spaces and free text"}),
        make_event(properties={"language": "x" * 65}),
        make_event(install_id="install-1"),
        make_event(session_id=""),
        make_event(editor_version="latest"),
        make_event(platform="amiga"),
        make_event(client_time=now - timedelta(days=45)),
        make_event(client_time=now + timedelta(days=2)),
        make_event("command_executed", {"command": "a.b", "source": "telepathy"}),
        make_event("editor_started", {"window_count": 1.5}),
        make_event("editor_started", {"window_count": None}),
        make_event("editor_started", {"window_count": [1]}),
        make_event("command_executed", {"command": "x" * 9000}),
    ]
    no_time = make_event()
    no_time.ClearField("client_time")
    batch.append(no_time)
    answer = await stub.BatchIngestEvents(spb.BatchIngestEventsRequest(events=batch))
    reasons = {
        r.index: rpb.RejectionReason.Name(r.reason).removeprefix("REJECTION_REASON_")
        for r in answer.rejected_events
    }
    assert answer.accepted_count == 1 and answer.rejected_count == len(batch) - 1
    assert reasons == {
        1: "INVALID_EVENT_ID",
        2: "INVALID_EVENT_ID",
        3: "UNKNOWN_EVENT",
        4: "UNKNOWN_PROPERTY",
        5: "MISSING_PROPERTY",
        6: "INVALID_PROPERTY_TYPE",
        7: "INVALID_PROPERTY_VALUE",
        8: "PROPERTY_TOO_LONG",
        9: "INVALID_INSTALL_ID",
        10: "INVALID_SESSION_ID",
        11: "INVALID_EDITOR_VERSION",
        12: "INVALID_PLATFORM",
        13: "TIMESTAMP_TOO_OLD",
        14: "TIMESTAMP_IN_FUTURE",
        15: "INVALID_PROPERTY_VALUE",
        16: "INVALID_PROPERTY_TYPE",
        17: "INVALID_PROPERTY_TYPE",
        18: "INVALID_PROPERTY_TYPE",
        19: "EVENT_TOO_LARGE",
        20: "MISSING_TIMESTAMP",
    }
    # Input is never echoed: an invalid id is not repeated back.
    assert answer.rejected_events[0].event_id == ""
    for rejected in answer.rejected_events:
        assert "a@b.c" not in rejected.description and "free text" not in rejected.description
    assert [str(r[0]) for r in stored_rows(analytics_url)] == [good.event_id]

    dropped = await stub.QueryDroppedEvents(spb.QueryDroppedEventsRequest())
    by_reason = {}
    for c in dropped.counts:
        key = rpb.RejectionReason.Name(c.reason).removeprefix("REJECTION_REASON_")
        by_reason[key] = by_reason.get(key, 0) + c.count
    assert by_reason["INVALID_PROPERTY_TYPE"] == 4
    assert by_reason["UNKNOWN_EVENT"] == 1
    assert dropped.dropped_total == len(batch) - 1
    assert dropped.accepted_total == 1
    # An unknown event's name is never stored in the counters (it could be free text).
    assert all(
        c.event in ("", "file_opened", "command_executed", "editor_started") for c in dropped.counts
    )


async def test_sent_time_corrects_client_clock_skew(stub, analytics_url, clean) -> None:
    # The client's clock runs 3 days ahead: corrected, the event is a few seconds old.
    skewed = datetime.now(UTC) + timedelta(days=3)
    event = make_event(client_time=skewed - timedelta(seconds=10))
    answer = await stub.BatchIngestEvents(
        spb.BatchIngestEventsRequest(events=[event], sent_time=ts(skewed))
    )
    assert answer.accepted_count == 1
    with psycopg.connect(analytics_url) as conn:
        (event_time,) = conn.execute("SELECT event_time FROM analytics.events").fetchone()
    assert abs((datetime.now(UTC) - event_time).total_seconds()) < 60


async def test_invalid_or_wild_times_are_refused_per_event(stub, analytics_url, clean) -> None:
    good = make_event()
    beyond_9999, bad_nanos = make_event(), make_event()
    beyond_9999.client_time.seconds = 253_402_300_800
    bad_nanos.client_time.nanos = -1
    answer = await stub.BatchIngestEvents(
        spb.BatchIngestEventsRequest(events=[good, beyond_9999, bad_nanos])
    )
    assert answer.accepted_count == 1
    assert [(r.index, r.reason, r.field) for r in answer.rejected_events] == [
        (1, rpb.REJECTION_REASON_INVALID_TIMESTAMP, "client_time"),
        (2, rpb.REJECTION_REASON_INVALID_TIMESTAMP, "client_time"),
    ]

    async def one_message():
        yield spb.StreamIngestEventsRequest(events=[beyond_9999])

    streamed = await stub.StreamIngestEvents(one_message())
    assert [r.reason for r in streamed.rejected_events] == [rpb.REJECTION_REASON_INVALID_TIMESTAMP]
    # A sent_time from a wild clock shifts client times out of datetime's range: refused as
    # too old (or in the future), not a crash.
    sent_late = spb.BatchIngestEventsRequest(
        events=[make_event(), make_event(client_time=datetime(1, 1, 1, tzinfo=UTC))],
        sent_time=ts(datetime(9999, 12, 31, tzinfo=UTC)),
    )
    answer = await stub.BatchIngestEvents(sent_late)
    assert [r.reason for r in answer.rejected_events] == [
        rpb.REJECTION_REASON_TIMESTAMP_TOO_OLD
    ] * 2
    sent_early = spb.BatchIngestEventsRequest(
        events=[make_event(client_time=datetime(9999, 12, 31, tzinfo=UTC))],
        sent_time=ts(datetime(1, 1, 2, tzinfo=UTC)),
    )
    answer = await stub.BatchIngestEvents(sent_early)
    assert [r.reason for r in answer.rejected_events] == [rpb.REJECTION_REASON_TIMESTAMP_IN_FUTURE]
    # The batch's own time invalid: the batch is malformed, refused whole.
    broken = spb.BatchIngestEventsRequest(events=[make_event()], sent_time=ts(datetime.now(UTC)))
    broken.sent_time.nanos = 1_000_000_000
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.BatchIngestEvents(broken)
    assert (caught.value.code(), reason_of(caught.value)) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_TIMESTAMP",
    )
    assert [str(r[0]) for r in stored_rows(analytics_url)] == [good.event_id]


async def test_an3_stored_columns_are_exactly_the_allowlist(
    stub, analytics_url, rollups, clean
) -> None:
    event = make_event(properties={"language": "python"})
    event.receive_time.CopyFrom(ts(datetime(2001, 1, 1, tzinfo=UTC)))  # output-only: ignored
    await stub.BatchIngestEvents(
        spb.BatchIngestEventsRequest(events=[event]), metadata=(("x-forwarded-for", "203.0.113.9"),)
    )
    with psycopg.connect(analytics_url) as conn:
        columns = [
            r[0]
            for r in conn.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_schema = 'analytics' "
                "AND table_name = 'events' ORDER BY ordinal_position"
            ).fetchall()
        ]
        assert tuple(columns) == STORED_FIELDS
        # No column anywhere in the schema could hold an address, a user or an email.
        every = {
            r[0]
            for r in conn.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_schema = 'analytics'"
            ).fetchall()
        }
        assert not {
            c for c in every if any(w in c for w in ("ip", "addr", "user", "email", "peer"))
        }
        row = conn.execute("SELECT events::text, receive_time FROM analytics.events").fetchone()
        dumps = [
            conn.execute(
                "SELECT string_agg(t::text, ' ') FROM (SELECT * FROM analytics.rollup_pending) t"
            ).fetchone()[0]
        ]
    await rollups.fold_rollups()
    with psycopg.connect(analytics_url) as conn:
        dumps.append(
            conn.execute(
                "SELECT string_agg(t::text, ' ') FROM (SELECT * FROM analytics.activity_daily) t"
            ).fetchone()[0]
        )
    assert "203.0.113.9" not in row[0]
    assert all(dump and "203.0.113.9" not in dump for dump in dumps)
    assert row[1].year > 2001


async def test_an3_random_extra_properties_are_never_stored(stub, analytics_url, clean) -> None:
    import random

    rng = random.Random(7)
    events = []
    for _ in range(50):
        props = {"language": "go"}
        for _ in range(rng.randint(1, 3)):
            props["".join(rng.choice("abcdefghij") for _ in range(6))] = rng.choice(["x", 1, True])
        events.append(make_event(properties=props))
    answer = await stub.BatchIngestEvents(spb.BatchIngestEventsRequest(events=events))
    assert answer.accepted_count == 0 and answer.rejected_count == 50
    assert stored_rows(analytics_url) == []


async def test_an4_batch_limits_refuse_the_whole_batch(stub, analytics_url, clean) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await stub.BatchIngestEvents(
            spb.BatchIngestEventsRequest(events=[make_event() for _ in range(501)])
        )
    assert (
        error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        and reason_of(error.value) == "BATCH_TOO_LARGE"
    )
    big = [make_event("command_executed", {"command": "c" * 128}) for _ in range(500)]
    for e in big:
        e.properties["source"].string_value = "palette"
    padded = spb.BatchIngestEventsRequest(events=big[:1])
    # 1 MiB of events, each under 8 KiB: build events whose command strings are too long is not
    # enough, so pad with oversize-but-rejected events to cross the byte limit.
    filler = [make_event("command_executed", {"command": "y" * 7000}) for _ in range(160)]
    padded.events.extend(filler)
    assert padded.ByteSize() > 1024 * 1024
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await stub.BatchIngestEvents(padded)
    assert reason_of(error.value) == "BATCH_TOO_LARGE"
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await stub.BatchIngestEvents(spb.BatchIngestEventsRequest())
    assert reason_of(error.value) == "BATCH_EMPTY"
    assert stored_rows(analytics_url) == []  # nothing half written
    dropped = await stub.QueryDroppedEvents(spb.QueryDroppedEventsRequest())
    assert {rpb.RejectionReason.Name(c.reason): c.count for c in dropped.counts} == {
        "REJECTION_REASON_BATCH_TOO_LARGE": 501 + 161
    }


async def test_stream_ingest_answers_once_for_the_whole_stream(stub, analytics_url, clean) -> None:
    events = [make_event() for _ in range(30)]

    async def messages():
        yield spb.StreamIngestEventsRequest(events=events[:10])
        yield spb.StreamIngestEventsRequest(events=[*events[10:20], events[0], make_event("nope")])
        yield spb.StreamIngestEventsRequest(events=events[20:])
        yield spb.StreamIngestEventsRequest(events=events[1:3])  # nothing new at all

    answer = await stub.StreamIngestEvents(messages())
    assert (answer.accepted_count, answer.duplicate_count, answer.rejected_count) == (30, 3, 1)
    assert answer.rejected_events[0].index == 21
    assert len(stored_rows(analytics_url)) == 30
    totals = await stub.QueryDroppedEvents(spb.QueryDroppedEventsRequest())
    assert (totals.accepted_total, totals.duplicate_total, totals.dropped_total) == (30, 3, 1)


async def test_get_event_schema_serves_versions(stub) -> None:
    current = await stub.GetEventSchema(spb.GetEventSchemaRequest())
    first = await stub.GetEventSchema(spb.GetEventSchemaRequest(version=1))
    assert current.version == 2 and first.version == 1
    assert "search_performed" in [e.name for e in current.events]
    assert "search_performed" not in [e.name for e in first.events]
    names = [e.name for e in current.events]
    assert names == sorted(names)
    installed = next(e for e in current.events if e.name == "extension_installed")
    extension = next(p for p in installed.properties if p.name == "extension")
    assert extension.type == rpb.PROPERTY_TYPE_EXTENSION_ID and extension.required
    assert current.privacy_policy.suppression_threshold == 5
    assert list(current.privacy_policy.stored_fields) == list(STORED_FIELDS)
    assert current.ingest_limits.max_batch_events == 500
    assert current.etag and current.etag != first.etag
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await stub.GetEventSchema(spb.GetEventSchemaRequest(version=99))
    assert (
        error.value.code() == grpc.StatusCode.NOT_FOUND
        and reason_of(error.value) == "SCHEMA_VERSION_NOT_FOUND"
    )
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await stub.GetEventSchema(spb.GetEventSchemaRequest(version=-1))
    assert reason_of(error.value) == "INVALID_SCHEMA_VERSION"


async def test_a_missing_partition_is_created_and_the_batch_stored(
    stub, analytics_url, clean
) -> None:
    when = datetime.now(UTC) - timedelta(days=3)
    partition = f"analytics.events_p{when:%Y%m%d}"
    with psycopg.connect(analytics_url, autocommit=True) as conn:
        conn.execute(f"DROP TABLE {partition}")
    answer = await stub.BatchIngestEvents(
        spb.BatchIngestEventsRequest(events=[make_event(client_time=when)])
    )
    assert answer.accepted_count == 1
    with psycopg.connect(analytics_url) as conn:
        assert conn.execute("SELECT to_regclass(%s) IS NOT NULL", (partition,)).fetchone()[0]
        assert conn.execute("SELECT count(*) FROM analytics.events").fetchone() == (1,)
