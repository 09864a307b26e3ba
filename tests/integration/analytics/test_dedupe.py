"""Exactly once per event (its install id and event id) through the real server. A batch of
new ids is stored by plain inserts; the first known id (a retry, or a concurrent batch that
committed it first) makes that statement write nothing and the batch go through the deduping
statement instead. Both must give exact answers, store each id once and keep the rollups equal
to a recount."""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import UTC, datetime, timedelta

import psycopg

from symphony.analytics.v1 import analytics_service_pb2 as spb
from tests.integration.analytics.support import make_event
from tests.integration.analytics.test_queries import recount

SHARDS = 8  # repository.INGEST_SHARDS


def stored_ids(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT event_id FROM analytics.events").fetchall()
        dedupe = conn.execute("SELECT count(*) FROM analytics.event_ids").fetchone()[0]
    assert dedupe == len(rows)
    return [str(r[0]) for r in rows]


async def totals(stub) -> tuple[int, int]:
    answer = await stub.QueryDroppedEvents(spb.QueryDroppedEventsRequest())
    return answer.accepted_total, answer.duplicate_total


async def ingest(stub, events) -> tuple[int, int, int]:
    answer = await stub.BatchIngestEvents(spb.BatchIngestEventsRequest(events=events))
    return answer.accepted_count, answer.duplicate_count, answer.rejected_count


async def assert_rollups_match_raw(url: str, rollups) -> None:
    await rollups.fold_rollups()
    hourly, stored_h, daily, stored_d = recount(url)
    assert stored_h == hourly and stored_d == daily


async def test_a_batch_mixing_stored_and_new_ids_stores_only_the_new_ones(
    stub, analytics_url, rollups, clean
) -> None:
    now = datetime.now(UTC)
    first = [make_event(client_time=now - timedelta(hours=h, minutes=1)) for h in range(20)]
    assert await ingest(stub, first) == (20, 0, 0)
    fresh = [make_event("editor_started") for _ in range(15)]
    mixed = [*first[5:15], *fresh, first[7]]
    random.Random(3).shuffle(mixed)
    # 10 stored before, 1 repeated within the batch: both count as duplicates.
    assert await ingest(stub, mixed) == (15, 11, 0)
    ids = stored_ids(analytics_url)
    assert sorted(ids) == sorted(e.event_id for e in [*first, *fresh])
    assert await totals(stub) == (35, 11)
    # The same batch again: nothing new at all.
    assert await ingest(stub, mixed) == (0, 26, 0)
    assert len(stored_ids(analytics_url)) == 35
    await assert_rollups_match_raw(analytics_url, rollups)


async def test_an_event_is_known_by_its_install_and_its_id(
    stub, analytics_url, rollups, clean
) -> None:
    """The dedupe key is (install_id, event_id): a retry resends the event whole, install id
    included, so it is caught; the same id from another install is another event."""
    shared = str(uuid.uuid4())
    first = make_event(event_id=shared)
    other = make_event(event_id=shared)
    # Within a batch: two events, and the first one's repeat is a duplicate.
    assert await ingest(stub, [first, other, first]) == (2, 1, 0)
    # Across batches: both resent are duplicates; a third install's event is new.
    third = make_event(event_id=shared)
    assert await ingest(stub, [other, first, third]) == (1, 2, 0)
    with psycopg.connect(analytics_url) as conn:
        installs = conn.execute(
            "SELECT install_id::text FROM analytics.events WHERE event_id = %s", (shared,)
        ).fetchall()
    assert sorted(i for (i,) in installs) == sorted(e.install_id for e in (first, other, third))
    assert await totals(stub) == (3, 3)
    await assert_rollups_match_raw(analytics_url, rollups)


async def test_concurrent_batches_sharing_ids_count_each_id_once(
    stub, analytics_url, rollups, clean
) -> None:
    rng = random.Random(11)
    sent: set[str] = set()
    accepted_total = duplicate_total = 0
    for _ in range(8):
        shared = [make_event() for _ in range(60)]
        batches = []
        for _ in range(4):
            own = [make_event("editor_started") for _ in range(rng.randint(0, 40))]
            batch = [*rng.sample(shared, k=rng.randint(20, 60)), *own]
            rng.shuffle(batch)
            batches.append(batch)
        answers = await asyncio.gather(*(ingest(stub, b) for b in batches))
        ids = {e.event_id for b in batches for e in b}
        for batch, (accepted, duplicates, rejected) in zip(batches, answers, strict=True):
            assert accepted + duplicates == len(batch) and rejected == 0
        # Each id accepted by exactly one call, whichever committed it first.
        assert sum(a for a, _, _ in answers) == len(ids)
        sent |= ids
        accepted_total += sum(a for a, _, _ in answers)
        duplicate_total += sum(d for _, d, _ in answers)
    ids = stored_ids(analytics_url)
    assert len(ids) == len(set(ids)) and set(ids) == sent
    assert await totals(stub) == (accepted_total, duplicate_total)
    await assert_rollups_match_raw(analytics_url, rollups)


async def wait_for_lock_wait(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for _ in range(200):
            (waiting,) = conn.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            ).fetchone()
            if waiting:
                return
            await asyncio.sleep(0.025)
    raise AssertionError("the batch never waited on the uncommitted id")


def counters_are_free(url: str) -> None:
    """Every counter shard of this hour (and the next) can be updated at once: no batch holds
    one while it waits on an id."""
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    with psycopg.connect(url) as conn:
        conn.execute("SET lock_timeout = '2s'")
        for bucket in (hour, hour + timedelta(hours=1)):
            for shard in range(SHARDS):
                conn.execute(
                    "INSERT INTO analytics.ingest_counts AS t VALUES (%s, %s, 0, 0)"
                    " ON CONFLICT (bucket, shard) DO UPDATE SET accepted = t.accepted",
                    (bucket, shard),
                )
        conn.rollback()


async def test_a_batch_waiting_on_an_uncommitted_id_gets_the_exact_answer(
    stub, analytics_url, clean
) -> None:
    for holder_commits in (True, False):
        contested = make_event()
        batch = [contested, make_event(), make_event()]
        with psycopg.connect(analytics_url) as holder:
            # Another batch's transaction has the id, not yet committed.
            holder.execute(
                "INSERT INTO analytics.event_ids (install_id, event_id, receive_time)"
                " VALUES (%s, %s, now())",
                (contested.install_id, contested.event_id),
            )
            waiting = asyncio.create_task(ingest(stub, batch))
            await wait_for_lock_wait(analytics_url)
            await asyncio.to_thread(counters_are_free, analytics_url)
            # Other batches are not held up meanwhile.
            assert await asyncio.wait_for(ingest(stub, [make_event()]), 10) == (1, 0, 0)
            assert not waiting.done()
            if holder_commits:
                holder.commit()
            else:
                holder.rollback()
        answer = await asyncio.wait_for(waiting, 10)
        assert answer == ((2, 1, 0) if holder_commits else (3, 0, 0))
    with psycopg.connect(analytics_url) as conn:
        ids = [r[0] for r in conn.execute("SELECT event_id FROM analytics.events")]
    assert len(ids) == len(set(ids)) == (2 + 1) + (3 + 1)  # the committed holder's id: no event
