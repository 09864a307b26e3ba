"""Analytics use cases. Imports no framework: storage through the unit-of-work port, the
registry through `RegistryDirectory`, rate limits through `RateLimiter`."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from symphony_analytics.domain.catalogue import SEMVER, EventValidator, SchemaCatalogue
from symphony_analytics.domain.models import (
    ActiveInstallsResult,
    BucketFigure,
    DownloadCount,
    DroppedResult,
    EncodedBatch,
    EventSchema,
    EventTotal,
    ExtensionDay,
    ExtensionFigures,
    ExtensionPoint,
    ExtensionStatsResult,
    Filters,
    GroupTotal,
    IncomingEvent,
    IngestOutcome,
    Interval,
    Period,
    Reason,
    Rejection,
    Series,
    SeriesPoint,
    StoredEvent,
    TimeSeriesResult,
    TopEventsResult,
    VersionFigures,
)
from symphony_analytics.domain.ports import (
    AnalyticsUnitOfWork,
    BatchEncoder,
    IngestUnitOfWorkFactory,
    Maintenance,
    RateLimiter,
    RegistryDirectory,
)
from symphony_common.context import Principal
from symphony_common.errors import (
    Aborted,
    DeadlineExceeded,
    FieldViolation,
    InvalidArgument,
    NotFound,
    QuotaViolation,
    ResourceExhausted,
    ResourceRef,
    Unavailable,
    invalid_field,
)

MAX_FILTERS = 10
MAX_DOWNLOAD_ROWS = 1000
NAME_PART = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")
ANALYTICS_READ = "analytics.read"
EXTENSION_EVENTS = ("extension_installed", "extension_uninstalled", "extension_active")


class PartitionMissing(Exception):
    """A row fell outside the partitions created so far (raised by the repository)."""


@dataclass(frozen=True)
class AnalyticsPolicy:
    suppression_threshold: int = 5
    install_events_per_window: int = 3_000
    address_events_per_window: int = 30_000
    address_queries_per_window: int = 600
    rate_window_seconds: int = 60
    max_concurrent_ingest: int = 8
    overload_wait_seconds: float = 5.0
    stream_idle_seconds: float = 30.0
    partition_days_ahead: int = 7
    salt: str = ""  # keys the hashed address in rate-limit keys; never stored


@dataclass
class _StreamState:
    outcome: IngestOutcome = field(default_factory=IngestOutcome)
    seen: set[tuple[str, str]] = field(default_factory=set)  # (install_id, event_id)
    count: int = 0


@dataclass(frozen=True)
class IngestMessage:
    events: Sequence[IncomingEvent]
    sent_time: datetime | None
    encoded_size: int


def storage_unavailable() -> Unavailable:
    return Unavailable(
        "STORAGE_UNAVAILABLE",
        "the event store is unavailable; nothing was recorded, resend with the same ids",
        retry_after_seconds=1.0,
    )


@contextlib.contextmanager
def _storage() -> Iterator[None]:
    """The shared `DATABASE_UNAVAILABLE` becomes this contract's `STORAGE_UNAVAILABLE`."""
    try:
        yield
    except Unavailable as error:
        if error.reason in ("DATABASE_UNAVAILABLE", "STORAGE_UNAVAILABLE"):
            raise storage_unavailable() from None
        raise


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def _time_range(events: list[StoredEvent] | EncodedBatch) -> tuple[datetime, datetime]:
    """The first and last event time of what is being stored (for missing partitions)."""
    if isinstance(events, EncodedBatch):
        return events.first_event_time, events.last_event_time
    return min(e.event_time for e in events), max(e.event_time for e in events)


def floor_hour(moment: datetime) -> datetime:
    return _utc(moment).replace(minute=0, second=0, microsecond=0)


def floor_day(moment: datetime) -> datetime:
    return _utc(moment).replace(hour=0, minute=0, second=0, microsecond=0)


def floor_period(moment: datetime, period: Period) -> datetime:
    day = floor_day(moment)
    if period == Period.WEEK:
        return day - timedelta(days=day.weekday())
    if period == Period.MONTH:
        return day.replace(day=1)
    return day


def next_bucket(moment: datetime, unit: Interval | Period) -> datetime:
    if unit == Interval.HOUR:
        return moment + timedelta(hours=1)
    if unit == Period.WEEK:
        return moment + timedelta(days=7)
    if unit == Period.MONTH:
        return (moment.replace(day=28) + timedelta(days=4)).replace(day=1)
    return moment + timedelta(days=1)


def floor_unit(moment: datetime, unit: Interval | Period) -> datetime:
    if unit == Interval.HOUR:
        return floor_hour(moment)
    if isinstance(unit, Period):
        return floor_period(moment, unit)
    return floor_day(moment)


def buckets(start: datetime, end: datetime, unit: Interval | Period) -> list[datetime]:
    out, current = [], start
    while current < end:
        out.append(current)
        current = next_bucket(current, unit)
    return out


def _semver_key(version: str) -> tuple[object, ...]:
    match = SEMVER.fullmatch(version)
    if not match:
        return (-1, -1, -1, 0, version)
    major, minor, patch, pre, _ = match.groups()
    # A release sorts above its pre-releases.
    return (int(major), int(minor), int(patch), 0 if pre else 1, pre or "")


class AnalyticsService:
    def __init__(
        self,
        uow: Callable[[], AnalyticsUnitOfWork],
        *,
        catalogue: SchemaCatalogue,
        rate_limiter: RateLimiter,
        registry: RegistryDirectory,
        maintenance: Maintenance | None = None,
        policy: AnalyticsPolicy | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        ingest_uow: IngestUnitOfWorkFactory,
        encoder: BatchEncoder | None = None,
    ) -> None:
        self._uow = uow
        self._ingest_uow = ingest_uow
        self._encoder = encoder
        self.catalogue = catalogue
        self._limiter = rate_limiter
        self._registry = registry
        self._maintenance = maintenance
        self.policy = policy or AnalyticsPolicy()
        self._clock = clock
        self._ingest_slots = asyncio.Semaphore(self.policy.max_concurrent_ingest)

    @property
    def threshold(self) -> int:
        return self.policy.suppression_threshold

    # -- schema -----------------------------------------------------------------------------

    def get_schema(self, version: int) -> EventSchema:
        if version < 0:
            raise invalid_field(
                "version", "must be 0 (current) or a published version", "INVALID_SCHEMA_VERSION"
            )
        schema = self.catalogue.get(version)
        if schema is None:
            raise NotFound(
                "SCHEMA_VERSION_NOT_FOUND",
                "no event schema has this version",
                resource=ResourceRef("EventSchema", f"analytics/schema@{version}"),
            )
        return schema

    # -- ingest -----------------------------------------------------------------------------

    async def ingest_batch(self, message: IngestMessage, address: str) -> IngestOutcome:
        if not message.events:
            raise invalid_field("events", "at least one event is required", "BATCH_EMPTY")
        return await self._ingest(message, address, _StreamState(), index_offset=0)

    async def ingest_encoded_batch(
        self, raw: bytes, address: str, decode: Callable[[], IngestMessage]
    ) -> IngestOutcome:
        """BatchIngestEvents from the request's bytes: when every event is valid the encoder
        turns them into the rows to store at once (same checks, same rows); any other batch
        is `decode`d and validated event by event by `ingest_batch`."""
        schema = self.catalogue.current
        receive_time = self._clock()
        batch = self._encoder(raw, schema, receive_time) if self._encoder else None
        if batch is None:
            return await self.ingest_batch(decode(), address)
        await self._check_ingest_rate_of(batch.count, batch.installs, address)
        accepted, duplicates = await self._store(batch, [], 0, receive_time)
        return IngestOutcome(
            accepted=accepted,
            duplicates=duplicates,
            rejected=[],
            schema_version=schema.version,
        )

    async def ingest_stream(
        self, messages: AsyncIterator[IngestMessage], address: str
    ) -> IngestOutcome:
        state = _StreamState()
        limit = self.catalogue.current.limits.max_stream_events
        while True:
            try:
                message = await asyncio.wait_for(anext(messages), self.policy.stream_idle_seconds)
            except StopAsyncIteration:
                break
            except TimeoutError:
                raise DeadlineExceeded(
                    "STREAM_IDLE",
                    "no message arrived for too long; resend the events not acknowledged",
                ) from None
            if not message.events:
                continue
            if state.count + len(message.events) > limit:
                await self._count_call_drop(Reason.BATCH_TOO_LARGE, len(message.events))
                raise invalid_field(
                    "events", f"a stream carries at most {limit} events", "STREAM_TOO_LARGE"
                )
            offset = state.count
            await self._ingest(message, address, state, index_offset=offset)
        state.outcome.schema_version = self.catalogue.current.version
        return state.outcome

    async def _ingest(
        self, message: IngestMessage, address: str, state: _StreamState, *, index_offset: int
    ) -> IngestOutcome:
        schema = self.catalogue.current
        limits = schema.limits
        if (
            len(message.events) > limits.max_batch_events
            or message.encoded_size > limits.max_batch_bytes
        ):
            await self._count_call_drop(Reason.BATCH_TOO_LARGE, len(message.events))
            raise InvalidArgument(
                "BATCH_TOO_LARGE",
                f"a batch carries at most {limits.max_batch_events} events"
                f" and {limits.max_batch_bytes} bytes",
                field_violations=[
                    FieldViolation("events", "the batch is too large", "BATCH_TOO_LARGE")
                ],
            )
        await self._check_ingest_rate(message.events, address)

        receive_time = self._clock()
        skew = receive_time - message.sent_time if message.sent_time else timedelta(0)
        validate = EventValidator(schema, receive_time, skew)
        valid: list[StoredEvent] = []
        rejected: list[Rejection] = []
        in_batch_duplicates = 0
        for position, event in enumerate(message.events, index_offset):
            result = validate(event, position)
            if isinstance(result, Rejection):
                rejected.append(result)
                continue
            key = (result.install_id, result.event_id)  # an event's identity, as in the dedupe
            if key in state.seen:
                in_batch_duplicates += 1
                continue
            state.seen.add(key)
            valid.append(result)

        stored = await self._store(valid, rejected, in_batch_duplicates, receive_time)
        outcome = IngestOutcome(
            accepted=stored[0],
            duplicates=stored[1] + in_batch_duplicates,
            rejected=rejected,
            schema_version=schema.version,
        )
        state.count += len(message.events)
        state.outcome.add(outcome)
        return outcome

    async def _store(
        self,
        valid: list[StoredEvent] | EncodedBatch,
        rejected: list[Rejection],
        in_batch_duplicates: int,
        receive_time: datetime,
    ) -> tuple[int, int]:
        slots = self._ingest_slots
        try:
            if slots.locked():
                await asyncio.wait_for(slots.acquire(), self.policy.overload_wait_seconds)
            else:
                await slots.acquire()  # at once; wait_for would start a task and a timer
        except TimeoutError:
            raise ResourceExhausted(
                "INGEST_OVERLOADED",
                "ingest is overloaded; resend later with the same ids",
                retry_after_seconds=1.0,
                quota_violations=[QuotaViolation("ingest", "too many concurrent ingest calls")],
            ) from None
        try:
            drops = [(r.reason, r.event) for r in rejected]
            bucket = floor_hour(receive_time)
            # The usual batch (all valid) is one statement: its own transaction, no BEGIN/COMMIT.
            single = bool(valid) and not drops
            for attempt in range(4):
                try:
                    with _storage():
                        async with self._ingest_uow(single_statement=single) as uow:
                            # store() counts what it accepts; nothing to store: count here.
                            result = await (
                                uow.events.store_staged(
                                    valid.staged, valid.count, bucket, in_batch_duplicates
                                )
                                if isinstance(valid, EncodedBatch)
                                else uow.events.store(valid, bucket, in_batch_duplicates)
                            )
                            if drops or not valid:
                                await uow.events.count_dropped(
                                    bucket, drops, 0, 0 if valid else in_batch_duplicates
                                )
                            await uow.commit()
                    return result.accepted, result.duplicates
                except Aborted:
                    if attempt == 3:
                        raise
                    await asyncio.sleep(0.02 * (attempt + 1))
                except PartitionMissing:
                    if attempt == 3 or self._maintenance is None:
                        raise storage_unavailable() from None
                    await self.ensure_partitions(*_time_range(valid))
            raise storage_unavailable()  # pragma: no cover - the loop returns or raises
        finally:
            self._ingest_slots.release()

    async def _count_call_drop(self, reason: Reason, count: int) -> None:
        """Best effort: a refused call is counted when the database is up; it holds no events."""
        if count <= 0:
            return
        with contextlib.suppress(Unavailable, Aborted):
            async with self._ingest_uow() as uow:
                await uow.events.count_dropped(
                    floor_hour(self._clock()), [(reason, "")] * count, 0, 0
                )
                await uow.commit()

    def _address_key(self, kind: str, address: str) -> str:
        digest = hashlib.sha256(f"{self.policy.salt}:{address}".encode()).hexdigest()[:24]
        return f"{kind}:addr:{digest}"

    async def _check_ingest_rate(self, events: Sequence[IncomingEvent], address: str) -> None:
        per_install = Counter(e.install_id for e in events if len(e.install_id) == 36)
        await self._check_ingest_rate_of(len(events), per_install, address)

    async def _check_ingest_rate_of(
        self, count: int, per_install: Mapping[str, int], address: str
    ) -> None:
        """`count` events, `per_install` of them per install id, from `address`."""
        policy = self.policy
        window = policy.rate_window_seconds
        hits: list[tuple[str, int, int]] = []
        if address:
            hits.append(
                (
                    self._address_key("ingest", address),
                    count,
                    policy.address_events_per_window,
                )
            )
        hits.extend(
            (f"ingest:install:{install_id}", cost, policy.install_events_per_window)
            for install_id, cost in per_install.items()
        )
        wait = await self._limiter.hit_many(hits, window) if hits else 0.0
        if wait > 0:
            await self._count_call_drop(Reason.RATE_LIMITED, count)
            raise ResourceExhausted(
                "RATE_LIMITED",
                "too many events from this install or address; resend later with the same ids",
                retry_after_seconds=wait,
                quota_violations=[
                    QuotaViolation("events", "per-install and per-address event rate")
                ],
            )

    async def _check_query_rate(self, address: str) -> None:
        if not address:
            return
        wait = await self._limiter.hit(
            self._address_key("query", address),
            1,
            self.policy.address_queries_per_window,
            self.policy.rate_window_seconds,
        )
        if wait > 0:
            raise ResourceExhausted(
                "RATE_LIMITED",
                "too many queries from this address; retry later",
                retry_after_seconds=wait,
                quota_violations=[QuotaViolation("queries", "per-address query rate")],
            )

    # -- maintenance ------------------------------------------------------------------------

    async def ensure_partitions(
        self, first: datetime | None = None, last: datetime | None = None
    ) -> int:
        if self._maintenance is None:
            return 0
        now = self._clock()
        limits = self.catalogue.current.limits
        first = floor_day(first or now - limits.max_event_age - timedelta(days=1))
        last = floor_day(last or now + timedelta(days=self.policy.partition_days_ahead))
        with _storage():
            return await self._maintenance.ensure_partitions(first, last)

    async def apply_retention(self) -> tuple[int, int]:
        """Drops raw-event partitions past retention and dedupe ids past the dedupe window."""
        if self._maintenance is None:
            return (0, 0)
        now = self._clock()
        privacy = self.catalogue.current.privacy
        with _storage():
            dropped = await self._maintenance.drop_partitions_before(
                floor_day(now - privacy.raw_event_retention)
            )
            # One day of margin: an id is forgotten only after max_event_age refuses its event.
            purged = await self._maintenance.purge_dedupe(
                now - privacy.dedupe_window - timedelta(days=1)
            )
        return dropped, purged

    async def fold_rollups(self) -> int:
        """Fold the rollup deltas of committed batches into the rollups; returns how many."""
        if self._maintenance is None:
            return 0
        with _storage():
            folded, _ = await self._maintenance.fold_rollups()
        return folded

    async def rebuild_rollups(self, start: datetime, end: datetime) -> None:
        if self._maintenance is None:
            return
        with _storage():
            await self._maintenance.rebuild_rollups(
                floor_day(start), floor_day(end - timedelta(microseconds=1)) + timedelta(days=1)
            )

    # -- queries ----------------------------------------------------------------------------

    def _filters(self, raw: Sequence[str], field_name: str = "filters") -> Filters:
        if len(raw) > MAX_FILTERS:
            raise invalid_field(field_name, f"at most {MAX_FILTERS} filters", "INVALID_FILTER")
        schema = self.catalogue.current
        values: dict[str, list[str]] = {}
        for item in raw:
            name, sep, value = item.partition("=")
            if not sep or not name or not value or len(value) > 200:
                raise invalid_field(
                    field_name, "each filter is `dimension=value`", "INVALID_FILTER"
                )
            if schema.dimension(name) is None:
                raise invalid_field(field_name, "names an unknown dimension", "UNKNOWN_DIMENSION")
            if name == "extension":
                value = value.lower()
            values.setdefault(name, []).append(value)
        return Filters({k: tuple(v) for k, v in values.items()})

    def _group_by(self, group_by: str) -> str:
        if group_by and self.catalogue.current.dimension(group_by) is None:
            raise invalid_field("group_by", "is not a dimension of the schema", "UNKNOWN_DIMENSION")
        return group_by

    @staticmethod
    def _group_limit(limit: int, name: str = "group_limit") -> int:
        if limit < 0 or limit > 50:
            raise invalid_field(name, "must be between 1 and 50", "INVALID_LIMIT")
        return limit or 10

    def _range(
        self,
        start: datetime | None,
        end: datetime | None,
        unit: Interval | Period,
        default_span: timedelta,
        max_span: timedelta,
    ) -> tuple[datetime, datetime]:
        end = _utc(end) if end else self._clock()
        start = _utc(start) if start else end - default_span
        if start >= end:
            raise invalid_field("start_time", "must be before end_time", "INVALID_TIME_RANGE")
        if end - start > max_span:
            raise invalid_field(
                "start_time", "the time range is too large for this query", "TIME_RANGE_TOO_LARGE"
            )
        aligned_start = floor_unit(start, unit)
        aligned_end = floor_unit(end, unit)
        if aligned_end < end:
            aligned_end = next_bucket(aligned_end, unit)
        return aligned_start, aligned_end

    def _point(self, bucket: datetime, figure: BucketFigure | None) -> SeriesPoint:
        if figure is None or (figure.installs == 0 and figure.events == 0):
            return SeriesPoint(bucket, 0, 0, False)
        if figure.installs < self.threshold:
            return SeriesPoint(bucket, 0, 0, True)
        return SeriesPoint(bucket, figure.events, figure.installs, False)

    def _eligible(self, totals: list[GroupTotal], limit: int) -> tuple[list[str], bool]:
        ranked = sorted(totals, key=lambda g: (-g.events, -g.installs, g.group))
        chosen = [g.group for g in ranked if g.installs >= self.threshold][:limit]
        return chosen, len(ranked) > len(chosen)

    def _series(
        self,
        figures: list[BucketFigure],
        bucket_starts: list[datetime],
        chosen: list[str] | None,
        has_other: bool,
    ) -> list[Series]:
        by_key = {(f.group, f.bucket): f for f in figures}
        if chosen is None:
            return [Series("", False, [self._point(b, by_key.get(("", b))) for b in bucket_starts])]
        out = [
            Series(g, False, [self._point(b, by_key.get((g, b))) for b in bucket_starts])
            for g in chosen
        ]
        if has_other:
            out.append(
                Series("", True, [self._point(b, by_key.get(("", b))) for b in bucket_starts])
            )
        return out

    async def _data_through(self, uow: AnalyticsUnitOfWork) -> datetime:
        """Rollups trail ingest by up to a fold interval: every batch acknowledged before the
        last fold is in them (the clock's now if the store does not say)."""
        now = self._clock()
        folded = await uow.queries.folded_through()
        return min(now, folded) if folded else now

    async def time_series(
        self,
        *,
        event: str,
        interval: Interval,
        start: datetime | None,
        end: datetime | None,
        group_by: str,
        filters: Sequence[str],
        group_limit: int,
        address: str,
    ) -> TimeSeriesResult:
        await self._check_query_rate(address)
        if self.catalogue.current.event(event) is None:
            raise invalid_field("event", "is not an event of the schema", "UNKNOWN_EVENT")
        group_by = self._group_by(group_by)
        parsed = self._filters(filters)
        limit = self._group_limit(group_limit)
        if interval == Interval.HOUR:
            first, last = self._range(start, end, interval, timedelta(hours=48), timedelta(days=31))
        else:
            first, last = self._range(start, end, interval, timedelta(days=30), timedelta(days=366))
        with _storage():
            async with self._uow() as uow:
                through = await self._data_through(uow)
                chosen: list[str] | None = None
                has_other = False
                if group_by:
                    totals = await uow.queries.event_totals_by_group(
                        event, interval, first, last, group_by, parsed
                    )
                    chosen, has_other = self._eligible(totals, limit)
                figures = await uow.queries.event_buckets(
                    event, interval, first, last, group_by, parsed, chosen
                )
        series = self._series(figures, buckets(first, last, interval), chosen, has_other)
        return TimeSeriesResult(
            event, interval, first, last, group_by, series, self.threshold, through
        )

    async def active_installs(
        self,
        *,
        period: Period,
        start: datetime | None,
        end: datetime | None,
        group_by: str,
        filters: Sequence[str],
        group_limit: int,
        address: str,
    ) -> ActiveInstallsResult:
        await self._check_query_rate(address)
        group_by = self._group_by(group_by)
        parsed = self._filters(filters)
        limit = self._group_limit(group_limit)
        spans = {
            Period.DAY: (timedelta(days=30), timedelta(days=366)),
            Period.WEEK: (timedelta(weeks=26), timedelta(days=2 * 366)),
            Period.MONTH: (timedelta(days=365), timedelta(days=5 * 366)),
        }
        first, last = self._range(start, end, period, *spans[period])
        with _storage():
            async with self._uow() as uow:
                through = await self._data_through(uow)
                chosen: list[str] | None = None
                has_other = False
                if group_by:
                    totals = await uow.queries.active_totals_by_group(first, last, group_by, parsed)
                    chosen, has_other = self._eligible(totals, limit)
                figures = await uow.queries.active_buckets(
                    period, first, last, group_by, parsed, chosen
                )
        series = self._series(figures, buckets(first, last, period), chosen, has_other)
        return ActiveInstallsResult(period, first, last, group_by, series, self.threshold, through)

    async def top_events(
        self,
        *,
        start: datetime | None,
        end: datetime | None,
        filters: Sequence[str],
        limit: int,
        address: str,
    ) -> TopEventsResult:
        await self._check_query_rate(address)
        parsed = self._filters(filters)
        if limit < 0 or limit > 100:
            raise invalid_field("limit", "must be between 1 and 100", "INVALID_LIMIT")
        limit = limit or 10
        first, last = self._range(start, end, Interval.DAY, timedelta(days=30), timedelta(days=366))
        with _storage():
            async with self._uow() as uow:
                through = await self._data_through(uow)
                totals = await uow.queries.top_events(first, last, parsed)
        shown = [
            EventTotal(t.group, t.events, t.installs, False)
            for t in totals
            if t.installs >= self.threshold
        ]
        hidden = [
            EventTotal(t.group, 0, 0, True) for t in totals if 0 < t.installs < self.threshold
        ]
        ranked = sorted(shown, key=lambda e: (-e.events, e.event)) + sorted(
            hidden, key=lambda e: e.event
        )
        return TopEventsResult(ranked[:limit], first, last, self.threshold, through)

    async def dropped_events(
        self, *, start: datetime | None, end: datetime | None, address: str
    ) -> DroppedResult:
        await self._check_query_rate(address)
        first, last = self._range(
            start, end, Interval.HOUR, timedelta(days=30), timedelta(days=366)
        )
        with _storage():
            async with self._uow() as uow:
                counts, accepted, duplicates = await uow.queries.dropped(first, last)
        counts = sorted(counts, key=lambda c: (-c.count, c.reason.value, c.event))
        return DroppedResult(
            counts, sum(c.count for c in counts), accepted, duplicates, first, last
        )

    # -- publisher statistics ---------------------------------------------------------------

    async def extension_stats(
        self,
        *,
        namespace: str,
        extension: str,
        version: str,
        start: datetime | None,
        end: datetime | None,
        principal: Principal,
        address: str,
    ) -> ExtensionStatsResult:
        await self._check_query_rate(address)
        name = f"namespaces/{namespace}/extensions/{extension}"
        if not NAME_PART.fullmatch(namespace) or not NAME_PART.fullmatch(extension):
            raise NotFound(
                "EXTENSION_NOT_FOUND", "no such extension", resource=ResourceRef("Extension", name)
            )
        if version and not SEMVER.fullmatch(version):
            raise NotFound(
                "VERSION_NOT_FOUND",
                "no such version",
                resource=ResourceRef("Version", f"{name}/versions/{version}"),
            )
        first, last = self._range(start, end, Interval.DAY, timedelta(days=30), timedelta(days=366))
        if not await self._registry.extension_exists(namespace, extension, ""):
            raise NotFound(
                "EXTENSION_NOT_FOUND", "no such extension", resource=ResourceRef("Extension", name)
            )
        if version and not await self._registry.extension_exists(namespace, extension, version):
            raise NotFound(
                "VERSION_NOT_FOUND",
                "no such version",
                resource=ResourceRef("Version", f"{name}/versions/{version}"),
            )
        member = (
            principal.is_authenticated
            and principal.has_scope(ANALYTICS_READ)
            and await self._registry.is_member(namespace, principal.user_id)
        )
        extension_id = f"{namespace}.{extension}".lower()
        with _storage():
            async with self._uow() as uow:
                through = await self._data_through(uow)
                rows = await uow.queries.extension_figures(
                    extension_id, namespace.lower(), extension.lower(), version, first, last
                )
        return self._extension_result(
            namespace, extension, version, first, last, rows, member, through
        )

    def _figures(self, row: ExtensionDay | None, member: bool) -> ExtensionFigures:
        if row is None:
            return ExtensionFigures(0, 0, 0, 0, False)
        if not member and 0 < row.distinct_installs < self.threshold:
            return ExtensionFigures(row.downloads, 0, 0, 0, True)
        return ExtensionFigures(
            row.downloads, row.installs, row.uninstalls, row.active_installs, False
        )

    def _extension_result(
        self,
        namespace: str,
        extension: str,
        version: str,
        first: datetime,
        last: datetime,
        rows: list[ExtensionDay],
        member: bool,
        through: datetime,
    ) -> ExtensionStatsResult:
        by_key = {(r.day, r.version): r for r in rows}
        days = buckets(first, last, Interval.DAY)
        versions = sorted(
            {r.version for r in rows if r.version is not None}, key=_semver_key, reverse=True
        )
        if version:
            versions = [v for v in versions if v == version]
        per_version = [
            VersionFigures(
                v,
                self._figures(by_key.get((None, v)), member),
                [ExtensionPoint(d, self._figures(by_key.get((d, v)), member)) for d in days],
            )
            for v in versions
        ]
        return ExtensionStatsResult(
            namespace=namespace,
            extension=extension,
            start=first,
            end=last,
            totals=self._figures(by_key.get((None, None)), member),
            points=[ExtensionPoint(d, self._figures(by_key.get((d, None)), member)) for d in days],
            versions=per_version,
            suppression_applied=not member,
            threshold=self.threshold,
            data_through=through,
        )

    # -- internal ingest --------------------------------------------------------------------

    async def record_downloads(self, counts: Sequence[DownloadCount]) -> tuple[int, int]:
        if not counts:
            raise invalid_field("counts", "at least one row is required", "BATCH_EMPTY")
        if len(counts) > MAX_DOWNLOAD_ROWS:
            raise invalid_field("counts", f"at most {MAX_DOWNLOAD_ROWS} rows", "BATCH_TOO_LARGE")
        now = self._clock()
        violations = []
        for i, row in enumerate(counts):
            problem = ""
            if row.outbox_id <= 0:
                problem = "outbox_id must be positive"
            elif not NAME_PART.fullmatch(row.namespace) or not NAME_PART.fullmatch(row.extension):
                problem = "namespace and extension are required"
            elif not SEMVER.fullmatch(row.version) or len(row.version) > 64:
                problem = "version must be SemVer"
            elif len(row.target_platform) > 32:
                problem = "target_platform is too long"
            elif row.day != floor_day(row.day) or row.day > now:
                problem = "day must be a UTC midnight not in the future"
            elif row.downloads < 1:
                problem = "downloads must be at least 1"
            if problem:
                violations.append(FieldViolation(f"counts[{i}]", problem, "INVALID_DOWNLOAD_COUNT"))
        if violations:
            raise InvalidArgument(
                "INVALID_DOWNLOAD_COUNT",
                "a download count row is invalid; nothing was recorded",
                field_violations=violations,
            )
        unique: dict[int, DownloadCount] = {}
        for row in counts:
            unique.setdefault(row.outbox_id, row)
        with _storage():
            async with self._uow() as uow:
                recorded = await uow.downloads.record(list(unique.values()))
                await uow.commit()
        return recorded, len(counts) - recorded


def figure_key(figure: BucketFigure) -> tuple[str, datetime]:
    return (figure.group, figure.bucket)


__all__ = [
    "EXTENSION_EVENTS",
    "AnalyticsPolicy",
    "AnalyticsService",
    "IngestMessage",
    "PartitionMissing",
    "storage_unavailable",
]
