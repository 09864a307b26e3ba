"""The registry service running in-process on port 0 against this worker's PostgreSQL and
Redis, with auth and analytics replaced by in-memory fakes (their gRPC clients are tested
against stub servers in test_peers.py)."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import pytest

from symphony.registry.v1 import registry_service_pb2 as spb
from symphony.registry.v1 import registry_service_pb2_grpc
from symphony.registry.v1 import resources_pb2 as pb
from symphony_common.context import Principal
from symphony_common.db import migrations
from symphony_common.errors import Unauthenticated
from symphony_common.service import Overrides, RunningService, start_service
from symphony_common.testing.tokens import TestSigner
from symphony_registry.bootstrap import DEFINITION
from symphony_registry.config import RegistrySettings
from symphony_registry.domain.models import Role

SERVICE_TOKEN = "registry-test-service-token"


@dataclass
class FakeAuth:
    """AuthPort in memory: organizations, administrators, personal access tokens."""

    orgs: dict[str, dict[str, Role]] = field(default_factory=dict)
    admins: set[str] = field(default_factory=set)
    pats: dict[str, Principal] = field(default_factory=dict)
    revoked: list[tuple[str, str]] = field(default_factory=list)
    fail_revocation: bool = False

    async def organization_role(self, organization_id: str, user_id: str) -> Role:
        return self.orgs.get(organization_id, {}).get(user_id, Role.NONE)

    async def user_organizations(self, user_id: str) -> Sequence[tuple[str, Role]]:
        return [(org, members[user_id]) for org, members in self.orgs.items() if user_id in members]

    async def organization_exists(self, organization_id: str) -> bool:
        return organization_id in self.orgs

    async def user_exists(self, user_id: str) -> bool:
        return not user_id.startswith("ghost")

    async def user_display_name(self, user_id: str) -> str:
        return f"User {user_id}"

    async def is_administrator(self, user_id: str) -> bool:
        return user_id in self.admins

    async def revoke_leaked_token(self, token: str, location: str) -> str:
        if self.fail_revocation:
            raise RuntimeError("auth down")
        self.revoked.append((token, location))
        return "OUTCOME_REVOKED" if self.pats.pop(token, None) else "OUTCOME_NOT_FOUND"

    async def introspect(self, token: str) -> Principal:
        principal = self.pats.get(token)
        if principal is None:
            raise Unauthenticated("INVALID_TOKEN", "inactive token")
        return principal

    def new_pat(self, user_id: str, scopes: Sequence[str]) -> str:
        token = "symp_" + secrets.token_urlsafe(30).replace("-", "x")
        self.pats[token] = Principal(
            kind="pat", user_id=user_id, scopes=frozenset(scopes), token_id=uuid.uuid4().hex
        )
        return token


@dataclass
class FakeAnalytics:
    received: dict[int, dict[str, Any]] = field(default_factory=dict)
    down: bool = False
    calls: int = 0

    async def record_downloads(self, rows: Sequence[dict[str, Any]]) -> None:
        self.calls += 1
        if self.down:
            raise RuntimeError("analytics down")
        for row in rows:
            self.received.setdefault(row["id"], dict(row))


@pytest.fixture(scope="session")
def registry_database_url(database_url: str) -> str:
    migrations.upgrade(database_url, DEFINITION.schema, DEFINITION.migrations_dir)
    return database_url


@dataclass
class RegistryHarness:
    running: RunningService
    channel: grpc.aio.Channel
    stub: registry_service_pb2_grpc.RegistryServiceStub
    signer: TestSigner
    auth: FakeAuth
    analytics: FakeAnalytics
    spool_dir: Path
    settings: RegistrySettings

    @property
    def service(self) -> Any:
        return self.running.wiring.registry["service"]  # type: ignore[attr-defined]

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.running.port}"

    def token(
        self, user: str, scopes: Sequence[str] = ("registry.publish", "sync.read")
    ) -> list[tuple[str, str]]:
        return [("authorization", f"Bearer {self.signer.mint(user, scopes=scopes)}")]

    def pat(
        self, user: str, scopes: Sequence[str] = ("registry.publish",)
    ) -> list[tuple[str, str]]:
        return [("authorization", f"Bearer {self.auth.new_pat(user, scopes)}")]

    async def namespace(self, owner: str, prefix: str = "ns") -> str:
        name = f"{prefix}{uuid.uuid4().hex[:10]}"
        await self.stub.CreateNamespace(
            spb.CreateNamespaceRequest(namespace_id=name), metadata=self.token(owner)
        )
        return name

    async def upload(
        self,
        data: bytes,
        metadata: Sequence[tuple[str, str]],
        *,
        chunk: int = 256 * 1024,
        **hints: Any,
    ) -> spb.UploadPackageResponse:
        async def requests() -> AsyncIterator[spb.UploadPackageRequest]:
            yield spb.UploadPackageRequest(metadata=spb.UploadMetadata(**hints))
            for i in range(0, len(data), chunk):
                yield spb.UploadPackageRequest(chunk=data[i : i + chunk])

        return await self.stub.UploadPackage(requests(), metadata=metadata)

    async def wait_scan(
        self, scan: str, metadata: Sequence[tuple[str, str]], within: float = 20.0
    ) -> pb.Scan:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            try:
                got = await self.stub.GetScan(spb.GetScanRequest(name=scan), metadata=metadata)
            except grpc.aio.AioRpcError as error:
                # A saturated pool answers "retry shortly"; a client polling a scan does.
                if error.code() != grpc.StatusCode.UNAVAILABLE or loop.time() > deadline:
                    raise
            else:
                if got.state >= pb.SCAN_STATE_PASSED or loop.time() > deadline:
                    return got
            await asyncio.sleep(0.05)

    async def publish(
        self, data: bytes, owner: str, **hints: Any
    ) -> tuple[spb.UploadPackageResponse, pb.Scan]:
        md = self.token(owner)
        response = await self.upload(data, md, **hints)
        scan = await self.wait_scan(response.scan.name, md)
        return response, scan

    async def download(self, name: str, **kw: Any) -> tuple[spb.DownloadMetadata, bytes]:
        meta = None
        body = bytearray()
        async for message in self.stub.DownloadPackage(spb.DownloadPackageRequest(name=name, **kw)):
            if message.WhichOneof("payload") == "metadata":
                meta = message.metadata
            else:
                body += message.chunk
        assert meta is not None
        return meta, bytes(body)


async def start_registry(
    database_url: str, redis_url: str, spool: Path, *, checks: Any = None, **settings_kw: Any
) -> RegistryHarness:
    signer = TestSigner()
    auth = FakeAuth()
    analytics = FakeAnalytics()
    values: dict[str, Any] = {
        # RG-7 runs 300 concurrent downloads: more than the suite's small default pool.
        "db_pool_size": 2,
        "db_max_overflow": 16,
        "db_pool_timeout_seconds": 30,
        "database_url": database_url,
        "redis_url": redis_url,
        "service_token": SERVICE_TOKEN,
        "page_token_secret": "pages",
        "spool_dir": str(spool),
        "worker_poll_seconds": 0.05,
        "outbox_interval_seconds": 3600,
        "scan_retry_seconds": 0.05,
        "revocation_retry_seconds": 0.2,
    }
    settings = RegistrySettings(**{**values, **settings_kw})
    extra: dict[str, Any] = {"auth": auth, "analytics": analytics}
    if checks is not None:
        extra["checks"] = checks
    running = await start_service(
        DEFINITION,
        settings,
        port=0,
        overrides=Overrides(jwks_source=signer.jwks, introspect=auth.introspect, extra=extra),
    )
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{running.port}")
    harness = RegistryHarness(
        running,
        channel,
        registry_service_pb2_grpc.RegistryServiceStub(channel),
        signer,
        auth,
        analytics,
        spool,
        settings,
    )
    await harness.service.ensure_signing_key()
    return harness


@pytest.fixture(scope="session")
async def registry(
    registry_database_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[RegistryHarness]:
    harness = await start_registry(
        registry_database_url, redis_url, tmp_path_factory.mktemp("registry-spool")
    )
    try:
        yield harness
    finally:
        await harness.channel.close()
        await harness.running.stop(0.5)
