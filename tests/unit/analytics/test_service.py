"""Use cases with fakes: suppression and group folding, range alignment, limits, backpressure."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from symphony_analytics.adapters.rate_limit import LocalRateLimiter
from symphony_analytics.domain.catalogue import load_catalogue
from symphony_analytics.domain.models import (
    BucketFigure,
    GroupTotal,
    IncomingEvent,
    Interval,
    Period,
    StoreResult,
)
from symphony_analytics.domain.service import (
    AnalyticsPolicy,
    AnalyticsService,
    IngestMessage,
    floor_period,
)
from symphony_common.errors import DomainError, Unavailable

NOW = datetime(2026, 3, 11, 15, 30, tzinfo=UTC)  # a Wednesday


class FakeQueries:
    def __init__(self) -> None:
        self.totals = [
            GroupTotal("linux-x64", 100, 40),
            GroupTotal("web", 50, 3),
            GroupTotal("darwin-arm64", 80, 9),
        ]
        self.figures: list[BucketFigure] = []
        self.asked_groups = None
        self.folded = NOW - timedelta(seconds=2)

    async def event_totals_by_group(self, *args):
        return self.totals

    async def event_buckets(self, event, interval, start, end, group_by, filters, groups):
        self.asked_groups = groups
        return self.figures

    async def folded_through(self):
        return self.folded


class FakeEvents:
    def __init__(self) -> None:
        self.stored = []
        self.fail = False
        self.gate: asyncio.Event | None = None

    async def store(self, events, bucket, extra_duplicates):
        if self.gate:
            await self.gate.wait()
        if self.fail:
            raise Unavailable("DATABASE_UNAVAILABLE", "down")
        self.stored.extend(events)
        return StoreResult(len(events), 0)

    async def count_dropped(self, *args):
        return None


class FakeUow:
    def __init__(self, events: FakeEvents, queries: FakeQueries) -> None:
        self.events = events
        self.queries = queries
        self.committed = False

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        return None

    async def commit(self):
        self.committed = True


class NoRegistry:
    async def extension_exists(self, *args):
        return True

    async def is_member(self, *args):
        return False


def service(
    events=None, queries=None, **policy
) -> tuple[AnalyticsService, FakeEvents, FakeQueries]:
    events = events or FakeEvents()
    queries = queries or FakeQueries()
    svc = AnalyticsService(
        lambda: FakeUow(events, queries),
        catalogue=load_catalogue(),
        rate_limiter=LocalRateLimiter(clock=lambda: NOW.timestamp()),
        registry=NoRegistry(),
        policy=AnalyticsPolicy(**policy),
        clock=lambda: NOW,
        ingest_uow=lambda single_statement=False: FakeUow(events, queries),
    )
    return svc, events, queries


def incoming(
    install: str = "7d7f4c52-4a36-4c5e-9d8e-0f1c2b3a4d5e", n: int = 1
) -> list[IncomingEvent]:
    import uuid

    from symphony_analytics.domain.models import PropertyValue, ValueKind

    return [
        IncomingEvent(
            str(uuid.uuid4()),
            "file_opened",
            NOW,
            install,
            install,
            "1.0.0",
            "web",
            {"language": PropertyValue(ValueKind.STRING, "go")},
            100,
        )
        for _ in range(n)
    ]


async def test_groups_below_threshold_fold_into_other_and_points_are_suppressed() -> None:
    svc, _, queries = service()
    day = NOW.replace(hour=0, minute=0)
    queries.figures = [
        BucketFigure(day, "linux-x64", 10, 6),
        BucketFigure(day, "darwin-arm64", 5, 2),
        BucketFigure(day, "", 7, 3),
    ]
    result = await svc.time_series(
        event="file_opened",
        interval=Interval.DAY,
        start=NOW - timedelta(days=2),
        end=NOW,
        group_by="platform",
        filters=[],
        group_limit=0,
        address="",
    )
    assert queries.asked_groups == ["linux-x64", "darwin-arm64"]  # web (3 installs) is folded away
    assert [(s.group, s.other) for s in result.series] == [
        ("linux-x64", False),
        ("darwin-arm64", False),
        ("", True),
    ]
    assert result.start == (NOW - timedelta(days=2)).replace(hour=0, minute=0)
    assert result.end == day + timedelta(days=1)
    today = {s.group or "other": s.points[-1] for s in result.series}
    assert (today["linux-x64"].events, today["linux-x64"].suppressed) == (10, False)
    assert (today["darwin-arm64"].events, today["darwin-arm64"].suppressed) == (0, True)
    assert today["other"].suppressed
    # The figures are complete up to the last fold of the rollups, not up to now.
    assert result.data_through == queries.folded


def test_iso_weeks_and_months() -> None:
    assert floor_period(NOW, Period.WEEK) == datetime(2026, 3, 9, tzinfo=UTC)
    assert floor_period(NOW, Period.MONTH) == datetime(2026, 3, 1, tzinfo=UTC)


async def test_rate_limit_per_install_refuses_the_whole_call() -> None:
    svc, events, _ = service(install_events_per_window=10)
    await svc.ingest_batch(IngestMessage(incoming(n=10), None, 1000), "10.0.0.1")
    with pytest.raises(DomainError) as error:
        await svc.ingest_batch(IngestMessage(incoming(n=1), None, 100), "10.0.0.1")
    assert error.value.reason == "RATE_LIMITED" and error.value.retry_after_seconds
    other = "0b0c1d2e-3f40-4a5b-8c6d-7e8f90a1b2c3"
    await svc.ingest_batch(IngestMessage(incoming(other, n=1), None, 100), "10.0.0.1")
    assert len(events.stored) == 11


async def test_storage_down_is_unavailable_and_nothing_is_acknowledged() -> None:
    events = FakeEvents()
    events.fail = True
    svc, _, _ = service(events)
    with pytest.raises(DomainError) as error:
        await svc.ingest_batch(IngestMessage(incoming(n=3), None, 300), "")
    assert error.value.reason == "STORAGE_UNAVAILABLE"


async def test_too_many_concurrent_ingests_is_overloaded() -> None:
    events = FakeEvents()
    events.gate = asyncio.Event()
    svc, _, _ = service(events, max_concurrent_ingest=1, overload_wait_seconds=0.05)
    first = asyncio.create_task(svc.ingest_batch(IngestMessage(incoming(), None, 100), ""))
    await asyncio.sleep(0.01)
    with pytest.raises(DomainError) as error:
        await svc.ingest_batch(IngestMessage(incoming(), None, 100), "")
    assert error.value.reason == "INGEST_OVERLOADED"
    events.gate.set()
    assert (await first).accepted == 1


async def test_only_a_batch_without_rejections_is_a_single_statement_unit() -> None:
    """A single-statement unit commits each statement on its own, so the storing and the drop
    counters of a batch with rejections must share one transaction."""
    events, queries = FakeEvents(), FakeQueries()
    units: list[bool] = []

    def ingest_uow(single_statement: bool = False) -> FakeUow:
        units.append(single_statement)
        return FakeUow(events, queries)

    svc = AnalyticsService(
        lambda: FakeUow(events, queries),
        catalogue=load_catalogue(),
        rate_limiter=LocalRateLimiter(clock=lambda: NOW.timestamp()),
        registry=NoRegistry(),
        clock=lambda: NOW,
        ingest_uow=ingest_uow,
    )
    await svc.ingest_batch(IngestMessage(incoming(n=3), None, 300), "")
    bad = incoming(n=1)
    bad[0].platform = "amiga"
    await svc.ingest_batch(IngestMessage(incoming(n=2) + bad, None, 300), "")
    await svc.ingest_batch(IngestMessage(bad, None, 100), "")
    assert units == [True, False, False]
    assert len(events.stored) == 5
