"""The editor's offline-first sync engine.

Reads and writes go to the local SQLite cache and never wait for the network. A background
loop pushes the durable queue in frozen batches (each with its own request id, so a retry
after a dropped connection is applied once), pulls what it missed, follows Watch for live
changes, folds server merges into local state, and hands conflicts to a callback. The default
policy keeps the server's value and stores the local one as a conflict copy, so no edit is
ever silently lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import logging
import random
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import duration_pb2

from symphony.sync.v1 import resources_pb2, sync_service_pb2, sync_service_pb2_grpc
from symphony_client.errors import details_of, error_reason
from symphony_client.sync.store import Batch, ConflictCopy, LocalItem, LocalStore, RemoteItem

log = logging.getLogger(__name__)

COLLECTION_RE = re.compile(r"^[a-z0-9_.-]{1,32}$")
MERGE_COLLECTIONS = ("settings",)
RETRYABLE = {
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.ABORTED,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
    grpc.StatusCode.UNAUTHENTICATED,
    grpc.StatusCode.INTERNAL,
    grpc.StatusCode.UNKNOWN,
    grpc.StatusCode.CANCELLED,
}
# Batch failures that no retry can fix: the batch is set aside as conflict copies.
POISON = {
    "ITEM_TOO_LARGE",
    "BATCH_TOO_LARGE",
    "INVALID_KEY",
    "INVALID_COLLECTION",
    "VALUE_NOT_JSON_OBJECT",
    "TOMBSTONE_WITH_VALUE",
    "DUPLICATE_KEY",
    "COLLECTION_EXCLUDED",
}

CHANNEL_OPTIONS = [
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 2000),
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.max_receive_message_length", 16 << 20),
    ("grpc.max_send_message_length", 16 << 20),
]


class SyncError(Exception):
    """A sync failure to show the user."""


class DeviceDisabled(SyncError):
    """This device was disabled from another device: syncing stops until re-enabled."""


@dataclass
class Conflict:
    """A local change the server did not take as is."""

    collection: str
    key: str
    local_value: bytes
    local_deleted: bool
    server: RemoteItem | None
    # After a merge attempt: the overlapping top-level keys and the server's proposal.
    keys: list[str] = field(default_factory=list)
    merged_proposal: bytes | None = None


@dataclass(frozen=True)
class Resolution:
    kind: str  # keep_server | keep_local | resolved
    value: bytes | None = None

    @staticmethod
    def use(value: bytes) -> Resolution:
        return Resolution("resolved", value)


KEEP_SERVER = Resolution("keep_server")
KEEP_LOCAL = Resolution("keep_local")

ConflictHandler = Callable[[Conflict], Resolution | Awaitable[Resolution]]
TokenSource = str | Callable[[], str | Awaitable[str]]


def keep_server(conflict: Conflict) -> Resolution:
    """The default: the server's value wins; the local one is kept as a conflict copy."""
    return KEEP_SERVER


def _remote(item: resources_pb2.Item) -> RemoteItem:
    return RemoteItem(
        item.collection,
        item.key,
        item.value,
        item.revision,
        item.deleted,
        item.content_type,
        item.encrypted,
        item.mergeable,
    )


class SyncEngine:
    def __init__(
        self,
        path: str | Path,
        target: str | Callable[[], grpc.aio.Channel],
        token: TokenSource,
        *,
        device_name: str = "Symphony editor",
        platform: str = "",
        on_conflict: ConflictHandler = keep_server,
        register_device: bool = True,
        retry_initial: float = 0.1,
        retry_max: float = 5.0,
        call_timeout: float = 30.0,
    ) -> None:
        self.store = LocalStore(path)
        self._target = target
        self._token = token
        self.device_name = device_name
        self.platform = platform
        self.on_conflict = on_conflict
        self.register_device = register_device
        self.retry_initial = retry_initial
        self.retry_max = retry_max
        self.call_timeout = call_timeout
        self._channel: grpc.aio.Channel | None = None
        self._stub: sync_service_pb2_grpc.SyncServiceStub | None = None
        self._wake = asyncio.Event()
        self._sync_lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self.max_changes = 100
        self.max_bytes = 4 * 1024 * 1024 - 64 * 1024
        self.max_item_bytes = 1024 * 1024
        self.excluded: list[str] = []
        self.online = False
        self.last_error = ""
        self.disabled = False
        self.changed = asyncio.Event()  # set whenever remote changes land locally

    # ------------------------------------------------------------------ plumbing

    @property
    def stub(self) -> sync_service_pb2_grpc.SyncServiceStub:
        if self._stub is None:
            target = self._target
            self._channel = (
                target()
                if callable(target)
                else grpc.aio.insecure_channel(target, options=CHANNEL_OPTIONS)
            )
            self._stub = sync_service_pb2_grpc.SyncServiceStub(self._channel)
        return self._stub

    async def _metadata(self) -> tuple[tuple[str, str], ...]:
        token = self._token() if callable(self._token) else self._token
        if inspect.isawaitable(token):
            token = await token
        return (("authorization", f"Bearer {token}"),) if token else ()

    @property
    def device(self) -> str:
        return self.store.get_meta("device")

    @property
    def generation(self) -> int:
        return int(self.store.get_meta("generation", "0"))

    async def close(self) -> None:
        await self.stop()
        if self._channel is not None:
            await self._channel.close(None)
            self._channel = self._stub = None
        await asyncio.to_thread(self.store.close)

    # ------------------------------------------------------------------ local API (no network)

    async def get(self, collection: str, key: str) -> bytes | None:
        item = await asyncio.to_thread(self.store.get, collection, key)
        return None if item is None or item.deleted else item.value

    async def get_json(self, collection: str, key: str) -> Any:
        value = await self.get(collection, key)
        return None if value is None else json.loads(value)

    async def items(
        self, collection: str | None = None, include_deleted: bool = False
    ) -> list[LocalItem]:
        return await asyncio.to_thread(self.store.items, collection, include_deleted)

    def _validate(
        self,
        collection: str,
        key: str,
        value: bytes,
        mergeable: bool,
        encrypted: bool,
        deleted: bool,
    ) -> None:
        if not COLLECTION_RE.match(collection):
            raise ValueError(f"collection {collection!r} must match [a-z0-9_.-]{{1,32}}")
        if (
            not key
            or key in (".", "..")
            or len(key.encode()) > 256
            or any(ord(c) < 0x20 for c in key)
        ):
            raise ValueError(f"invalid key {key!r}")
        if len(value) > self.max_item_bytes:
            raise ValueError(
                f"value of {len(value)} bytes exceeds the {self.max_item_bytes}-byte item limit"
            )
        if not deleted and not encrypted and (mergeable or collection in MERGE_COLLECTIONS):
            try:
                parsed = json.loads(value)
            except ValueError:
                parsed = None
            if not isinstance(parsed, dict):
                raise ValueError(f"{collection}/{key}: a mergeable value must be a JSON object")

    async def set(
        self,
        collection: str,
        key: str,
        value: bytes,
        *,
        content_type: str = "",
        encrypted: bool = False,
        mergeable: bool = False,
    ) -> None:
        self._validate(collection, key, value, mergeable, encrypted, False)
        await asyncio.to_thread(
            self.store.write,
            collection,
            key,
            value,
            content_type=content_type,
            encrypted=encrypted,
            mergeable=mergeable,
        )
        self._wake.set()

    async def set_json(self, collection: str, key: str, value: Any, **kw: Any) -> None:
        await self.set(collection, key, json.dumps(value, separators=(",", ":")).encode(), **kw)

    async def delete(self, collection: str, key: str) -> None:
        self._validate(collection, key, b"", False, False, True)
        current = await asyncio.to_thread(self.store.get, collection, key)
        if current is None or current.deleted:
            return  # nothing here to delete
        await asyncio.to_thread(self.store.write, collection, key, b"", deleted=True)
        self._wake.set()

    async def conflicts(self) -> list[ConflictCopy]:
        return await asyncio.to_thread(self.store.conflicts)

    async def status(self) -> dict[str, Any]:
        return {
            "device": self.device,
            "generation": self.generation,
            "cursor": self.store.cursor,
            "pending": await asyncio.to_thread(self.store.pending_count),
            "conflicts": len(await self.conflicts()),
            "online": self.online,
            "disabled": self.disabled,
            "last_error": self.last_error,
        }

    # ------------------------------------------------------------------ network steps

    async def _call(self, method: Callable[..., Any], request: Any) -> Any:
        try:
            response = await method(
                request, metadata=await self._metadata(), timeout=self.call_timeout
            )
        except grpc.aio.AioRpcError as error:
            reason = error_reason(error)
            if reason == "DEVICE_DISABLED":
                self.disabled = True
                raise DeviceDisabled("this device was disabled from another device") from error
            self.online = error.code() not in (
                grpc.StatusCode.UNAVAILABLE,
                grpc.StatusCode.DEADLINE_EXCEEDED,
            )
            raise
        self.online = True
        return response

    async def prepare(self) -> None:
        """First contact: limits, generation, and this device's registration."""
        config = await self._call(self.stub.GetSyncConfig, sync_service_pb2.GetSyncConfigRequest())
        limits = config.limits
        self.max_changes = limits.max_batch_changes or self.max_changes
        self.max_bytes = max(1, (limits.max_batch_bytes or self.max_bytes) - 64 * 1024)
        self.max_item_bytes = limits.max_item_bytes or self.max_item_bytes
        if not self.generation:
            await asyncio.to_thread(self.store.set_meta, generation=config.generation)
        elif self.generation != config.generation:
            await self._new_generation(config.generation)
        if self.register_device and not self.device:
            await self._register()
        elif self.device:
            await self._refresh_device()

    async def _register(self) -> None:
        request_id = self.store.get_meta("register_request_id") or str(uuid.uuid4())
        await asyncio.to_thread(self.store.set_meta, register_request_id=request_id)
        device = await self._call(
            self.stub.RegisterDevice,
            sync_service_pb2.RegisterDeviceRequest(
                device=resources_pb2.Device(
                    display_name=self.device_name[:64] or "Symphony editor",
                    platform=self.platform[:64],
                ),
                request_id=request_id,
            ),
        )
        await asyncio.to_thread(self.store.set_meta, device=device.uid, register_request_id="")
        self.excluded = list(device.excluded_collections)

    async def _refresh_device(self) -> None:
        try:
            page = await self._call(
                self.stub.ListDevices, sync_service_pb2.ListDevicesRequest(page_size=1000)
            )
        except grpc.aio.AioRpcError:
            return
        for d in page.devices:
            if d.uid == self.device:
                self.excluded = list(d.excluded_collections)
                if d.disabled:
                    self.disabled = True
                    raise DeviceDisabled("this device was disabled from another device")
                return

    async def _handle_context_error(self, error: grpc.aio.AioRpcError) -> bool:
        """Recover from a changed situation; True when the step should simply run again."""
        reason = error_reason(error)
        if reason == "GENERATION_CHANGED":
            config = await self._call(
                self.stub.GetSyncConfig, sync_service_pb2.GetSyncConfigRequest()
            )
            await self._new_generation(config.generation)
            return True
        if reason == "DEVICE_NOT_FOUND" and self.register_device:
            await asyncio.to_thread(self.store.set_meta, device="")
            await asyncio.to_thread(
                self.store.abandon_batches
            )  # their payload named the old device
            await self._register()
            return True
        return False

    async def _new_generation(self, generation: int) -> None:
        await asyncio.to_thread(self.store.start_new_generation, generation)
        self.changed.set()

    async def push(self) -> int:
        """Push the whole queue; returns the number of changes the server took."""
        taken = 0
        while True:
            batch = await asyncio.to_thread(
                self.store.next_batch, self.max_changes, self.max_bytes, self.excluded
            )
            if batch is None:
                return taken
            request = sync_service_pb2.PushRequest(
                request_id=batch.request_id,
                changes=[
                    sync_service_pb2.Change(
                        collection=c.collection,
                        key=c.key,
                        base_revision=c.base_revision,
                        value=c.value,
                        content_type=c.content_type,
                        encrypted=c.encrypted,
                        mergeable=c.mergeable,
                        deleted=c.deleted,
                    )
                    for c in batch.changes
                ],
                device=self.device,
                generation=self.generation,
            )
            try:
                response = await self._call(self.stub.Push, request)
            except grpc.aio.AioRpcError as error:
                reason = error_reason(error)
                if reason in POISON:
                    log.warning(
                        "setting aside a batch the server refuses", extra={"reason": reason}
                    )
                    await asyncio.to_thread(
                        self.store.drop_batch, batch.request_id, reason=reason.lower()
                    )
                    continue
                if reason == "REQUEST_ID_REUSED":
                    # The payload changed under the same id (e.g. after re-registering):
                    # re-form the batch; pushes are conditional, so this cannot apply twice.
                    await asyncio.to_thread(self.store.abandon_batches)
                    continue
                if await self._handle_context_error(error):
                    continue
                raise
            outcomes = [await self._outcome(batch, i, r) for i, r in enumerate(response.results)]
            await asyncio.to_thread(self.store.finish_batch, batch, outcomes)
            taken += sum(
                r.outcome != resources_pb2.CHANGE_OUTCOME_CONFLICT for r in response.results
            )

    async def _outcome(
        self, batch: Batch, index: int, result: sync_service_pb2.ChangeResult
    ) -> dict[str, Any]:
        change = batch.changes[index]
        if result.outcome == resources_pb2.CHANGE_OUTCOME_APPLIED:
            return {"kind": "applied", "revision": result.item.revision}
        if result.outcome == resources_pb2.CHANGE_OUTCOME_MERGED:
            return {
                "kind": "merged",
                "revision": result.item.revision,
                "server": _remote(result.item),
            }
        server = _remote(result.item) if result.HasField("item") else None
        if (
            server is not None
            and server.deleted == change.deleted
            and (change.deleted or server.value == change.value)
        ):
            # The server already holds exactly this (an earlier attempt under another id).
            return {"kind": "applied", "revision": server.revision}
        conflict = Conflict(
            collection=change.collection,
            key=change.key,
            local_value=change.value,
            local_deleted=change.deleted,
            server=server,
            keys=[k.key for k in result.merge_conflict.keys]
            if result.HasField("merge_conflict")
            else [],
            merged_proposal=result.merge_conflict.merged_value
            if result.HasField("merge_conflict")
            else None,
        )
        resolution = self.on_conflict(conflict)
        if inspect.isawaitable(resolution):
            resolution = await resolution
        return {
            "kind": resolution.kind,
            "server": server,
            "value": resolution.value if resolution.value is not None else change.value,
            "keys": conflict.keys,
        }

    async def pull(self) -> int:
        """Pull everything since the local cursor; returns how many local values changed."""
        changed, token, since = 0, "", self.store.cursor
        while True:
            try:
                page = await self._call(
                    self.stub.PullChanges,
                    sync_service_pb2.PullChangesRequest(
                        since=since,
                        page_token=token,
                        page_size=500,
                        device=self.device,
                        generation=self.generation,
                    ),
                )
            except grpc.aio.AioRpcError as error:
                if await self._handle_context_error(error):
                    return changed + await self.pull()
                raise
            if page.reset_required:
                return changed + await self.resync()
            changed += await asyncio.to_thread(
                self.store.apply_remote, [_remote(i) for i in page.changes], page.cursor
            )
            token = page.next_page_token
            if not token:
                break
        if changed:
            self.changed.set()
        return changed

    async def resync(self) -> int:
        """Full resync from scratch (the cursor lost deletions)."""
        await asyncio.to_thread(self.store.set_meta, cursor=0)
        present: set[tuple[str, str]] = set()
        changed, token = 0, ""
        while True:
            page = await self._call(
                self.stub.PullChanges,
                sync_service_pb2.PullChangesRequest(
                    since=0,
                    page_token=token,
                    page_size=500,
                    device=self.device,
                    generation=self.generation,
                ),
            )
            present |= {(i.collection, i.key) for i in page.changes if not i.deleted}
            changed += await asyncio.to_thread(
                self.store.apply_remote, [_remote(i) for i in page.changes], page.cursor
            )
            token = page.next_page_token
            if not token:
                break
        await asyncio.to_thread(self.store.forget_missing, present)
        self.changed.set()
        return changed

    async def sync_once(self) -> dict[str, int]:
        """Push, pull, and push again what conflict resolution re-queued."""
        async with self._sync_lock:
            if (not self.device and self.register_device) or not self.generation:
                await self.prepare()
            pushed = await self.push()
            pulled = await self.pull()
            pushed += await self.push()
            return {"pushed": pushed, "pulled": pulled}

    async def watch(self, heartbeat_seconds: int = 0) -> None:
        """Follow the server's change feed until the stream ends."""
        request = sync_service_pb2.WatchRequest(
            since=self.store.cursor, device=self.device, generation=self.generation
        )
        if heartbeat_seconds:
            request.heartbeat_interval.CopyFrom(duration_pb2.Duration(seconds=heartbeat_seconds))
        call = self.stub.Watch(request, metadata=await self._metadata())
        try:
            async for event in call:
                self.online = True
                if event.type == resources_pb2.WATCH_EVENT_TYPE_RESET_REQUIRED:
                    await self.resync()
                    return
                items = [_remote(i) for i in event.changes]
                if await asyncio.to_thread(self.store.apply_remote, items, event.cursor):
                    self.changed.set()
        except grpc.aio.AioRpcError as error:
            if error_reason(error) == "DEVICE_DISABLED":
                self.disabled = True
                raise DeviceDisabled("this device was disabled from another device") from error
            if not await self._handle_context_error(error):
                raise
        finally:
            call.cancel()

    # ------------------------------------------------------------------ background loop

    def start(self) -> asyncio.Task[None]:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self.run())
        return self._task

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def retry_delay(self, attempt: int, error: grpc.aio.AioRpcError | None = None) -> float:
        """Exponential with jitter. The first retry follows the server's RetryInfo when it
        sent one: a draining replica says 0 s (SHUTTING_DOWN), and another replica answers."""
        hint = details_of(error).retry_after if error is not None and attempt == 0 else None
        if hint is not None:
            return min(hint, self.retry_max)
        delay = min(self.retry_max, self.retry_initial * (2 ** min(attempt, 10)))
        return delay * (0.5 + random.random() / 2)

    async def _backoff(self, attempt: int, error: grpc.aio.AioRpcError | None = None) -> None:
        await asyncio.sleep(self.retry_delay(attempt, error))

    async def run(self, poll_interval: float = 60.0) -> None:
        """Until cancelled: keep the queue pushed and the cache current."""
        attempt = 0
        while True:
            try:
                await self.prepare()
                break
            except DeviceDisabled:
                return
            except grpc.aio.AioRpcError as error:
                self.last_error = f"{error.code().name} {error_reason(error)}"
                await self._backoff(attempt, error)
                attempt += 1
        watcher = asyncio.create_task(self._watch_loop())
        try:
            attempt = 0
            while True:
                self._wake.clear()
                try:
                    await self.sync_once()
                    attempt = 0
                    self.last_error = ""
                except DeviceDisabled:
                    return
                except grpc.aio.AioRpcError as error:
                    if error.code() not in RETRYABLE:
                        log.warning("sync step failed", extra={"code": error.code().name})
                    self.last_error = f"{error.code().name} {error_reason(error)}"
                    await self._backoff(attempt, error)
                    attempt += 1
                    continue
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(poll_interval):
                        await self._wake.wait()
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await watcher

    async def _watch_loop(self) -> None:
        attempt = 0
        while not self.disabled:
            try:
                await self.watch()
                attempt = 0
            except DeviceDisabled:
                return
            except grpc.aio.AioRpcError as error:
                self.last_error = f"{error.code().name} {error_reason(error)}"
                await self._backoff(attempt, error)
                attempt += 1
