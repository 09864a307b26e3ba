"""Queries over the rollups, suppression, publisher statistics, downloads, and rollups that
equal a recount from raw events after a random ingest with duplicates and retries."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta

import grpc
import psycopg
import pytest

from symphony.analytics.v1 import analytics_internal_service_pb2 as ipb
from symphony.analytics.v1 import analytics_service_pb2 as spb
from symphony.analytics.v1 import resources_pb2 as rpb
from symphony_analytics.db.repository import DAILY_SELECT, HOURLY_SELECT
from tests.integration.analytics.support import make_event, ts
from tests.integration.analytics.test_ingest import reason_of

NOW = datetime.now(UTC)
TODAY = NOW.replace(hour=0, minute=0, second=0, microsecond=0)


async def ingest(stub, events, rollups=None) -> None:
    """Send the events; with `rollups`, fold them into the rollups (the service's background
    fold does this within a fold interval)."""
    for i in range(0, len(events), 500):
        answer = await stub.BatchIngestEvents(
            spb.BatchIngestEventsRequest(events=events[i : i + 500])
        )
        assert answer.rejected_count == 0, answer.rejected_events[:3]
    if rollups is not None:
        await rollups.fold_rollups()


async def test_time_series_groups_and_suppresses_small_groups(stub, rollups, clean) -> None:
    installs = [str(uuid.uuid4()) for _ in range(8)]
    when = TODAY - timedelta(days=2) + timedelta(hours=3)
    events = []
    for i, install in enumerate(installs):  # 8 installs on linux, 2 of them also on darwin
        events += [
            make_event(install_id=install, client_time=when, platform="linux-x64") for _ in range(3)
        ]
        if i < 2:
            events.append(make_event(install_id=install, client_time=when, platform="darwin-arm64"))
    await ingest(stub, events, rollups)
    answer = await stub.QueryTimeSeries(
        spb.QueryTimeSeriesRequest(
            event="file_opened",
            start_time=ts(TODAY - timedelta(days=5)),
            end_time=ts(TODAY + timedelta(days=1)),
        )
    )
    assert len(answer.series) == 1 and len(answer.series[0].points) == 6
    point = next(
        p
        for p in answer.series[0].points
        if p.start_time.ToDatetime(tzinfo=UTC) == when.replace(hour=0)
    )
    assert (point.event_count, point.install_count, point.suppressed) == (26, 8, False)

    grouped = await stub.QueryTimeSeries(
        spb.QueryTimeSeriesRequest(
            event="file_opened", group_by="platform", start_time=ts(TODAY - timedelta(days=5))
        )
    )
    assert [(s.group, s.other) for s in grouped.series] == [("linux-x64", False), ("", True)]
    other_point = next(
        p
        for p in grouped.series[1].points
        if p.start_time.ToDatetime(tzinfo=UTC) == when.replace(hour=0)
    )
    assert (
        other_point.suppressed and other_point.event_count == 0 and other_point.install_count == 0
    )

    hourly = await stub.QueryTimeSeries(
        spb.QueryTimeSeriesRequest(
            event="file_opened",
            interval=rpb.INTERVAL_HOUR,
            start_time=ts(when - timedelta(hours=1)),
            end_time=ts(when + timedelta(hours=2)),
            filters=["platform=darwin-arm64"],
        )
    )
    assert [p.suppressed for p in hourly.series[0].points] == [False, True, False]

    for bad, reason in [
        ({"event": "nope"}, "UNKNOWN_EVENT"),
        ({"group_by": "user"}, "UNKNOWN_DIMENSION"),
        ({"filters": ["platform"]}, "INVALID_FILTER"),
        ({"filters": ["ip=1"]}, "UNKNOWN_DIMENSION"),
        ({"start_time": ts(NOW), "end_time": ts(NOW - timedelta(days=1))}, "INVALID_TIME_RANGE"),
        (
            {"interval": rpb.INTERVAL_HOUR, "start_time": ts(NOW - timedelta(days=40))},
            "TIME_RANGE_TOO_LARGE",
        ),
    ]:
        request = spb.QueryTimeSeriesRequest(event="file_opened")
        for key, v in bad.items():
            if key == "filters":
                request.filters.extend(v)
            elif key in ("start_time", "end_time"):
                getattr(request, key).CopyFrom(v)
            else:
                setattr(request, key, v)
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await stub.QueryTimeSeries(request)
        assert (
            error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            and reason_of(error.value) == reason
        )


async def test_active_installs_top_events(stub, rollups, clean) -> None:
    installs = [str(uuid.uuid4()) for _ in range(6)]
    events = []
    for day in range(3):
        for install in installs[: 4 + day]:  # 4, 5, 6 installs on three days
            events.append(
                make_event(
                    "editor_started",
                    {},
                    install_id=install,
                    client_time=TODAY - timedelta(days=3 - day, hours=-1),
                )
            )
    events += [
        make_event(
            "settings_sync_toggled",
            {"enabled": True},
            install_id=installs[0],
            client_time=TODAY - timedelta(days=1, hours=-2),
        )
    ]
    await ingest(stub, events, rollups)
    daily = await stub.QueryActiveInstalls(
        spb.QueryActiveInstallsRequest(start_time=ts(TODAY - timedelta(days=3)), end_time=ts(TODAY))
    )
    assert [(p.active_installs, p.suppressed) for p in daily.series[0].points] == [
        (0, True),
        (5, False),
        (6, False),
    ]
    monthly = await stub.QueryActiveInstalls(
        spb.QueryActiveInstallsRequest(
            period=rpb.ACTIVITY_PERIOD_MONTH,
            start_time=ts(TODAY - timedelta(days=3)),
            end_time=ts(TODAY),
        )
    )
    assert sum(p.active_installs for p in monthly.series[0].points) >= 6
    top = await stub.QueryTopEvents(
        spb.QueryTopEventsRequest(start_time=ts(TODAY - timedelta(days=5)))
    )
    assert [(e.event, e.event_count, e.suppressed) for e in top.events] == [
        ("editor_started", 15, False),
        ("settings_sync_toggled", 0, True),
    ]


async def test_extension_stats_members_and_public(
    stub, internal_stub, registry_state, signer, service_metadata, rollups, clean
) -> None:
    registry_state.extensions[("acme", "tools")] = {"1.0.0", "1.1.0"}
    registry_state.members.add(("acme", "owner-1"))
    day = TODAY - timedelta(days=1)
    installs = [str(uuid.uuid4()) for _ in range(3)]  # below the threshold of 5
    events = [
        make_event(
            "extension_installed",
            {"extension": "Acme.Tools", "extension_version": "1.1.0"},
            install_id=i,
            client_time=day + timedelta(hours=2),
        )
        for i in installs
    ]
    events += [
        make_event(
            "extension_active",
            {"extension": "acme.tools", "extension_version": "1.1.0"},
            install_id=i,
            client_time=day + timedelta(hours=3),
        )
        for i in installs[:2]
    ]
    events += [
        make_event(
            "extension_uninstalled",
            {"extension": "acme.tools", "extension_version": "1.0.0"},
            install_id=installs[2],
            client_time=day + timedelta(hours=4),
        )
    ]
    await ingest(stub, events, rollups)
    rows = [
        ipb.DownloadCount(
            outbox_id=n,
            namespace="acme",
            extension="tools",
            version="1.1.0",
            target_platform="linux-x64",
            day=ts(day),
            downloads=10,
        )
        for n in (1, 2)
    ]
    recorded = await internal_stub.RecordDownloads(
        ipb.RecordDownloadsRequest(counts=rows), metadata=service_metadata
    )
    assert (recorded.recorded_count, recorded.duplicate_count) == (2, 0)
    again = await internal_stub.RecordDownloads(
        ipb.RecordDownloadsRequest(counts=rows), metadata=service_metadata
    )
    assert (again.recorded_count, again.duplicate_count) == (0, 2)

    request = spb.GetExtensionStatsRequest(
        namespace="acme", extension="tools", start_time=ts(TODAY - timedelta(days=3))
    )
    public = await stub.GetExtensionStats(request)
    assert public.suppression_applied and public.totals.downloads == 20
    assert public.totals.suppressed and public.totals.installs == 0
    member_token = signer.mint("owner-1", scopes=["analytics.read"], audiences=["analytics"])
    member = await stub.GetExtensionStats(
        request, metadata=(("authorization", f"Bearer {member_token}"),)
    )
    assert not member.suppression_applied
    assert (
        member.totals.installs,
        member.totals.uninstalls,
        member.totals.active_installs,
        member.totals.downloads,
    ) == (3, 1, 2, 20)
    assert [v.version for v in member.versions] == ["1.1.0", "1.0.0"]
    v110 = member.versions[0]
    assert (v110.totals.installs, v110.totals.active_installs, v110.totals.downloads) == (3, 2, 20)
    point = next(p for p in member.points if p.start_time.ToDatetime(tzinfo=UTC) == day)
    assert (point.installs, point.downloads) == (3, 20)
    outsider = signer.mint("someone", scopes=["analytics.read"], audiences=["analytics"])
    seen = await stub.GetExtensionStats(
        request, metadata=(("authorization", f"Bearer {outsider}"),)
    )
    assert seen.suppression_applied and seen.totals.installs == 0

    only = await stub.GetExtensionStats(
        spb.GetExtensionStatsRequest(namespace="acme", extension="tools", version="1.0.0")
    )
    assert [v.version for v in only.versions] == ["1.0.0"]
    for ns, ext, ver, reason in [
        ("acme", "nope", "", "EXTENSION_NOT_FOUND"),
        ("acme", "tools", "9.9.9", "VERSION_NOT_FOUND"),
    ]:
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await stub.GetExtensionStats(
                spb.GetExtensionStatsRequest(namespace=ns, extension=ext, version=ver)
            )
        assert error.value.code() == grpc.StatusCode.NOT_FOUND and reason_of(error.value) == reason
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await stub.GetExtensionStats(request, metadata=(("authorization", "Bearer not-a-token"),))
    assert error.value.code() == grpc.StatusCode.UNAUTHENTICATED
    registry_state.down = True
    try:
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await stub.GetExtensionStats(
                request, metadata=(("authorization", f"Bearer {member_token}"),)
            )
        assert (
            error.value.code() == grpc.StatusCode.UNAVAILABLE
            and reason_of(error.value) == "REGISTRY_UNAVAILABLE"
        )
    finally:
        registry_state.down = False


async def test_record_downloads_requires_the_service_credential_and_valid_rows(
    internal_stub, service_metadata
) -> None:
    row = ipb.DownloadCount(
        outbox_id=99,
        namespace="acme",
        extension="tools",
        version="1.0.0",
        day=ts(TODAY),
        downloads=1,
    )
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await internal_stub.RecordDownloads(ipb.RecordDownloadsRequest(counts=[row]))
    assert error.value.code() == grpc.StatusCode.UNAUTHENTICATED
    bad = ipb.DownloadCount(
        outbox_id=100,
        namespace="acme",
        extension="tools",
        version="1.0.0",
        day=ts(TODAY + timedelta(hours=3)),
        downloads=1,
    )
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await internal_stub.RecordDownloads(
            ipb.RecordDownloadsRequest(counts=[row, bad]), metadata=service_metadata
        )
    assert reason_of(error.value) == "INVALID_DOWNLOAD_COUNT"
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await internal_stub.RecordDownloads(ipb.RecordDownloadsRequest(), metadata=service_metadata)
    assert reason_of(error.value) == "BATCH_EMPTY"


def recount(url: str) -> tuple[list, list, list, list]:
    raw = "(SELECT * FROM analytics.events) e"
    with psycopg.connect(url) as conn:
        hourly = sorted(conn.execute(HOURLY_SELECT.format(source=raw)).fetchall())
        daily = sorted(conn.execute(DAILY_SELECT.format(source=raw)).fetchall())
        stored_h = sorted(
            conn.execute(
                "SELECT bucket, event, install_id, editor_version, platform, extension, "
                "event_count "
                "FROM analytics.activity_hourly"
            ).fetchall()
        )
        stored_d = sorted(
            conn.execute(
                "SELECT day, event, install_id, editor_version, platform, extension, "
                "extension_version, event_count "
                "FROM analytics.activity_daily"
            ).fetchall()
        )
    return hourly, stored_h, daily, stored_d


async def test_rollups_equal_a_recount_after_random_ingest_with_duplicates_and_retries(
    stub, analytics, analytics_url, rollups, clean
) -> None:
    rng = random.Random(1234)
    installs = [str(uuid.uuid4()) for _ in range(12)]
    pool = []
    for _ in range(1500):
        name = rng.choice(
            ["file_opened", "extension_installed", "extension_active", "editor_started"]
        )
        props = {
            "file_opened": {"language": rng.choice(["python", "rust"])},
            "editor_started": {},
        }.get(
            name,
            {
                "extension": rng.choice(["a.b", "c.d"]),
                "extension_version": rng.choice(["1.0.0", "2.0.0"]),
            },
        )
        pool.append(
            make_event(
                name,
                props,
                install_id=rng.choice(installs),
                platform=rng.choice(["linux-x64", "web"]),
                client_time=NOW
                - timedelta(hours=rng.randint(0, 24 * 20), minutes=rng.randint(0, 59)),
            )
        )
    sent = 0
    while sent < len(pool):
        size = rng.randint(1, 200)
        batch = pool[sent : sent + size]
        # Retries: resend some earlier events, and duplicates inside the batch.
        batch = batch + rng.sample(
            pool[: sent + len(batch)], k=min(rng.randint(0, 20), sent + len(batch))
        )
        rng.shuffle(batch)
        answer = await stub.BatchIngestEvents(spb.BatchIngestEventsRequest(events=batch))
        assert answer.rejected_count == 0
        sent += size
        if rng.random() < 0.3:
            await rollups.fold_rollups()  # folds land between batches, at random
    await rollups.fold_rollups()
    with psycopg.connect(analytics_url) as conn:
        assert conn.execute(
            "SELECT count(*), count(DISTINCT event_id) FROM analytics.events"
        ).fetchone() == (1500, 1500)
    hourly, stored_h, daily, stored_d = recount(analytics_url)
    assert stored_h == hourly and stored_d == daily
    # And a rebuild from raw events reproduces them.
    with psycopg.connect(analytics_url, autocommit=True) as conn:
        conn.execute("UPDATE analytics.activity_daily SET event_count = event_count + 1")
        conn.execute("DELETE FROM analytics.activity_hourly WHERE event = 'file_opened'")
    await rollups.rebuild_rollups(NOW - timedelta(days=25), NOW + timedelta(days=1))
    hourly, stored_h, daily, stored_d = recount(analytics_url)
    assert stored_h == hourly and stored_d == daily
