"""What the sync domain needs from the outside world."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, Protocol, Self

from symphony_sync.domain.models import (
    ChangesRead,
    DeleteUserDataResult,
    Device,
    Item,
    PushStart,
    Snapshot,
    StoredRequest,
    UserState,
)


class SyncRepository(Protocol):
    # users: the per-user counter row
    async def lock_user(self, user_id: str) -> UserState:
        """The user's row, created when missing, locked until the transaction ends."""

    async def get_user(self, user_id: str) -> UserState | None: ...

    async def save_user(self, state: UserState, now: datetime) -> None: ...

    # push (after try_lock_request)
    async def start_push(
        self,
        user_id: str,
        method: str,
        request_id: str,
        device: str,
        keys: Sequence[tuple[str, str]],
        now: datetime,
    ) -> PushStart:
        """Lock the user's row; read the stored request, the device and the items."""

    async def write_push(
        self,
        user_id: str,
        writes: Sequence[tuple[Item, int | None]],
        depth: int,
        state: UserState,
        request: StoredRequest,
        now: datetime,
    ) -> int:
        """Compare-and-set every item (expected revision, None: must not exist), add history,
        prune it to `depth`, save `state`, store the result; answers how many CAS succeeded."""

    async def read_changes(
        self,
        user_id: str,
        device: str,
        after: int,
        upto: int | None,
        include: Sequence[str],
        limit: int,
        max_bytes: int,
    ) -> ChangesRead:
        """One snapshot: counter, device, and changes in (after, min(upto, revision)] outside
        the device's excluded collections, at most `limit` rows and about `max_bytes`."""

    # idempotency
    async def try_lock_request(self, user_id: str, method: str, request_id: str) -> bool:
        """A transaction-scoped lock on the request id; False when another call holds it."""

    async def get_request(
        self, user_id: str, method: str, request_id: str, now: datetime
    ) -> tuple[bytes, Any] | None: ...

    async def store_request(
        self,
        user_id: str,
        method: str,
        request_id: str,
        fingerprint: bytes,
        result: Any,
        now: datetime,
        expire_time: datetime,
    ) -> None: ...

    # items
    async def get_items(
        self, user_id: str, keys: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], Item]: ...

    async def cas_item(self, user_id: str, item: Item, expected_revision: int | None) -> bool:
        """Write `item` as the current version if the stored one is still at
        `expected_revision` (None: no row exists). False when the comparison failed."""

    async def add_version(self, user_id: str, item: Item) -> None: ...

    async def prune_history(self, user_id: str, collection: str, key: str, depth: int) -> None: ...

    async def get_version(
        self, user_id: str, collection: str, key: str, revision: int
    ) -> Item | None: ...

    async def list_versions(
        self,
        user_id: str,
        collection: str,
        key: str,
        before_revision: int | None,
        limit: int,
        not_before: datetime,
    ) -> list[Item]: ...

    async def changes_since(
        self,
        user_id: str,
        since: int,
        upto: int,
        include: Sequence[str],
        exclude: Sequence[str],
        limit: int,
        max_bytes: int,
    ) -> list[Item]: ...

    async def live_items(self, user_id: str) -> list[Item]: ...

    async def delete_all_items(self, user_id: str) -> int: ...

    # devices
    async def get_device(self, user_id: str, uid: str) -> Device | None: ...

    async def count_devices(self, user_id: str) -> int: ...

    async def list_devices(
        self, user_id: str, after: tuple[datetime, str] | None, limit: int
    ) -> list[Device]: ...

    async def insert_device(self, user_id: str, device: Device) -> None: ...

    async def update_device(self, user_id: str, device: Device) -> None: ...

    async def delete_device(self, user_id: str, uid: str) -> bool: ...

    async def touch_device(self, user_id: str, uid: str, now: datetime) -> None: ...

    # snapshots
    async def create_snapshot_of_live_items(self, user_id: str, snapshot: Snapshot) -> Snapshot: ...

    async def get_snapshot(self, user_id: str, uid: str) -> Snapshot | None: ...

    async def list_snapshots(
        self, user_id: str, after: tuple[datetime, str] | None, limit: int
    ) -> list[Snapshot]: ...

    async def snapshot_items(self, user_id: str, uid: str) -> list[Item]: ...

    async def prune_snapshots(self, user_id: str, keep: int) -> None: ...

    # erasure and retention
    async def delete_user_data(self, user_id: str) -> DeleteUserDataResult: ...

    async def purge_tombstones(self, before: datetime) -> int: ...

    async def purge_history(self, before: datetime) -> int: ...

    async def purge_requests(self, now: datetime) -> int: ...

    async def purge_snapshots(self, now: datetime) -> int: ...


class SyncUnitOfWork(Protocol):
    @property
    def repo(self) -> SyncRepository: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def commit(self) -> None: ...

    async def set_read_only_snapshot(self) -> None:
        """Make this transaction a consistent read-only snapshot (REPEATABLE READ)."""


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
