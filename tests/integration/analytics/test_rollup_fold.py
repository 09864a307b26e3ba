"""Rollups folded after ingest: ingest appends rollup deltas, a fold moves them into the rollups
exactly once (also while batches keep arriving), a rebuild takes over the deltas of its range,
and queries say up to when their figures are complete (`data_through_time`)."""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import UTC, datetime, timedelta

import psycopg

from symphony.analytics.v1 import analytics_service_pb2 as spb
from tests.integration.analytics.support import make_event, ts
from tests.integration.analytics.test_queries import recount

NOW = datetime.now(UTC)
TODAY = NOW.replace(hour=0, minute=0, second=0, microsecond=0)


def pending(url: str) -> int:
    with psycopg.connect(url) as conn:
        return int(conn.execute("SELECT count(*) FROM analytics.rollup_pending").fetchone()[0])


async def daily_count(stub, event: str = "file_opened") -> tuple[int, datetime]:
    answer = await stub.QueryTimeSeries(
        spb.QueryTimeSeriesRequest(
            event=event,
            start_time=ts(TODAY - timedelta(days=3)),
            end_time=ts(TODAY + timedelta(days=1)),
        )
    )
    total = sum(p.event_count for s in answer.series for p in s.points)
    return total, answer.data_through_time.ToDatetime(tzinfo=UTC)


async def test_queries_trail_ingest_until_the_fold_and_say_so(
    stub, analytics_url, rollups, clean
) -> None:
    await rollups.fold_rollups()
    installs = [str(uuid.uuid4()) for _ in range(6)]  # above the suppression threshold
    events = [make_event(install_id=i, client_time=NOW - timedelta(minutes=5)) for i in installs]
    answer = await stub.BatchIngestEvents(spb.BatchIngestEventsRequest(events=events))
    acknowledged = datetime.now(UTC)
    assert answer.accepted_count == 6 and pending(analytics_url) > 0

    count, through = await daily_count(stub)
    assert count == 0 and through < acknowledged  # not folded yet, and the answer says so

    assert await rollups.fold_rollups() > 0
    assert pending(analytics_url) == 0
    count, through = await daily_count(stub)
    assert count == 6 and through >= acknowledged
    assert await rollups.fold_rollups() == 0  # nothing is folded twice


async def test_a_rebuild_takes_over_the_pending_deltas_of_its_range(
    stub, analytics_url, rollups, clean
) -> None:
    install = str(uuid.uuid4())
    inside = [make_event(install_id=install, client_time=NOW - timedelta(days=2)) for _ in range(4)]
    outside = [make_event(install_id=install, client_time=NOW - timedelta(days=9))]
    answer = await stub.BatchIngestEvents(spb.BatchIngestEventsRequest(events=inside + outside))
    assert answer.accepted_count == 5

    # The rebuild recounts the last 3 days from raw events; their pending deltas must not be
    # added on top by the next fold, while the older day's delta still must be.
    await rollups.rebuild_rollups(NOW - timedelta(days=3), NOW + timedelta(days=1))
    assert pending(analytics_url) == 1
    await rollups.fold_rollups()
    hourly, stored_h, daily, stored_d = recount(analytics_url)
    assert stored_h == hourly and stored_d == daily
    assert sum(row[-1] for row in stored_d) == 5


async def test_folds_concurrent_with_ingest_count_every_event_once(
    stub, analytics_url, rollups, clean
) -> None:
    rng = random.Random(66)
    installs = [str(uuid.uuid4()) for _ in range(20)]
    batches = [
        [
            make_event(
                rng.choice(["file_opened", "editor_started"]),
                None,
                install_id=rng.choice(installs),
                client_time=NOW - timedelta(hours=rng.randint(0, 72)),
            )
            for _ in range(rng.randint(50, 300))
        ]
        for _ in range(24)
    ]
    # editor_started takes no properties; make_event gives file_opened its language.
    done = asyncio.Event()

    async def send(chunk) -> None:  # type: ignore[no-untyped-def]
        for batch in chunk:
            answer = await stub.BatchIngestEvents(spb.BatchIngestEventsRequest(events=batch))
            assert answer.accepted_count == len(batch)

    async def fold_meanwhile() -> int:
        folds = 0
        while not done.is_set():
            await rollups.fold_rollups()
            folds += 1
        return folds

    folder = asyncio.create_task(fold_meanwhile())
    try:
        await asyncio.gather(*(send(batches[i::4]) for i in range(4)))
    finally:
        done.set()
    assert await folder >= 1
    await rollups.fold_rollups()

    hourly, stored_h, daily, stored_d = recount(analytics_url)
    assert stored_h == hourly and stored_d == daily
    assert sum(row[-1] for row in stored_d) == sum(len(b) for b in batches)
