"""The editor's analytics buffer: events are written to a local SQLite file first (durably,
under `ClientConfig.home`), sent in batches through `BatchIngestEvents`, and deleted only once
the server has answered for them. A batch that got no answer is resent later with the same
event ids, and the server's dedupe makes the resend harmless: at-least-once delivery, counted
exactly once.

Opting out (`set_opt_out(True)`, or `DO_NOT_TRACK=1` / `SYMPHONY_ANALYTICS_OPT_OUT=1` in the
environment) stops recording and deletes what is still unsent. The install id is a random UUID,
kept in the same file, that the user can reset at any time.
"""

from __future__ import annotations

import asyncio
import os
import platform as _platform
import sqlite3
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import struct_pb2, timestamp_pb2

from symphony.analytics.v1 import analytics_service_pb2, analytics_service_pb2_grpc, resources_pb2
from symphony_client.config import ClientConfig
from symphony_client.errors import details_of

MAX_BATCH_EVENTS = 500
MAX_BATCH_BYTES = 1024 * 1024 - 16 * 1024  # headroom for the request's own framing
MAX_EVENT_BYTES = 8 * 1024
DEFAULT_MAX_PENDING = 100_000
SEND_DEADLINE_SECONDS = 15.0
# Statuses after which the batch may not have been stored: keep it and resend later.
RETRYABLE = frozenset(
    {
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        grpc.StatusCode.ABORTED,
        grpc.StatusCode.INTERNAL,
        grpc.StatusCode.UNKNOWN,
        grpc.StatusCode.CANCELLED,
    }
)

Send = Callable[
    [analytics_service_pb2.BatchIngestEventsRequest],
    Awaitable[analytics_service_pb2.BatchIngestEventsResponse],
]


def env_opted_out() -> bool:
    return any(
        os.environ.get(name, "").strip().lower() in ("1", "true", "yes")
        for name in ("DO_NOT_TRACK", "SYMPHONY_ANALYTICS_OPT_OUT")
    )


def current_platform() -> str:
    machine = _platform.machine().lower()
    arch = {
        "x86_64": "x64",
        "amd64": "x64",
        "aarch64": "arm64",
        "arm64": "arm64",
        "armv7l": "armhf",
    }.get(machine, "x64")
    if sys.platform.startswith("win"):
        return f"win32-{arch}"
    if sys.platform == "darwin":
        return f"darwin-{arch}"
    if Path("/etc/alpine-release").exists():
        return f"alpine-{arch}"
    return f"linux-{arch}"


def _value(v: Any) -> struct_pb2.Value:
    out = struct_pb2.Value()
    if isinstance(v, bool):
        out.bool_value = v
    elif isinstance(v, int | float):
        out.number_value = v
    elif isinstance(v, str):
        out.string_value = v
    else:
        raise TypeError("analytics properties are scalars: str, int, float or bool")
    return out


@dataclass(frozen=True)
class FlushResult:
    sent: int = 0  # events the server answered for (and that were removed from the buffer)
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    remaining: int = 0
    error: str = ""  # why flushing stopped early (the events stay buffered)
    retry_after: float = 0.0


class AnalyticsBuffer:
    def __init__(
        self,
        config: ClientConfig | None = None,
        *,
        path: Path | None = None,
        editor_version: str = "0.1.0",
        platform: str | None = None,
        send: Send | None = None,
        max_pending: int = DEFAULT_MAX_PENDING,
        batch_events: int = MAX_BATCH_EVENTS,
    ) -> None:
        self.config = config or ClientConfig()
        self.path = path or self.config.home / "analytics.sqlite3"
        self.editor_version = editor_version
        self.platform = platform or current_platform()
        self.session_id = str(uuid.uuid4())
        self.max_pending = max_pending
        self.batch_events = max(1, min(batch_events, MAX_BATCH_EVENTS))
        self._send = send
        self._channel: grpc.aio.Channel | None = None
        self._lock = asyncio.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # a recorded event survives a power cut
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS pending (seq INTEGER PRIMARY KEY AUTOINCREMENT,"
            " event_id TEXT NOT NULL UNIQUE, payload BLOB NOT NULL, size INTEGER NOT NULL)"
        )
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
        )

    # -- settings ---------------------------------------------------------------------------

    def _setting(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def _set(self, key: str, value: str) -> None:
        self._db.execute(
            "INSERT INTO settings (key, value) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    @property
    def opted_out(self) -> bool:
        return env_opted_out() or self._setting("opt_out") == "1"

    def set_opt_out(self, opted_out: bool) -> None:
        """Opting out also deletes every event not sent yet."""
        self._set("opt_out", "1" if opted_out else "0")
        if opted_out:
            self._db.execute("DELETE FROM pending")

    @property
    def install_id(self) -> str:
        current = self._setting("install_id")
        if current is None:
            current = str(uuid.uuid4())
            self._set("install_id", current)
        return current

    def reset_install_id(self) -> str:
        fresh = str(uuid.uuid4())
        self._set("install_id", fresh)
        return fresh

    # -- recording --------------------------------------------------------------------------

    def record(
        self,
        name: str,
        properties: Mapping[str, Any] | None = None,
        *,
        client_time: datetime | None = None,
        event_id: str | None = None,
    ) -> str | None:
        """Buffer one event durably; returns its id, or None when opted out."""
        if self.opted_out:
            return None
        event_id = self._insert(name, properties, client_time, event_id)
        self._trim()
        return event_id

    def _insert(
        self,
        name: str,
        properties: Mapping[str, Any] | None,
        client_time: datetime | None,
        event_id: str | None,
    ) -> str:
        moment = timestamp_pb2.Timestamp()
        moment.FromDatetime(client_time or datetime.now(UTC))
        event = resources_pb2.Event(
            event_id=event_id or str(uuid.uuid4()),
            name=name,
            client_time=moment,
            install_id=self.install_id,
            session_id=self.session_id,
            editor_version=self.editor_version,
            platform=self.platform,
        )
        for key, v in (properties or {}).items():
            event.properties[key].CopyFrom(_value(v))
        payload = event.SerializeToString()
        if len(payload) > MAX_EVENT_BYTES:
            raise ValueError("an analytics event is at most 8 KiB")
        self._db.execute(
            "INSERT OR IGNORE INTO pending (event_id, payload, size) VALUES (?, ?, ?)",
            (event.event_id, payload, len(payload)),
        )
        return event.event_id

    def record_many(self, events: Sequence[tuple[str, Mapping[str, Any]]]) -> list[str]:
        """Buffer several events in one local transaction (one disk sync instead of many)."""
        if self.opted_out:
            return []
        ids = []
        self._db.execute("BEGIN IMMEDIATE")
        try:
            for name, properties in events:
                ids.append(self._insert(name, properties, None, None))
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._trim()
        return ids

    def _trim(self) -> None:
        excess = self.pending_count() - self.max_pending
        if excess > 0:  # bounded disk use: the oldest events go first
            self._db.execute(
                "DELETE FROM pending WHERE seq IN (SELECT seq FROM pending ORDER BY seq LIMIT ?)",
                (excess,),
            )

    def pending_count(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM pending").fetchone()[0])

    def pending_ids(self) -> list[str]:
        return [r[0] for r in self._db.execute("SELECT event_id FROM pending ORDER BY seq")]

    # -- sending ----------------------------------------------------------------------------

    def _next_batch(self, limit: int) -> list[tuple[int, bytes]]:
        batch: list[tuple[int, bytes]] = []
        total = 0
        for seq, payload, size in self._db.execute(
            "SELECT seq, payload, size FROM pending ORDER BY seq LIMIT ?", (limit,)
        ):
            if batch and total + size + 8 > MAX_BATCH_BYTES:
                break
            batch.append((seq, payload))
            total += size + 8
        return batch

    def _forget(self, seqs: Sequence[int]) -> None:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._db.executemany("DELETE FROM pending WHERE seq = ?", [(s,) for s in seqs])
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    async def _default_send(
        self, request: analytics_service_pb2.BatchIngestEventsRequest
    ) -> analytics_service_pb2.BatchIngestEventsResponse:
        if self._channel is None:
            from symphony_common.grpc.client import retry_service_config

            self._channel = grpc.aio.insecure_channel(
                self.config.analytics_address,
                options=[
                    ("grpc.service_config", retry_service_config()),
                    ("grpc.enable_retries", 1),
                    # Reconnect quickly once the service is back, instead of gRPC's default
                    # backoff of up to two minutes: buffered events go out soon after.
                    ("grpc.initial_reconnect_backoff_ms", 200),
                    ("grpc.min_reconnect_backoff_ms", 200),
                    ("grpc.max_reconnect_backoff_ms", 5000),
                ],
            )
        stub = analytics_service_pb2_grpc.AnalyticsServiceStub(self._channel)
        return await stub.BatchIngestEvents(request, timeout=SEND_DEADLINE_SECONDS)

    async def flush(self, *, max_batches: int | None = None) -> FlushResult:
        """Send buffered events until none are left, `max_batches` were sent, or the server
        cannot take them now (then they stay buffered for the next flush)."""
        if self.opted_out:
            self._db.execute("DELETE FROM pending")
            return FlushResult()
        send = self._send or self._default_send
        sent = accepted = duplicates = rejected = batches = 0
        limit = self.batch_events
        async with self._lock:
            while max_batches is None or batches < max_batches:
                batch = self._next_batch(limit)
                if not batch:
                    break
                request = analytics_service_pb2.BatchIngestEventsRequest()
                for _, payload in batch:
                    request.events.add().MergeFromString(payload)
                request.sent_time.FromDatetime(datetime.now(UTC))
                try:
                    answer = await send(request)
                except grpc.aio.AioRpcError as error:
                    code = error.code()
                    if (
                        code == grpc.StatusCode.INVALID_ARGUMENT
                        and "BATCH_TOO_LARGE" in (error.details() or "")
                        and limit > 1
                    ):
                        limit = max(1, limit // 2)
                        continue
                    hint = details_of(error).retry_after
                    retry_after = 1.0 if hint is None else hint
                    return FlushResult(
                        sent,
                        accepted,
                        duplicates,
                        rejected,
                        self.pending_count(),
                        error=code.name if code in RETRYABLE else f"{code.name}: {error.details()}",
                        retry_after=retry_after,
                    )
                # Answered: every event of the batch is accounted for (stored, duplicate, or refused
                # for good), so the batch leaves the buffer.
                self._forget([seq for seq, _ in batch])
                batches += 1
                sent += len(batch)
                accepted += answer.accepted_count
                duplicates += answer.duplicate_count
                rejected += answer.rejected_count
        return FlushResult(sent, accepted, duplicates, rejected, self.pending_count())

    async def run(self, interval: float = 30.0) -> None:
        """Flush periodically until cancelled, backing off while the server is unreachable."""
        delay = interval
        while True:
            await asyncio.sleep(delay)
            result = await self.flush()
            delay = min(max(interval, result.retry_after), 600.0) if result.error else interval

    def close(self) -> None:
        self._db.close()

    async def aclose(self) -> None:
        if self._channel is not None:
            await self._channel.close(None)
            self._channel = None
        self.close()


__all__ = ["AnalyticsBuffer", "FlushResult", "current_platform", "env_opted_out", "time"]
