"""What the sync domain needs from the outside world."""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from datetime import datetime
from typing import Any, Protocol

from symphony_common.transactions import Transaction
from symphony_sync.domain.models import (
    ChangesQuery,
    ChangesRead,
    DeleteUserDataResult,
    Device,
    Item,
    PushStart,
    PushWrite,
    Snapshot,
    UserState,
)


class SyncRepository(Protocol):
    # Methods are typed as returning awaitables: the SQL repository answers some of them with
    # the awaitable of its one statement, without a coroutine of its own.

    # users: the per-user counter row
    def lock_user(self, user_id: str) -> Awaitable[UserState]:
        """The user's row, created when missing, locked until the transaction ends."""

    def get_user(self, user_id: str) -> Awaitable[UserState | None]: ...

    def save_user(self, state: UserState, now: datetime) -> Awaitable[None]: ...

    # push groups: pushes of different users in one transaction
    def start_pushes(
        self,
        method: str,
        pushes: Sequence[tuple[str, str, str, Sequence[tuple[str, str]]]],
        now: datetime,
    ) -> Awaitable[list[PushStart | None]]:
        """For each (user, request id, device, item keys), users all different: take the
        request id's lock (`try_lock_request`; None when another call holds it), lock the
        user's row, read the stored request, the device and the items."""

    def get_items_of(
        self, keys: Sequence[tuple[str, str, str]]
    ) -> Awaitable[dict[tuple[str, str, str], Item]]:
        """Current items by (user, collection, key)."""

    def get_versions_of(
        self, keys: Sequence[tuple[str, str, str, int]]
    ) -> Awaitable[dict[tuple[str, str, str, int], Item]]:
        """History versions by (user, collection, key, revision)."""

    def write_pushes(
        self, method: str, pushes: Sequence[PushWrite], depth: int
    ) -> Awaitable[tuple[int, int]]:
        """Compare-and-set every item, add history and prune it to `depth`, save each
        counter, store each result (never over an unexpired one), stamp due devices; answers
        how many CAS succeeded and how many results were stored."""

    def read_changes(self, queries: Sequence[ChangesQuery]) -> Awaitable[list[ChangesRead]]:
        """Many pages in one snapshot (see `ChangesQuery`): per query the user's counter, the
        device, and the page."""

    # idempotency
    def try_lock_request(self, user_id: str, method: str, request_id: str) -> Awaitable[bool]:
        """A transaction-scoped lock on the request id; False when another call holds it."""

    def get_request(
        self, user_id: str, method: str, request_id: str, now: datetime
    ) -> Awaitable[tuple[bytes, Any] | None]: ...

    def store_request(
        self,
        user_id: str,
        method: str,
        request_id: str,
        fingerprint: bytes,
        result: Any,
        now: datetime,
        expire_time: datetime,
    ) -> Awaitable[None]: ...

    # items
    def get_items(
        self, user_id: str, keys: Sequence[tuple[str, str]]
    ) -> Awaitable[dict[tuple[str, str], Item]]: ...

    def cas_item(self, user_id: str, item: Item, expected_revision: int | None) -> Awaitable[bool]:
        """Write `item` as the current version if the stored one is still at
        `expected_revision` (None: no row exists). False when the comparison failed."""

    def add_version(self, user_id: str, item: Item) -> Awaitable[None]: ...

    def prune_history(
        self, user_id: str, collection: str, key: str, depth: int
    ) -> Awaitable[None]: ...

    def get_version(
        self, user_id: str, collection: str, key: str, revision: int
    ) -> Awaitable[Item | None]: ...

    def list_versions(
        self,
        user_id: str,
        collection: str,
        key: str,
        before_revision: int | None,
        limit: int,
        not_before: datetime,
    ) -> Awaitable[list[Item]]: ...

    def changes_since(
        self,
        user_id: str,
        since: int,
        upto: int,
        include: Sequence[str],
        exclude: Sequence[str],
        limit: int,
        max_bytes: int,
    ) -> Awaitable[list[Item]]: ...

    def live_items(self, user_id: str) -> Awaitable[list[Item]]: ...

    def delete_all_items(self, user_id: str) -> Awaitable[int]: ...

    # devices
    def get_device(self, user_id: str, uid: str) -> Awaitable[Device | None]: ...

    def count_devices(self, user_id: str) -> Awaitable[int]: ...

    def list_devices(
        self, user_id: str, after: tuple[datetime, str] | None, limit: int
    ) -> Awaitable[list[Device]]: ...

    def insert_device(self, user_id: str, device: Device) -> Awaitable[None]: ...

    def update_device(self, user_id: str, device: Device) -> Awaitable[None]: ...

    def delete_device(self, user_id: str, uid: str) -> Awaitable[bool]: ...

    def touch_device(self, user_id: str, uid: str, now: datetime) -> Awaitable[None]: ...

    # snapshots
    def create_snapshot_of_live_items(
        self, user_id: str, snapshot: Snapshot
    ) -> Awaitable[Snapshot]: ...

    def get_snapshot(self, user_id: str, uid: str) -> Awaitable[Snapshot | None]: ...

    def list_snapshots(
        self, user_id: str, after: tuple[datetime, str] | None, limit: int, now: datetime
    ) -> Awaitable[list[Snapshot]]:
        """The user's snapshots unexpired at `now`, newest first, after `after`."""
        ...

    def snapshot_items(self, user_id: str, uid: str) -> Awaitable[list[Item]]: ...

    def prune_snapshots(self, user_id: str, keep: int) -> Awaitable[None]: ...

    # erasure and retention
    def delete_user_data(self, user_id: str) -> Awaitable[DeleteUserDataResult]: ...

    def purge_tombstones(self, before: datetime) -> Awaitable[int]: ...

    def purge_history(self, before: datetime) -> Awaitable[int]: ...

    def purge_requests(self, now: datetime) -> Awaitable[int]: ...

    def purge_snapshots(self, now: datetime) -> Awaitable[int]: ...


class SyncUnitOfWork(Transaction, Protocol):
    @property
    def repo(self) -> SyncRepository: ...

    async def set_read_only_snapshot(self) -> None:
        """Make this transaction a consistent read-only snapshot (REPEATABLE READ)."""


class UnitOfWorkFactory(Protocol):
    def __call__(self, *, single_statement: bool = False) -> SyncUnitOfWork:
        """A new unit of work; `single_statement` when it runs exactly one statement, which is
        its own snapshot (no transaction round trips)."""


class Subscription(Protocol):
    async def wait(self, timeout: float) -> list[str] | None:  # noqa: ASYNC109
        """Events published for the user since the last wait, or None on timeout."""

    def close(self) -> None: ...


class ChangeNotifier(Protocol):
    """The change feed's fan-out: after a commit, tell every replica's watchers of that user.
    Events are hints ("something changed"); watchers always read the changes from PostgreSQL."""

    @property
    def live(self) -> bool:
        """False when the cross-replica bus is down: watchers poll the database instead."""

    async def publish(self, user_id: str, event: str) -> None: ...

    def subscribe(self, user_id: str) -> Subscription: ...

    def wake_all(self, event: str) -> None:
        """Wake every watcher of this process (not published to other replicas)."""
