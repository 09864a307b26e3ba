"""Sync use cases. Imports no framework: storage through the unit-of-work port, fan-out
through the notifier port.

Concurrency model: every write locks the user's counter row first (`lock_user`), takes its
revisions from it and commits while holding it, so one user's writes commit in revision order
and a pull cursor ("everything up to revision N") never skips a commit. Item writes are
additionally compare-and-set on the stored revision. Idempotency: a transaction-scoped
advisory lock on the request id (a concurrent duplicate fails fast with REQUEST_IN_PROGRESS),
then the stored result, both inside the same transaction as the write, so a crash either
stores result and write together or neither.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from symphony_common.context import Principal
from symphony_common.errors import (
    Aborted,
    PermissionDenied,
    Unauthenticated,
    invalid_field,
    not_found,
)
from symphony_common.pagination import PageTokenCodec, page_size
from symphony_sync.domain import errors, merge
from symphony_sync.domain.batching import Batcher, Call
from symphony_sync.domain.models import (
    BUILTIN_COLLECTIONS,
    COLLECTION_RE,
    DEFAULT_CONTENT_TYPE,
    MERGE_COLLECTIONS,
    Change,
    ChangeResult,
    ChangesQuery,
    ChangesRead,
    ClientContext,
    DeleteUserDataResult,
    Device,
    Item,
    Limits,
    MergeConflict,
    Outcome,
    PullPage,
    PushResult,
    PushStart,
    PushWrite,
    ResetResult,
    RestoreResult,
    Snapshot,
    SnapshotTrigger,
    StoredRequest,
    SyncConfig,
    UserState,
    WatchEvent,
    WatchEventType,
    from_json,
    to_json,
)
from symphony_sync.domain.ports import ChangeNotifier, SyncUnitOfWork, UnitOfWorkFactory

log = logging.getLogger(__name__)
# Devices and snapshots: listed by (create_time, uid), newest first.
_Created = TypeVar("_Created", Device, Snapshot)

READ_SCOPE = "sync.read"
WRITE_SCOPE = "sync.write"
DEVICE_FIELDS = frozenset({"display_name", "excluded_collections", "disabled"})
MIN_HEARTBEAT_SECONDS = 5.0
# Pushes of different users committed in one transaction: at most this many per group, this
# many groups at once.
PUSH_GROUP_SIZE = 64
PUSH_GROUPS = 1
# Page reads coalesced into one statement: at most this many per statement, this many
# statements at once.
READ_BATCH_SIZE = 64
READ_BATCHES = 1
# Under load only (reads arrived while a batch ran), the next read batch starts this long after
# the previous one did, so more reads share its round trip: at 32 pulls in flight, batches grew
# from ~1.6 reads and the server's CPU per pull fell from ~600 to ~450 µs (bench `sync`; 2 ms
# hardly changed it, 8 ms cost throughput). A read on an idle server never waits.
READ_LINGER_SECONDS = 0.003

# Events on the notifier bus.
EVENT_CHANGES = "changes"
EVENT_DEVICES = "devices"
EVENT_RESET = "reset"
EVENT_DELETED = "deleted"
EVENT_SHUTDOWN = "shutdown"  # local only: never published


def utcnow() -> datetime:
    return datetime.now(UTC)


def authorize(principal: Principal, scope: str) -> str:
    if not principal.is_authenticated or not principal.user_id:
        raise Unauthenticated("UNAUTHENTICATED", "sign in: this call needs an access token")
    if not principal.has_scope(scope):
        raise PermissionDenied(
            "INSUFFICIENT_SCOPE",
            f"the token lacks scope {scope}",
            metadata={"required_scope": scope},
        )
    return principal.user_id


def validate_collection(collection: str, path: str = "collection") -> None:
    if not COLLECTION_RE.match(collection or ""):
        raise invalid_field(path, "must match [a-z0-9_.-]{1,32}", "INVALID_COLLECTION")


def validate_key(key: str, limits: Limits, path: str = "key") -> None:
    if not key:
        raise invalid_field(path, "must not be empty", "INVALID_KEY")
    if key in (".", ".."):
        raise invalid_field(path, "must not be '.' or '..'", "INVALID_KEY")
    if len(key.encode("utf-8", "surrogatepass")) > limits.max_key_bytes:
        raise invalid_field(path, f"must be at most {limits.max_key_bytes} bytes", "INVALID_KEY")
    if any(ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F or 0xD800 <= ord(ch) <= 0xDFFF for ch in key):
        raise invalid_field(path, "must not contain control characters", "INVALID_KEY")


def validate_request_id(request_id: str, *, required: bool) -> None:
    if not request_id:
        if required:
            raise errors.invalid_request_id()
        return
    try:
        uuid.UUID(request_id)
    except ValueError:
        raise errors.invalid_request_id() from None
    if len(request_id) > 45:
        raise errors.invalid_request_id()


def is_mergeable(collection: str, mergeable: bool, encrypted: bool) -> bool:
    return not encrypted and (mergeable or collection in MERGE_COLLECTIONS)


def _wants_base(change: Change, cur: Item | None) -> bool:
    """Whether deciding `change` may merge it against the version at its base revision (the
    stale-base path of `SyncService._decide`), which is then read beforehand."""
    return (
        cur is not None
        and not cur.deleted
        and not change.deleted
        and 0 < change.base_revision < cur.revision
        and is_mergeable(change.collection, change.mergeable, change.encrypted)
        and is_mergeable(cur.collection, cur.mergeable, cur.encrypted)
    )


@dataclass
class _Push:
    """A validated push waiting for its group (`SyncService._push_group`)."""

    user: str
    ctx: ClientContext
    request_id: str
    changes: Sequence[Change]
    atomic: bool
    fingerprint: bytes
    now: datetime
    keys: list[tuple[str, str]] = field(init=False)

    def __post_init__(self) -> None:
        self.keys = [(c.collection, c.key) for c in self.changes]


class SyncService:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        *,
        notifier: ChangeNotifier,
        limits: Limits | None = None,
        page_tokens: PageTokenCodec,
        clock: Callable[[], datetime] = utcnow,
        poll_fallback_seconds: float = 1.0,
    ) -> None:
        self._uow = uow
        self.notifier = notifier
        self.limits = limits or Limits()
        self.page_tokens = page_tokens
        self.clock = clock
        self.poll_fallback_seconds = poll_fallback_seconds
        self._streams: dict[str, int] = {}
        # Pushes that arrive together are committed together (one user at a time per group);
        # pulls and watch pages that arrive together are read in one statement.
        self._pushes = Batcher(
            self._push_group,
            max_size=PUSH_GROUP_SIZE,
            max_batches=PUSH_GROUPS,
            key=lambda push: push.user,
        )
        self._running_pushes: set[tuple[str, str]] = set()
        self._reads = Batcher(
            self._read_batch,
            max_size=READ_BATCH_SIZE,
            max_batches=READ_BATCHES,
            linger=READ_LINGER_SECONDS,
        )
        self._shutting_down = False

    # ------------------------------------------------------------------ helpers

    async def _replay(
        self,
        uow: SyncUnitOfWork,
        user: str,
        method: str,
        request_id: str,
        fingerprint: bytes,
        now: datetime,
    ) -> Any | None:
        """The stored result of an earlier call with this request id, or None. Holds the
        request id's lock until the transaction ends."""
        if not request_id:
            return None
        if not await uow.repo.try_lock_request(user, method, request_id):
            raise errors.request_in_progress()
        stored = await uow.repo.get_request(user, method, request_id, now)
        if stored is None:
            return None
        stored_fingerprint, result = stored
        if stored_fingerprint != fingerprint:
            raise errors.request_id_reused()
        return from_json(result)

    async def _remember(
        self,
        uow: SyncUnitOfWork,
        user: str,
        method: str,
        request_id: str,
        fingerprint: bytes,
        result: Any,
        now: datetime,
    ) -> None:
        if request_id:
            await uow.repo.store_request(
                user,
                method,
                request_id,
                fingerprint,
                to_json(result),
                now,
                now + self.limits.idempotency_retention,
            )

    @staticmethod
    def _check_generation(state: UserState, generation: int) -> None:
        if generation < 0:
            raise invalid_field("generation", "must not be negative", "INVALID_GENERATION")
        if generation and generation != state.generation:
            raise errors.generation_changed(state.generation)

    async def _check_device(
        self, uow: SyncUnitOfWork, user: str, uid: str, now: datetime
    ) -> Device | None:
        if not uid:
            return None
        device = await uow.repo.get_device(user, uid) if len(uid) <= 64 else None
        if device is None:
            raise not_found("device", uid, "DEVICE_NOT_FOUND")
        if device.disabled:
            raise errors.device_disabled(uid)
        if device.last_seen_time is None or now - device.last_seen_time >= timedelta(minutes=1):
            await uow.repo.touch_device(user, uid, now)
        return device

    async def _publish(self, user: str, event: str) -> None:
        try:
            await self.notifier.publish(user, event)
        except Exception:  # the change is committed; watchers fall back to polling
            log.warning("change notification failed", exc_info=True)

    def _validate_collections(
        self, collections: Sequence[str], path: str = "collections"
    ) -> list[str]:
        for i, collection in enumerate(collections):
            validate_collection(collection, f"{path}[{i}]")
        return sorted(set(collections))

    def begin_shutdown(self) -> None:
        """The replica drains: every watch stream ends with UNAVAILABLE (SHUTTING_DOWN) so its
        client reconnects elsewhere at once instead of being cut at the end of the grace."""
        self._shutting_down = True
        self.notifier.wake_all(EVENT_SHUTDOWN)

    # ------------------------------------------------------------------ config

    async def get_config(self, principal: Principal) -> SyncConfig:
        user = authorize(principal, READ_SCOPE)
        async with self._uow() as uow:
            state = await uow.repo.get_user(user) or UserState(user)
        return SyncConfig(
            user_id=user,
            limits=self.limits,
            generation=state.generation,
            latest_revision=state.revision,
            usage_bytes=state.usage_bytes,
            item_count=state.item_count,
        )

    @staticmethod
    def builtin_collections() -> tuple[str, ...]:
        return BUILTIN_COLLECTIONS

    # ------------------------------------------------------------------ push

    def _validate_changes(self, changes: Sequence[Change]) -> None:
        limits = self.limits
        if not changes:
            raise invalid_field("changes", "a push needs at least one change", "EMPTY_BATCH")
        if len(changes) > limits.max_batch_changes:
            raise errors.quota(
                "BATCH_TOO_LARGE",
                "changes",
                f"a push holds at most {limits.max_batch_changes} changes",
            )
        total = 0
        seen: set[tuple[str, str]] = set()
        for i, change in enumerate(changes):
            path = f"changes[{i}]"
            validate_collection(change.collection, f"{path}.collection")
            validate_key(change.key, limits, f"{path}.key")
            if (change.collection, change.key) in seen:
                raise invalid_field(
                    f"{path}.key", "the same item appears twice in the batch", "DUPLICATE_KEY"
                )
            seen.add((change.collection, change.key))
            if change.base_revision < 0:
                raise invalid_field(
                    f"{path}.base_revision", "must not be negative", "INVALID_BASE_REVISION"
                )
            if change.deleted and change.value:
                raise invalid_field(
                    f"{path}.value", "a deletion carries no value", "TOMBSTONE_WITH_VALUE"
                )
            if len(change.value) > limits.max_item_bytes:
                raise errors.quota(
                    "ITEM_TOO_LARGE",
                    f"{path}.value",
                    f"{path}.value: an item holds at most {limits.max_item_bytes} bytes",
                )
            if len(change.content_type) > 255:
                raise invalid_field(
                    f"{path}.content_type", "at most 255 characters", "INVALID_CONTENT_TYPE"
                )
            if (
                not change.deleted
                and is_mergeable(change.collection, change.mergeable, change.encrypted)
                and merge.parse_object(change.value) is None
            ):
                raise invalid_field(
                    f"{path}.value",
                    "a mergeable item's value must be a JSON object",
                    "VALUE_NOT_JSON_OBJECT",
                )
            total += len(change.key.encode()) + len(change.value)
        if total > limits.max_batch_bytes:
            raise errors.quota(
                "BATCH_TOO_LARGE", "changes", f"a push holds at most {limits.max_batch_bytes} bytes"
            )

    async def push(
        self,
        principal: Principal,
        ctx: ClientContext,
        request_id: str,
        changes: Sequence[Change],
        *,
        atomic: bool,
        fingerprint: bytes,
    ) -> PushResult:
        user = authorize(principal, WRITE_SCOPE)
        validate_request_id(request_id, required=True)
        self._validate_changes(changes)
        # A duplicate of a push still running here fails fast, as one running on another
        # replica does (its request-id lock).
        running = (user, request_id)
        if running in self._running_pushes:
            raise errors.request_in_progress()
        self._running_pushes.add(running)
        try:
            return await self._pushes.submit(
                _Push(user, ctx, request_id, changes, atomic, fingerprint, self.clock())
            )
        finally:
            self._running_pushes.discard(running)

    async def _push_group(self, calls: list[Call[_Push, PushResult]]) -> None:
        """Pushes of different users that arrived together, in one transaction: one commit
        (and one round trip per statement) for all. Each is answered after that commit; a push
        refused on its own (a conflict, a quota, a replay) is answered at once and writes
        nothing. When the group's transaction fails, every push not yet answered runs again in
        a transaction of its own, so a failure stays with the push that caused it."""
        try:
            await self._push_together(calls)
        except Exception:
            if len(calls) == 1:
                raise
            log.info("push group failed; retrying its pushes one by one", exc_info=True)
            await asyncio.gather(*(self._push_alone(call) for call in calls if call.pending))

    async def _push_alone(self, call: Call[_Push, PushResult]) -> None:
        try:
            await self._push_together([call])
        except Exception as error:
            call.fail(error)

    async def _push_together(self, calls: list[Call[_Push, PushResult]]) -> None:
        # Round trips for the whole group: BEGIN; the start (request-id locks, users' row
        # locks, stored results, devices, items); (items again for users another write got
        # to first; history bases for merges); one write; COMMIT.
        planned: list[tuple[Call[_Push, PushResult], PushResult, PushWrite]] = []
        async with self._uow() as uow:
            pushes = [call.request for call in calls]
            found = await uow.repo.start_pushes(
                "Push",
                [(p.user, p.request_id, p.ctx.device, p.keys) for p in pushes],
                pushes[0].now,
            )
            held: list[tuple[Call[_Push, PushResult], PushStart]] = []
            for call, start in zip(calls, found, strict=True):
                if start is None:
                    call.fail(errors.request_in_progress())
                else:
                    held.append((call, start))
            stale = [(call.request, start) for call, start in held if start.items is None]
            if stale:  # another write of these users committed meanwhile: read again
                items = await uow.repo.get_items_of(
                    [(p.user, c, k) for p, _ in stale for c, k in p.keys]
                )
                for p, start in stale:
                    start.items = {
                        (c, k): items[(p.user, c, k)] for c, k in p.keys if (p.user, c, k) in items
                    }
            wanted = [
                (call.request.user, change.collection, change.key, change.base_revision)
                for call, start in held
                if start.stored is None
                for change in call.request.changes
                if _wants_base(change, (start.items or {}).get((change.collection, change.key)))
            ]
            bases = await uow.repo.get_versions_of(wanted) if wanted else {}
            for call, start in held:
                try:
                    outcome = self._plan_push(call.request, start, bases)
                except Exception as error:  # refused: this push writes nothing
                    call.fail(error)
                    continue
                if isinstance(outcome, PushResult):  # a replay
                    call.succeed(outcome)
                else:
                    planned.append((call, *outcome))
            if not planned:
                return
            writes = [write for _, _, write in planned]
            written, stored = await uow.repo.write_pushes("Push", writes, self.limits.history_depth)
            if stored != len(writes):
                # A duplicate on another replica committed after the start's snapshot: run
                # again, and the stored result is found.
                raise Aborted(
                    "REQUEST_IN_PROGRESS",
                    "a call with this request id finished meanwhile; retry with the same id",
                    retry_after_seconds=0.05,
                )
            if written != sum(len(write.writes) for write in writes):
                # Cannot happen while the users' rows are locked, unless retention purged a
                # tombstone underneath us: the caller retries.
                raise Aborted(
                    "TRANSACTION_ABORTED",
                    "a concurrent change got there first; retry",
                    retry_after_seconds=0.05,
                )
            await uow.commit()
        for call, result, _ in planned:
            call.succeed(result)
        for _, _, write in planned:
            if write.writes:
                await self._publish(write.state.user_id, EVENT_CHANGES)

    def _plan_push(
        self, push: _Push, start: PushStart, bases: dict[tuple[str, str, str, int], Item]
    ) -> PushResult | tuple[PushResult, PushWrite]:
        """A push's answer from what its start read: the stored result (a replay), or its
        result and what to write; raises the error that refuses it."""
        user, ctx, changes, now = push.user, push.ctx, push.changes, push.now
        if start.stored is not None:
            stored_fingerprint, stored_result = start.stored
            if stored_fingerprint != push.fingerprint:
                raise errors.request_id_reused()
            replayed: PushResult = from_json(stored_result)
            replayed.replayed = True
            return replayed
        state = start.state
        self._check_generation(state, ctx.generation)
        device = start.device
        touch = ""
        if ctx.device:
            if device is None:
                raise not_found("device", ctx.device, "DEVICE_NOT_FOUND")
            if device.disabled:
                raise errors.device_disabled(ctx.device)
            for i, change in enumerate(changes):
                if change.collection in device.excluded_collections:
                    raise errors.collection_excluded(f"changes[{i}].collection", change.collection)
            if device.last_seen_time is None or now - device.last_seen_time >= timedelta(minutes=1):
                touch = ctx.device
        current = start.items or {}

        results: list[ChangeResult] = []
        writes: list[tuple[Item, int | None]] = []
        revision = state.revision
        usage, count = state.usage_bytes, state.item_count
        for i, change in enumerate(changes):
            cur = current.get((change.collection, change.key))
            base = bases.get((user, change.collection, change.key, change.base_revision))
            outcome, new_value, merge_conflict = self._decide(change, cur, base)
            if outcome is Outcome.CONFLICT:
                results.append(ChangeResult(i, Outcome.CONFLICT, cur, merge_conflict))
                continue
            if new_value is None:  # merged to exactly the server's value: nothing to write
                results.append(ChangeResult(i, Outcome.MERGED, cur))
                continue
            revision += 1
            item = Item(
                collection=change.collection,
                key=change.key,
                value=b"" if change.deleted else new_value,
                content_type=change.content_type or DEFAULT_CONTENT_TYPE,
                encrypted=change.encrypted,
                mergeable=is_mergeable(change.collection, change.mergeable, change.encrypted),
                revision=revision,
                device=ctx.device,
                update_time=now,
                deleted=change.deleted,
            )
            usage += item.size_bytes - (cur.size_bytes if cur else 0)
            count += int(not item.deleted) - int(cur is not None and not cur.deleted)
            writes.append((item, cur.revision if cur else None))
            stored_item = item if outcome is Outcome.MERGED else replace(item, value=b"")
            results.append(ChangeResult(i, outcome, stored_item))

        conflicts = [r for r in results if r.outcome is Outcome.CONFLICT]
        if push.atomic and conflicts:
            raise errors.revision_conflict(conflicts)
        if usage > self.limits.quota_bytes and usage > state.usage_bytes:
            raise errors.quota(
                "QUOTA_EXCEEDED",
                f"users/{user}",
                f"the push would use {usage} bytes of a {self.limits.quota_bytes}-byte quota",
            )
        state.revision, state.usage_bytes, state.item_count = revision, usage, count
        result = PushResult(results=results, latest_revision=state.revision)
        request = StoredRequest(
            "Push",
            push.request_id,
            push.fingerprint,
            to_json(result),
            now + self.limits.idempotency_retention,
        )
        return result, PushWrite(state, writes, request, now, touch)

    async def _write_items(
        self, uow: SyncUnitOfWork, user: str, writes: Sequence[tuple[Item, Item | None]]
    ) -> None:
        for item, cur in writes:
            if not await uow.repo.cas_item(user, item, cur.revision if cur else None):
                # Cannot happen while the user's row is locked, unless retention purged the
                # tombstone underneath us: the caller retries.
                raise Aborted(
                    "TRANSACTION_ABORTED",
                    "a concurrent change got there first; retry",
                    retry_after_seconds=0.05,
                )
            await uow.repo.add_version(user, item)
            await uow.repo.prune_history(user, item.collection, item.key, self.limits.history_depth)

    @staticmethod
    def _decide(
        change: Change, cur: Item | None, base_item: Item | None
    ) -> tuple[Outcome, bytes | None, MergeConflict | None]:
        """APPLIED with the value to write, MERGED with the merged value (None when it equals
        the server's), or CONFLICT (with the merge conflict when one was attempted).
        `base_item`: the history version at the change's base revision (see `_wants_base`),
        None when it is not kept."""
        current_revision = cur.revision if cur else 0
        if change.base_revision == 0:
            if cur is None or cur.deleted:
                return Outcome.APPLIED, change.value, None
            return Outcome.CONFLICT, None, None
        if cur is not None and change.base_revision == current_revision:
            return Outcome.APPLIED, change.value, None
        # A stale base.
        if (
            cur is None
            or cur.deleted
            or change.deleted
            or not is_mergeable(change.collection, change.mergeable, change.encrypted)
            or not is_mergeable(cur.collection, cur.mergeable, cur.encrypted)
        ):
            return Outcome.CONFLICT, None, None
        server = merge.parse_object(cur.value)
        client = merge.parse_object(change.value)
        if server is None or client is None:
            return Outcome.CONFLICT, None, None
        if change.base_revision > current_revision:
            base_item = None
        base: dict[str, Any] | None = None
        if base_item is not None:
            base = {} if base_item.deleted else merge.parse_object(base_item.value)
        outcome = merge.three_way(base, server, client)
        if outcome.conflicts:
            return (
                Outcome.CONFLICT,
                None,
                MergeConflict(
                    base_revision=change.base_revision,
                    server_revision=current_revision,
                    base_available=base is not None,
                    keys=outcome.conflicts,
                    merged_value=merge.dump(outcome.merged),
                ),
            )
        if merge._canon(outcome.merged) == merge._canon(server):
            return Outcome.MERGED, None, None
        return Outcome.MERGED, merge.dump(outcome.merged), None

    # ------------------------------------------------------------------ pull

    def _check_read_device(self, ctx: ClientContext, device: Device | None) -> bool:
        """The device rules of a read; True when its last-seen stamp is due."""
        if not ctx.device:
            return False
        if device is None:
            raise not_found("device", ctx.device, "DEVICE_NOT_FOUND")
        if device.disabled:
            raise errors.device_disabled(ctx.device)
        return device.last_seen_time is None or self.clock() - device.last_seen_time >= timedelta(
            minutes=1
        )

    async def _touch_device(self, user: str, uid: str) -> None:
        # At most once a minute per device, in its own short transaction.
        async with self._uow() as uow:
            await uow.repo.touch_device(user, uid, self.clock())
            await uow.commit()

    async def _read_batch(self, calls: list[Call[ChangesQuery, ChangesRead]]) -> None:
        async with self._uow(single_statement=True) as uow:
            reads = await uow.repo.read_changes([call.request for call in calls])
            await uow.commit()
        for call, read in zip(calls, reads, strict=True):
            call.succeed(read)

    async def _read_changes(
        self,
        user: str,
        ctx: ClientContext,
        after: int,
        upto: int | None,
        include: Sequence[str],
        size: int,
        since_for_reset: int,
    ) -> PullPage:
        """One page in one statement (one snapshot: the page and its cursor agree), with the
        device checks (its excluded collections filter the page) from the same snapshot."""
        if ctx.generation < 0:
            raise invalid_field("generation", "must not be negative", "INVALID_GENERATION")
        read = await self._reads.submit(
            ChangesQuery(
                user, ctx.device, after, upto, include, size + 1, self.limits.max_batch_bytes
            )
        )
        if self._check_read_device(ctx, read.device):
            await self._touch_device(user, ctx.device)
        state = read.state or UserState(user)
        self._check_generation(state, ctx.generation)
        if since_for_reset > state.revision:
            raise errors.invalid_cursor("is beyond the user's latest revision")
        if 0 < since_for_reset < state.tombstone_floor:
            return PullPage(
                [], 0, None, state.revision, reset_required=True, generation=state.generation
            )
        end = state.revision if upto is None else min(upto, state.revision)
        rows = read.items
        page: list[Item] = []
        total = 0
        for row in rows[:size]:
            item_bytes = len(row.key.encode()) + len(row.value)
            if page and total + item_bytes > self.limits.max_batch_bytes:
                break
            page.append(row)
            total += item_bytes
        more = len(page) < len(rows)
        cursor = page[-1].revision if more else end
        return PullPage(
            changes=page,
            cursor=cursor,
            next_position=page[-1].revision if more else None,
            upto=end,
            generation=state.generation,
        )

    async def pull(
        self,
        principal: Principal,
        ctx: ClientContext,
        *,
        since: int,
        collections: Sequence[str],
        page_size_requested: int,
        page_token: str,
    ) -> tuple[PullPage, str]:
        user = authorize(principal, READ_SCOPE)
        if since < 0:
            raise errors.invalid_cursor("must not be negative")
        include = self._validate_collections(collections)
        size = page_size(page_size_requested, maximum=self.limits.max_page_size)
        query = {"u": user, "since": since, "c": include, "d": ctx.device, "m": "pull"}
        position = self.page_tokens.decode(page_token, query)
        after, upto = since, None
        if position is not None:
            try:
                after, upto = int(position["a"]), int(position["u"])
            except (KeyError, TypeError, ValueError):
                raise invalid_field(
                    "page_token", "is not a page token of this query", "INVALID_PAGE_TOKEN"
                ) from None
            if not since <= after <= upto:
                raise invalid_field(
                    "page_token", "is not a page token of this query", "INVALID_PAGE_TOKEN"
                )
        page = await self._read_changes(user, ctx, after, upto, include, size, since)
        token = ""
        if page.next_position is not None:
            token = self.page_tokens.encode({"a": page.next_position, "u": page.upto}, query)
        return page, token

    # ------------------------------------------------------------------ watch

    async def watch(
        self,
        principal: Principal,
        ctx: ClientContext,
        *,
        since: int,
        collections: Sequence[str],
        heartbeat_seconds: float,
        expires_at: float | None = None,
    ) -> AsyncIterator[WatchEvent]:
        """Replay from `since`, CAUGHT_UP, then live changes with heartbeats. Raises the
        domain error that ends the stream (GENERATION_CHANGED, DEVICE_DISABLED, ...)."""
        user = authorize(principal, READ_SCOPE)
        if since < 0:
            raise errors.invalid_cursor("must not be negative")
        include = self._validate_collections(collections)
        max_heartbeat = self.limits.heartbeat_interval.total_seconds()
        if heartbeat_seconds == 0:
            heartbeat = max_heartbeat
        elif MIN_HEARTBEAT_SECONDS <= heartbeat_seconds <= max_heartbeat:
            heartbeat = heartbeat_seconds
        else:
            raise invalid_field(
                "heartbeat_interval",
                f"must be between {MIN_HEARTBEAT_SECONDS:g} s and {max_heartbeat:g} s",
                "INVALID_HEARTBEAT_INTERVAL",
            )
        if self._shutting_down:
            raise errors.shutting_down()
        if self._streams.get(user, 0) >= self.limits.max_watch_streams:
            raise errors.quota(
                "TOO_MANY_STREAMS",
                f"users/{user}",
                f"at most {self.limits.max_watch_streams} watch streams per user",
            )
        self._streams[user] = self._streams.get(user, 0) + 1
        # Subscribe before the replay so a commit between replay and live is not missed.
        subscription = self.notifier.subscribe(user)
        try:
            async for event in self._watch(
                user, ctx, since, include, heartbeat, expires_at, subscription
            ):
                yield event
        finally:
            subscription.close()
            remaining = self._streams.get(user, 1) - 1
            if remaining:
                self._streams[user] = remaining
            else:
                self._streams.pop(user, None)

    async def _watch(
        self,
        user: str,
        ctx: ClientContext,
        since: int,
        include: list[str],
        heartbeat: float,
        expires_at: float | None,
        subscription: Any,
    ) -> AsyncIterator[WatchEvent]:
        page_size_ = min(500, self.limits.max_page_size)
        cursor = since
        # Replay.
        first = True
        while True:
            page = await self._read_changes(
                user, ctx, cursor, None, include, page_size_, since if first else 0
            )
            first = False
            if page.reset_required:
                yield WatchEvent(WatchEventType.RESET_REQUIRED, 0)
                return
            if page.changes:
                yield WatchEvent(WatchEventType.CHANGES, page.cursor, page.changes)
            cursor = page.cursor
            if page.next_position is None:
                break
        yield WatchEvent(WatchEventType.CAUGHT_UP, cursor)
        last_sent = time.monotonic()
        # Live.
        while True:
            now = time.monotonic()
            timeout = max(0.0, last_sent + heartbeat - now)
            if not self.notifier.live:
                timeout = min(timeout, self.poll_fallback_seconds)
            if expires_at is not None:
                timeout = min(timeout, max(0.0, expires_at - time.time()))
            if self._shutting_down:
                raise errors.shutting_down()
            events = await subscription.wait(timeout)
            if self._shutting_down:
                raise errors.shutting_down()
            if events and EVENT_DELETED in events:
                raise Unauthenticated("USER_DELETED", "the account was deleted")
            if expires_at is not None and time.time() >= expires_at:
                raise Unauthenticated(
                    "TOKEN_EXPIRED", "the access token expired; reconnect with a fresh one"
                )
            while True:
                # `cursor` as the reset check: a reset (or purged tombstones) moved the floor
                # above it, so the client must resync.
                page = await self._read_changes(
                    user, ctx, cursor, None, include, page_size_, cursor
                )
                if page.reset_required:
                    yield WatchEvent(WatchEventType.RESET_REQUIRED, 0)
                    return
                if page.changes:
                    yield WatchEvent(WatchEventType.CHANGES, page.cursor, page.changes)
                    last_sent = time.monotonic()
                cursor = max(cursor, page.cursor)
                if page.next_position is None:
                    break
            if time.monotonic() - last_sent >= heartbeat:
                yield WatchEvent(WatchEventType.HEARTBEAT, cursor)
                last_sent = time.monotonic()

    # ------------------------------------------------------------------ items

    async def get_item(self, principal: Principal, collection: str, key: str) -> Item:
        user = authorize(principal, READ_SCOPE)
        validate_collection(collection)
        validate_key(key, self.limits, "item")
        async with self._uow() as uow:
            found = (await uow.repo.get_items(user, [(collection, key)])).get((collection, key))
        if found is None or found.deleted:
            raise not_found(
                "item", f"users/{user}/collections/{collection}/items/{key}", "ITEM_NOT_FOUND"
            )
        return found

    async def list_item_revisions(
        self,
        principal: Principal,
        collection: str,
        key: str,
        page_size_requested: int,
        page_token: str,
    ) -> tuple[list[Item], str]:
        user = authorize(principal, READ_SCOPE)
        validate_collection(collection)
        validate_key(key, self.limits, "item")
        size = page_size(page_size_requested, maximum=self.limits.max_page_size)
        query = {"u": user, "c": collection, "k": key, "m": "revisions"}
        position = self.page_tokens.decode(page_token, query)
        before = int(position["b"]) if position and isinstance(position.get("b"), int) else None
        if position is not None and before is None:
            raise invalid_field(
                "page_token", "is not a page token of this query", "INVALID_PAGE_TOKEN"
            )
        async with self._uow() as uow:
            rows = await uow.repo.list_versions(
                user,
                collection,
                key,
                before,
                size + 1,
                self.clock() - self.limits.history_retention,
            )
        if not rows and position is None:
            raise not_found(
                "item", f"users/{user}/collections/{collection}/items/{key}", "ITEM_NOT_FOUND"
            )
        token = ""
        if len(rows) > size:
            rows = rows[:size]
            token = self.page_tokens.encode({"b": rows[-1].revision}, query)
        return rows, token

    async def restore_item_revision(
        self,
        principal: Principal,
        ctx: ClientContext,
        collection: str,
        key: str,
        revision: int,
        base_revision: int | None,
        request_id: str,
        fingerprint: bytes,
    ) -> Item:
        user = authorize(principal, WRITE_SCOPE)
        validate_collection(collection)
        validate_key(key, self.limits, "item")
        validate_request_id(request_id, required=False)
        if revision <= 0:
            raise invalid_field("revision", "must be positive", "INVALID_REVISION")
        if base_revision is not None and base_revision < 0:
            raise invalid_field("base_revision", "must not be negative", "INVALID_BASE_REVISION")
        now = self.clock()
        async with self._uow() as uow:
            stored = await self._replay(
                uow, user, "RestoreItemRevision", request_id, fingerprint, now
            )
            if stored is not None:
                return stored  # type: ignore[no-any-return]
            state = await uow.repo.lock_user(user)
            self._check_generation(state, ctx.generation)
            device = await self._check_device(uow, user, ctx.device, now)
            if device is not None and collection in device.excluded_collections:
                raise errors.collection_excluded("collection", collection)
            old = await uow.repo.get_version(user, collection, key, revision)
            if old is None:
                raise not_found(
                    "revision",
                    f"users/{user}/collections/{collection}/items/{key}/revisions/{revision}",
                    "REVISION_NOT_FOUND",
                )
            cur = (await uow.repo.get_items(user, [(collection, key)])).get((collection, key))
            if base_revision is not None and (cur.revision if cur else 0) != base_revision:
                raise errors.stale_item(cur)
            state.revision += 1
            item = replace(old, revision=state.revision, device=ctx.device, update_time=now)
            usage = state.usage_bytes + item.size_bytes - (cur.size_bytes if cur else 0)
            if usage > self.limits.quota_bytes and usage > state.usage_bytes:
                raise errors.quota(
                    "QUOTA_EXCEEDED", f"users/{user}", "the restore would exceed the quota"
                )
            state.usage_bytes = usage
            state.item_count += int(not item.deleted) - int(cur is not None and not cur.deleted)
            await self._write_items(uow, user, [(item, cur)])
            await uow.repo.save_user(state, now)
            await self._remember(
                uow, user, "RestoreItemRevision", request_id, fingerprint, item, now
            )
            await uow.commit()
        await self._publish(user, EVENT_CHANGES)
        return item

    # ------------------------------------------------------------------ devices

    def _validate_device_fields(self, device: Device, fields: frozenset[str]) -> None:
        if "display_name" in fields:
            name = device.display_name
            if not name.strip() or len(name) > 64 or any(ord(c) < 0x20 for c in name):
                raise invalid_field(
                    "display_name", "1 to 64 printable characters", "INVALID_DISPLAY_NAME"
                )
        if "platform" in fields and (
            len(device.platform) > 64 or any(ord(c) < 0x20 for c in device.platform)
        ):
            raise invalid_field("platform", "at most 64 printable characters", "INVALID_PLATFORM")
        if "excluded_collections" in fields:
            if len(device.excluded_collections) > 100:
                raise invalid_field(
                    "excluded_collections", "at most 100 collections", "INVALID_COLLECTION"
                )
            self._validate_collections(device.excluded_collections, "excluded_collections")

    async def register_device(
        self, principal: Principal, device: Device, request_id: str, fingerprint: bytes
    ) -> Device:
        user = authorize(principal, WRITE_SCOPE)
        validate_request_id(request_id, required=False)
        self._validate_device_fields(
            device, frozenset({"display_name", "platform", "excluded_collections"})
        )
        now = self.clock()
        async with self._uow() as uow:
            stored = await self._replay(uow, user, "RegisterDevice", request_id, fingerprint, now)
            if stored is not None:
                return stored  # type: ignore[no-any-return]
            await uow.repo.lock_user(user)
            if await uow.repo.count_devices(user) >= self.limits.max_devices:
                raise errors.quota(
                    "TOO_MANY_DEVICES",
                    f"users/{user}",
                    f"at most {self.limits.max_devices} devices per user",
                )
            created = Device(
                uid=uuid.uuid4().hex,
                display_name=device.display_name,
                platform=device.platform,
                excluded_collections=sorted(set(device.excluded_collections)),
                disabled=device.disabled,
                create_time=now,
                update_time=now,
                last_seen_time=now,
            )
            await uow.repo.insert_device(user, created)
            await self._remember(uow, user, "RegisterDevice", request_id, fingerprint, created, now)
            await uow.commit()
        return created

    async def list_devices(
        self, principal: Principal, page_size_requested: int, page_token: str
    ) -> tuple[list[Device], str]:
        user = authorize(principal, READ_SCOPE)
        size = page_size(page_size_requested, maximum=self.limits.max_page_size)
        query = {"u": user, "m": "devices"}
        after = self._created_after(page_token, query)
        async with self._uow() as uow:
            rows = await uow.repo.list_devices(user, after, size + 1)
        return self._created_page(rows, size, query)

    async def update_device(
        self, principal: Principal, uid: str, patch: Device, fields: Sequence[str]
    ) -> Device:
        user = authorize(principal, WRITE_SCOPE)
        if not uid:
            raise invalid_field("device", "required", "INVALID_DEVICE")
        unknown = set(fields) - DEVICE_FIELDS
        if unknown or not fields:
            raise invalid_field(
                "update_mask", f"paths must be among {sorted(DEVICE_FIELDS)}", "INVALID_UPDATE_MASK"
            )
        self._validate_device_fields(patch, frozenset(fields))
        now = self.clock()
        async with self._uow() as uow:
            device = await uow.repo.get_device(user, uid) if len(uid) <= 64 else None
            if device is None:
                raise not_found("device", f"users/{user}/devices/{uid}", "DEVICE_NOT_FOUND")
            if "display_name" in fields:
                device.display_name = patch.display_name
            if "excluded_collections" in fields:
                device.excluded_collections = sorted(set(patch.excluded_collections))
            if "disabled" in fields:
                device.disabled = patch.disabled
            device.update_time = now
            await uow.repo.update_device(user, device)
            await uow.commit()
        await self._publish(user, EVENT_DEVICES)
        return device

    async def delete_device(self, principal: Principal, uid: str) -> None:
        user = authorize(principal, WRITE_SCOPE)
        async with self._uow() as uow:
            deleted = bool(uid) and len(uid) <= 64 and await uow.repo.delete_device(user, uid)
            if not deleted:
                raise not_found("device", f"users/{user}/devices/{uid}", "DEVICE_NOT_FOUND")
            await uow.commit()
        await self._publish(user, EVENT_DEVICES)

    # ------------------------------------------------------------------ snapshots

    async def _take_snapshot(
        self,
        uow: SyncUnitOfWork,
        user: str,
        state: UserState,
        trigger: SnapshotTrigger,
        description: str,
        device: str,
        now: datetime,
    ) -> Snapshot:
        snapshot = Snapshot(
            uid=uuid.uuid4().hex,
            description=description,
            trigger=trigger,
            generation=state.generation,
            revision=state.revision,
            item_count=0,
            size_bytes=0,
            device=device,
            create_time=now,
            expire_time=now + self.limits.snapshot_retention,
        )
        snapshot = await uow.repo.create_snapshot_of_live_items(user, snapshot)
        await uow.repo.prune_snapshots(user, self.limits.max_snapshots)
        return snapshot

    async def create_snapshot(
        self,
        principal: Principal,
        ctx: ClientContext,
        description: str,
        request_id: str,
        fingerprint: bytes,
    ) -> Snapshot:
        user = authorize(principal, WRITE_SCOPE)
        validate_request_id(request_id, required=False)
        if len(description) > 256:
            raise invalid_field(
                "snapshot.description", "at most 256 characters", "INVALID_DESCRIPTION"
            )
        now = self.clock()
        async with self._uow() as uow:
            stored = await self._replay(uow, user, "CreateSnapshot", request_id, fingerprint, now)
            if stored is not None:
                return stored  # type: ignore[no-any-return]
            state = await uow.repo.lock_user(user)
            await self._check_device(uow, user, ctx.device, now)
            snapshot = await self._take_snapshot(
                uow, user, state, SnapshotTrigger.MANUAL, description, ctx.device, now
            )
            await self._remember(
                uow, user, "CreateSnapshot", request_id, fingerprint, snapshot, now
            )
            await uow.commit()
        return snapshot

    async def list_snapshots(
        self, principal: Principal, page_size_requested: int, page_token: str
    ) -> tuple[list[Snapshot], str]:
        user = authorize(principal, READ_SCOPE)
        size = page_size(page_size_requested, maximum=self.limits.max_page_size)
        query = {"u": user, "m": "snapshots"}
        after = self._created_after(page_token, query)
        async with self._uow() as uow:
            rows = await uow.repo.list_snapshots(user, after, size + 1, self.clock())
        return self._created_page(rows, size, query)

    def _created_after(self, page_token: str, query: dict[str, str]) -> tuple[datetime, str] | None:
        """Where a page of a list ordered by (create_time, uid) continues; None: the first."""
        position = self.page_tokens.decode(page_token, query)
        if position is None:
            return None
        try:
            return datetime.fromisoformat(position["t"]), str(position["id"])
        except (KeyError, TypeError, ValueError):
            raise invalid_field(
                "page_token", "is not a page token of this query", "INVALID_PAGE_TOKEN"
            ) from None

    def _created_page(
        self, rows: list[_Created], size: int, query: dict[str, str]
    ) -> tuple[list[_Created], str]:
        """A page of `size` from `rows` (read one more, to know if a page follows) and the
        next page's token."""
        if len(rows) <= size:
            return rows, ""
        rows = rows[:size]
        last = rows[-1]
        assert last.create_time is not None
        return rows, self.page_tokens.encode(
            {"t": last.create_time.isoformat(), "id": last.uid}, query
        )

    async def restore_snapshot(
        self,
        principal: Principal,
        ctx: ClientContext,
        uid: str,
        request_id: str,
        fingerprint: bytes,
    ) -> RestoreResult:
        user = authorize(principal, WRITE_SCOPE)
        validate_request_id(request_id, required=False)
        now = self.clock()
        async with self._uow() as uow:
            stored = await self._replay(uow, user, "RestoreSnapshot", request_id, fingerprint, now)
            if stored is not None:
                return stored  # type: ignore[no-any-return]
            state = await uow.repo.lock_user(user)
            self._check_generation(state, ctx.generation)
            await self._check_device(uow, user, ctx.device, now)
            snapshot = await uow.repo.get_snapshot(user, uid) if uid and len(uid) <= 64 else None
            if snapshot is None or (
                snapshot.expire_time is not None and snapshot.expire_time <= now
            ):
                raise not_found("snapshot", f"users/{user}/snapshots/{uid}", "SNAPSHOT_NOT_FOUND")
            wanted = {(i.collection, i.key): i for i in await uow.repo.snapshot_items(user, uid)}
            backup = await self._take_snapshot(
                uow,
                user,
                state,
                SnapshotTrigger.BEFORE_RESTORE,
                f"before restoring {uid}",
                ctx.device,
                now,
            )
            live = {(i.collection, i.key): i for i in await uow.repo.live_items(user)}
            writes: list[tuple[Item, Item | None]] = []
            usage, count, revision = state.usage_bytes, state.item_count, state.revision
            all_keys = sorted(set(wanted) | set(live))
            current = await uow.repo.get_items(user, all_keys) if all_keys else {}
            for ck in all_keys:
                target, cur = wanted.get(ck), current.get(ck)
                if target is not None:
                    if (
                        cur is not None
                        and not cur.deleted
                        and (cur.value, cur.content_type, cur.encrypted, cur.mergeable)
                        == (target.value, target.content_type, target.encrypted, target.mergeable)
                    ):
                        continue
                    revision += 1
                    item = replace(
                        target, revision=revision, device=ctx.device, update_time=now, deleted=False
                    )
                elif cur is not None and not cur.deleted:
                    revision += 1
                    item = Item(
                        ck[0],
                        ck[1],
                        b"",
                        cur.content_type,
                        cur.encrypted,
                        cur.mergeable,
                        revision,
                        ctx.device,
                        now,
                        deleted=True,
                    )
                else:
                    continue
                usage += item.size_bytes - (cur.size_bytes if cur else 0)
                count += int(not item.deleted) - int(cur is not None and not cur.deleted)
                writes.append((item, cur))
            if usage > self.limits.quota_bytes and usage > state.usage_bytes:
                raise errors.quota(
                    "QUOTA_EXCEEDED", f"users/{user}", "the restore would exceed the quota"
                )
            await self._write_items(uow, user, writes)
            state.revision, state.usage_bytes, state.item_count = revision, usage, count
            await uow.repo.save_user(state, now)
            result = RestoreResult(
                backup=backup, changed_items=len(writes), latest_revision=state.revision
            )
            await self._remember(uow, user, "RestoreSnapshot", request_id, fingerprint, result, now)
            await uow.commit()
        if writes:
            await self._publish(user, EVENT_CHANGES)
        return result

    async def reset(
        self, principal: Principal, ctx: ClientContext, request_id: str, fingerprint: bytes
    ) -> ResetResult:
        user = authorize(principal, WRITE_SCOPE)
        validate_request_id(request_id, required=False)
        now = self.clock()
        async with self._uow() as uow:
            stored = await self._replay(uow, user, "Reset", request_id, fingerprint, now)
            if stored is not None:
                return stored  # type: ignore[no-any-return]
            state = await uow.repo.lock_user(user)
            self._check_generation(state, ctx.generation)
            await self._check_device(uow, user, ctx.device, now)
            snapshot = await self._take_snapshot(
                uow, user, state, SnapshotTrigger.BEFORE_RESET, "before reset", ctx.device, now
            )
            await uow.repo.delete_all_items(user)
            state.generation += 1
            state.revision += 1
            # Cursors from before the reset lost its deletions: they get reset_required.
            state.tombstone_floor = state.revision
            state.usage_bytes = 0
            state.item_count = 0
            await uow.repo.save_user(state, now)
            result = ResetResult(
                generation=state.generation, snapshot=snapshot, latest_revision=state.revision
            )
            await self._remember(uow, user, "Reset", request_id, fingerprint, result, now)
            await uow.commit()
        await self._publish(user, EVENT_RESET)
        return result

    # ------------------------------------------------------------------ internal

    async def delete_user_data(self, principal: Principal, user: str) -> DeleteUserDataResult:
        if principal.kind != "service":
            raise PermissionDenied(
                "SERVICE_CREDENTIAL_REQUIRED", "internal methods require a service credential"
            )
        user = user.removeprefix("users/")
        if not user or len(user) > 256 or "/" in user or any(ord(c) < 0x20 for c in user):
            raise invalid_field("user", "must be a user id", "INVALID_USER")
        async with self._uow() as uow:
            result = await uow.repo.delete_user_data(user)
            await uow.commit()
        await self._publish(user, EVENT_DELETED)
        return result

    async def run_maintenance(self) -> dict[str, int]:
        """Retention: expired tombstones (raising the users' reset floors), history beyond its
        retention, idempotency results, snapshots. Safe on every replica at once."""
        now = self.clock()
        counts: dict[str, int] = {}
        async with self._uow() as uow:
            counts["tombstones"] = await uow.repo.purge_tombstones(
                now - self.limits.tombstone_retention
            )
            await uow.commit()
        async with self._uow() as uow:
            counts["history"] = await uow.repo.purge_history(now - self.limits.history_retention)
            counts["requests"] = await uow.repo.purge_requests(now)
            counts["snapshots"] = await uow.repo.purge_snapshots(now)
            await uow.commit()
        return counts

    async def maintenance_loop(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            with contextlib.suppress(Exception):
                counts = await self.run_maintenance()
                if any(counts.values()):
                    log.info("retention", extra=counts)
