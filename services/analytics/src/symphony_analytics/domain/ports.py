"""What the analytics domain needs from the outside world."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from symphony_analytics.domain.models import (
    BucketFigure,
    DownloadCount,
    DroppedCount,
    EncodedBatch,
    EventSchema,
    ExtensionDay,
    Filters,
    GroupTotal,
    Interval,
    Period,
    Reason,
    StoredEvent,
    StoreResult,
)
from symphony_common.transactions import Transaction


class EventRepository(Protocol):
    async def store(
        self, events: Sequence[StoredEvent], bucket: datetime, extra_duplicates: int
    ) -> StoreResult:
        """Insert the events not seen within the dedupe window (an event is known by its
        (install_id, event_id)), append the rollup deltas of exactly those for the fold, and add
        the accepted and duplicate totals (plus `extra_duplicates`, found before storing) to the
        counters of hour `bucket`, in the unit of work's transaction. Nothing at all when
        `events` is empty. The (install_id, event_id) pairs of `events` are distinct (the
        caller drops repeats within a batch)."""
        ...

    async def store_staged(
        self, staged: Sequence[bytes], count: int, bucket: datetime, extra_duplicates: int
    ) -> StoreResult:
        """`store` of `count` events already in the repository's parameter encoding (an
        `EncodedBatch`'s)."""
        ...

    async def count_dropped(
        self, bucket: datetime, drops: Sequence[tuple[Reason, str]], accepted: int, duplicates: int
    ) -> None:
        """Add (reason, event) drops and the accepted/duplicate totals to the hour's counters."""
        ...


class BatchEncoder(Protocol):
    def __call__(
        self, raw: bytes, schema: EventSchema, receive_time: datetime
    ) -> EncodedBatch | None:
        """A serialized BatchIngestEventsRequest whose every event is valid under `schema`,
        received at `receive_time`, as the parameters to store; None for any other request (the
        caller then validates it event by event)."""
        ...


class QueryRepository(Protocol):
    async def event_totals_by_group(
        self,
        event: str,
        interval: Interval,
        start: datetime,
        end: datetime,
        group_by: str,
        filters: Filters,
    ) -> list[GroupTotal]: ...

    async def event_buckets(
        self,
        event: str,
        interval: Interval,
        start: datetime,
        end: datetime,
        group_by: str,
        filters: Filters,
        groups: Sequence[str] | None,
    ) -> list[BucketFigure]:
        """Per bucket (and group, when `group_by`): events and distinct installs. Groups not in
        `groups` (when given) are reported together under group ''."""
        ...

    async def active_totals_by_group(
        self, start: datetime, end: datetime, group_by: str, filters: Filters
    ) -> list[GroupTotal]: ...

    async def active_buckets(
        self,
        period: Period,
        start: datetime,
        end: datetime,
        group_by: str,
        filters: Filters,
        groups: Sequence[str] | None,
    ) -> list[BucketFigure]: ...

    async def top_events(
        self, start: datetime, end: datetime, filters: Filters
    ) -> list[GroupTotal]: ...

    async def folded_through(self) -> datetime | None:
        """Every batch acknowledged before this time is in the rollups."""
        ...

    async def dropped(self, start: datetime, end: datetime) -> tuple[list[DroppedCount], int, int]:
        """The drop counters by (reason, event), and the accepted and duplicate totals."""
        ...

    async def extension_figures(
        self,
        extension_id: str,
        namespace: str,
        extension: str,
        version: str,
        start: datetime,
        end: datetime,
    ) -> list[ExtensionDay]:
        """Figures per (day, version), per day (version None), per version (day None) and for
        the whole range (both None); distinct installs are counted within each group."""
        ...


class DownloadRepository(Protocol):
    async def record(self, counts: Sequence[DownloadCount]) -> int:
        """Record the rows whose `outbox_id` is new; return how many were."""
        ...


class AnalyticsUnitOfWork(Transaction, Protocol):
    # Read-only to the domain (so an implementation may hold narrower, SQL-typed repositories).
    @property
    def queries(self) -> QueryRepository: ...

    @property
    def downloads(self) -> DownloadRepository: ...


class IngestUnitOfWork(Transaction, Protocol):
    """The ingest path's own unit of work (events only)."""

    @property
    def events(self) -> EventRepository: ...


class IngestUnitOfWorkFactory(Protocol):
    def __call__(self, *, single_statement: bool = False) -> IngestUnitOfWork:
        """A new ingest unit of work; `single_statement` when it runs exactly one statement,
        which is then its own transaction (committed when it returns: no BEGIN/COMMIT). A
        statement that fails has written nothing, so the unit may run another in its place
        (`store` does when a batch meets a known id)."""
        ...


class Maintenance(Protocol):
    """Partition upkeep, retention and rollup rebuilds (run by background jobs and the CLI)."""

    async def ensure_partitions(self, first_day: datetime, last_day: datetime) -> int: ...

    async def drop_partitions_before(self, day: datetime) -> int: ...

    async def purge_dedupe(self, before: datetime) -> int: ...

    async def fold_rollups(self) -> tuple[int, datetime]:
        """Move the pending rollup deltas into the rollups, exactly once; (deltas folded, the
        time before which every committed batch is folded)."""
        ...

    async def rebuild_rollups(self, start: datetime, end: datetime) -> None:
        """Recount the rollups of [start, end) from raw events, dropping their pending deltas."""
        ...


class RateLimiter(Protocol):
    async def hit(self, key: str, cost: int, limit: int, window_seconds: int) -> float:
        """Count `cost` against `key`; return 0 when within `limit`, else the seconds to wait."""
        ...

    async def hit_many(self, hits: Sequence[tuple[str, int, int]], window_seconds: int) -> float:
        """`hit` for each (key, cost, limit) at once; the longest wait."""
        ...


class RegistryDirectory(Protocol):
    """What analytics asks the registry (over gRPC; never its schema)."""

    async def extension_exists(self, namespace: str, extension: str, version: str) -> bool:
        """False when the extension (or, with `version`, that version) does not exist.
        Raises `Unavailable(REGISTRY_UNAVAILABLE)` when the registry cannot answer."""
        ...

    async def is_member(self, namespace: str, user_id: str) -> bool:
        """True when the user has a role in the namespace. Raises `Unavailable` likewise."""
        ...
