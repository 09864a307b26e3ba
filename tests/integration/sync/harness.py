"""The sync service under test: the real server in-process on port 0 (``start_service``),
real PostgreSQL and Redis, tokens from a ``TestSigner``. Shared by the sync contract,
integration and client tests."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import grpc

from symphony.sync.v1 import (
    sync_internal_service_pb2_grpc,
    sync_service_pb2,
    sync_service_pb2_grpc,
)
from symphony_common.db import migrations
from symphony_common.service import Overrides, RunningService, start_service
from symphony_common.testing.tokens import TestSigner
from symphony_sync.bootstrap import DEFINITION
from symphony_sync.config import SyncSettings

SERVICE_TOKEN = "sync-test-service-token"
BOTH = ("sync.read", "sync.write")

_migrated: set[str] = set()


async def migrate(database_url: str) -> None:
    if database_url not in _migrated:
        await asyncio.to_thread(
            migrations.upgrade, database_url, DEFINITION.schema, DEFINITION.migrations_dir
        )
        _migrated.add(database_url)


def settings(database_url: str, redis_url: str, **extra: Any) -> SyncSettings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "redis_url": redis_url,
        "service_token": SERVICE_TOKEN,
        "page_token_secret": "sync-tests",
        "bind": "127.0.0.1",
        "maintenance_interval_seconds": 0,
        "log_level": "WARNING",
        **extra,
    }
    return SyncSettings(**values)


@dataclass
class SyncServer:
    running: RunningService
    signer: TestSigner

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.running.port}"

    @property
    def service(self) -> Any:
        return self.running.wiring.service

    def token(self, user: str, scopes: Sequence[str] = BOTH, **extra: Any) -> str:
        return self.signer.mint(user, scopes=scopes, **extra)

    def auth(self, user: str, scopes: Sequence[str] = BOTH) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {self.token(user, scopes)}"),)

    def channel(self) -> grpc.aio.Channel:
        return grpc.aio.insecure_channel(
            self.address,
            options=[
                ("grpc.max_receive_message_length", 16 << 20),
                ("grpc.max_send_message_length", 16 << 20),
            ],
        )

    async def stop(self) -> None:
        await self.running.stop(grace=0.5)


async def start_sync(
    database_url: str,
    redis_url: str,
    signer: TestSigner | None = None,
    overrides_extra: dict[str, Any] | None = None,
    **extra: Any,
) -> SyncServer:
    await migrate(database_url)
    signer = signer or TestSigner()
    running = await start_service(
        DEFINITION,
        settings(database_url, redis_url, **extra),
        port=0,
        overrides=Overrides(
            jwks_source=signer.jwks, introspect=_no_pats, extra=overrides_extra or {}
        ),
    )
    return SyncServer(running, signer)


async def _no_pats(token: str) -> Any:
    from symphony_common.tokens import invalid_token

    raise invalid_token()


class Client:
    """One user's authenticated stub."""

    def __init__(
        self,
        server: SyncServer,
        channel: grpc.aio.Channel,
        user: str | None = None,
        scopes: Sequence[str] = BOTH,
    ) -> None:
        self.server = server
        self.user = user or f"u-{uuid.uuid4().hex[:12]}"
        self.stub = sync_service_pb2_grpc.SyncServiceStub(channel)
        self.internal = sync_internal_service_pb2_grpc.SyncInternalServiceStub(channel)
        self.metadata = server.auth(self.user, scopes)

    async def push(
        self,
        *changes: sync_service_pb2.Change,
        atomic: bool = False,
        request_id: str | None = None,
        **kw: Any,
    ) -> sync_service_pb2.PushResponse:
        return await self.stub.Push(
            sync_service_pb2.PushRequest(
                request_id=request_id or str(uuid.uuid4()),
                changes=list(changes),
                atomic=atomic,
                **kw,
            ),
            metadata=self.metadata,
        )

    async def set(
        self, collection: str, key: str, value: bytes, base: int = 0, **kw: Any
    ) -> sync_service_pb2.ChangeResult:
        response = await self.push(change(collection, key, value, base, **kw))
        return response.results[0]

    async def pull_all(self, since: int = 0, **kw: Any) -> tuple[list[Any], int]:
        items, token = [], ""
        while True:
            page = await self.stub.PullChanges(
                sync_service_pb2.PullChangesRequest(since=since, page_token=token, **kw),
                metadata=self.metadata,
            )
            items.extend(page.changes)
            token = page.next_page_token
            if not token:
                return items, page.cursor


def change(
    collection: str, key: str, value: bytes = b"", base: int = 0, **kw: Any
) -> sync_service_pb2.Change:
    return sync_service_pb2.Change(
        collection=collection, key=key, value=value, base_revision=base, **kw
    )


def status_details(error: grpc.aio.AioRpcError) -> list[Any]:
    from grpc_status import rpc_status

    status = rpc_status.from_call(error)
    return list(status.details) if status else []
