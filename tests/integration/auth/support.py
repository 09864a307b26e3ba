"""Shared by the auth tests (imported as `tests.integration.auth.support` only, so there is one
mailbox per process). The auth service in-process (`start_service`, port 0) on this worker's
migrated database and Redis, with a mailbox instead of SMTP, recorded peer calls and an
adjustable clock."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import os
import random
import re
import secrets
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import grpc
import httpx
import pytest

from symphony.auth.v1 import auth_internal_service_pb2 as ipb
from symphony.auth.v1 import auth_internal_service_pb2_grpc, auth_service_pb2_grpc
from symphony.auth.v1 import auth_service_pb2 as pb
from symphony.auth.v1 import resources_pb2 as rpb
from symphony_auth.bootstrap import DEFINITION
from symphony_auth.config import AuthSettings
from symphony_client.errors import details_of
from symphony_common.db import migrations
from symphony_common.service import Overrides, start_service

SERVICE_TOKEN = "test-service-token-" + secrets.token_hex(8)
ADMIN_EMAIL = "admin@admin.example"
NIGHTLY = os.environ.get("SYMPHONY_TEST_TIER") == "nightly"


class Clock:
    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


class Mailbox:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []

    async def send(self, recipient: str, subject: str, body: str) -> None:
        self.sent.append((recipient, subject, body))

    def token_for(self, recipient: str, path: str) -> str | None:
        for to, _, body in reversed(self.sent):
            if to.lower() == recipient.lower():
                match = re.search(rf"/{path}\?token=([A-Za-z0-9_-]+)", body)
                if match:
                    return match.group(1)
        return None


class Peers:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.fail = False

    async def delete_user_data(self, peer: str, user_id: str, request_id: str) -> None:
        if self.fail:
            raise ConnectionError("peer down")
        self.calls.append((peer, user_id))


MAILBOX = Mailbox()
PEERS = Peers()


def reason_of(error: grpc.aio.AioRpcError) -> str:
    return details_of(error).reason


def retry_after(error: grpc.aio.AioRpcError) -> float | None:
    return details_of(error).retry_after


async def expect_error(
    call: Any, code: grpc.StatusCode, reason: str | None = None
) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call
    assert info.value.code() == code, (
        info.value.code(),
        info.value.details(),
        reason_of(info.value),
    )
    if reason is not None:
        assert reason_of(info.value) == reason, info.value.details()
    return info.value


def random_address() -> str:
    return str(ipaddress.IPv4Address(random.randint(0x0B000000, 0xDF000000)))


def new_email() -> str:
    return f"u{uuid.uuid4().hex[:12]}@example.com"


GOOD_PASSWORD = "correct horse battery staple ♫"


@dataclass
class Account:
    email: str
    password: str
    user_id: str = ""
    access: str = ""
    refresh: str = ""

    def bearer(self, token: str | None = None) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {token or self.access}"),)


@dataclass
class AuthHarness:
    running: Any
    channel: grpc.aio.Channel
    stub: auth_service_pb2_grpc.AuthServiceStub
    internal: auth_internal_service_pb2_grpc.AuthInternalServiceStub
    clock: Clock
    mailbox: Mailbox
    peers: Peers
    settings: AuthSettings
    address: str = field(default_factory=random_address)

    @property
    def service(self) -> Any:
        return self.running.wiring.service

    @property
    def engine(self) -> Any:
        return self.service._uow().engine

    def md(
        self, *extra: tuple[str, str], address: str | None = None
    ) -> tuple[tuple[str, str], ...]:
        return (("x-forwarded-for", address or self.address), *extra)

    def service_md(self) -> tuple[tuple[str, str], ...]:
        return (("x-symphony-service-token", SERVICE_TOKEN),)

    async def register(
        self,
        email: str | None = None,
        password: str = GOOD_PASSWORD,
        name: str = "Test User",
        verify: bool = True,
    ) -> Account:
        account = Account(email or new_email(), password)
        await self.stub.CreateUser(
            pb.CreateUserRequest(
                user=rpb.User(email=account.email, display_name=name), password=password
            ),
            metadata=self.md(address=random_address()),
        )
        if verify:
            token = await self.mail_token(account.email, "verify-email")
            if not token:
                rows = await self.sql(
                    "SELECT id, sent_time, attempts, next_attempt_time, now(), last_error "
                    "FROM auth.email_outbox WHERE recipient = :r",
                    r=account.email,
                )
                users = await self.sql(
                    "SELECT id, state FROM auth.users WHERE lower(email) = lower(:r)",
                    r=account.email,
                )
                raise AssertionError(f"no verification email: {rows} {users} {self.clock()}")
            user = await self.stub.VerifyEmail(
                pb.VerifyEmailRequest(token=token), metadata=self.md()
            )
            account.user_id = user.uid
        return account

    async def mail_token(self, recipient: str, path: str) -> str | None:
        # Another harness's outbox worker may be the one sending it: wait a little.
        for _ in range(50):
            await self.running.wiring.parts["outbox"].run_once()
            token = self.mailbox.token_for(recipient, path)
            if token:
                return token
            await asyncio.sleep(0.1)
        return None

    async def login(
        self, account: Account, *, address: str | None = None, device: str = "laptop"
    ) -> Account:
        pair = await self.stub.Login(
            pb.LoginRequest(
                email=account.email,
                password=account.password,
                device_name=device,
                platform="linux-x64",
            ),
            metadata=self.md(address=address or random_address()),
        )
        account.access, account.refresh = pair.access_token, pair.refresh_token
        if not account.user_id:
            me = await self.stub.GetCurrentUser(
                pb.GetCurrentUserRequest(), metadata=account.bearer()
            )
            account.user_id = me.uid
        return account

    async def signed_up(self, **kwargs: Any) -> Account:
        return await self.login(await self.register(**kwargs))

    async def sql(self, statement: str, **params: Any) -> list[Any]:
        from sqlalchemy import text

        async with self.engine.begin() as conn:
            result = await conn.execute(text(statement), params)
            return list(result) if result.returns_rows else []

    async def lock(self, user_id: str, until: datetime) -> None:
        """Lock an account as a lockout would (no RPC sets the state in v1): through the
        service's own unit of work, whose commit every replica's session cache hears about."""
        async with self.service._uow() as uow:
            await uow.repo.update_user(
                user_id, self.clock(), state="locked", lock_expire_time=until
            )
            await uow.commit()

    async def admin(self) -> Account:
        """The administrator (email in SYMPHONY_AUTH_ADMIN_EMAILS), registered once per
        database, signed in."""
        exists = await self.sql("SELECT 1 FROM auth.users WHERE lower(email) = :e", e=ADMIN_EMAIL)
        if not exists:
            return await self.signed_up(email=ADMIN_EMAIL)
        return await self.login(Account(ADMIN_EMAIL, GOOD_PASSWORD))


@pytest.fixture(scope="session")
def auth_database_url(database_url: str) -> str:
    migrations.upgrade(database_url, DEFINITION.schema, DEFINITION.migrations_dir)
    return database_url


@pytest.fixture
def isolated_database_url(admin_database_url: str) -> Any:
    """A database of its own, for tests that change state every harness shares (signing keys)."""
    from tests.common.stack import fresh_database

    with fresh_database(admin_database_url, f"symphony_auth_iso_{secrets.token_hex(4)}") as url:
        migrations.upgrade(url, DEFINITION.schema, DEFINITION.migrations_dir)
        yield url


def make_settings(database_url: str, redis_url: str, **extra: Any) -> AuthSettings:
    values: dict[str, Any] = dict(
        database_url=database_url,
        redis_url=redis_url,
        service_token=SERVICE_TOKEN,
        admin_emails=ADMIN_EMAIL,
        argon2_memory_kib=19456,
        argon2_time_cost=2,
        db_pool_size=2,
        db_max_overflow=30,
        db_pool_timeout_seconds=30,
    )
    return AuthSettings(**{**values, **extra})


@pytest.fixture(scope="session")
async def auth(auth_database_url: str, redis_url: str) -> AsyncIterator[AuthHarness]:
    async with harness(make_settings(auth_database_url, redis_url, outbox_poll_seconds=0.2)) as h:
        yield h


class harness:
    def __init__(self, settings: AuthSettings, **extra: Any) -> None:
        self.settings = settings
        self.extra = extra

    async def __aenter__(self) -> AuthHarness:
        # One mailbox and peer record for every harness: their outbox workers share the database.
        clock, mailbox, peers = Clock(), MAILBOX, PEERS
        overrides = Overrides(
            extra={"clock": clock, "mailer": mailbox, "peers": peers, **self.extra}
        )
        self.running = await start_service(DEFINITION, self.settings, port=0, overrides=overrides)
        self.channel = grpc.aio.insecure_channel(f"127.0.0.1:{self.running.port}")
        return AuthHarness(
            self.running,
            self.channel,
            auth_service_pb2_grpc.AuthServiceStub(self.channel),
            auth_internal_service_pb2_grpc.AuthInternalServiceStub(self.channel),
            clock,
            mailbox,
            peers,
            self.settings,
        )

    async def __aexit__(self, *exc: object) -> None:
        await self.channel.close()
        await self.running.stop(0.5)


from tests.integration.auth.oidc_provider import CLIENT_ID, CLIENT_SECRET, OidcProvider  # noqa: E402

REDIRECT = "https://symphony.dev/auth/callback"


@pytest.fixture(scope="session")
async def oidc_harness(
    auth_database_url: str, redis_url: str
) -> AsyncIterator[tuple[AuthHarness, OidcProvider]]:
    provider = OidcProvider()
    await provider.start()
    providers = json.dumps(
        [
            {
                "id": "testidp",
                "display_name": "Test IdP",
                "issuer": provider.issuer,
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "redirect_uris": [REDIRECT],
            }
        ]
    )
    async with harness(make_settings(auth_database_url, redis_url, oidc_providers=providers)) as h:
        yield h, provider
    await provider.stop()


async def browser(auth: AuthHarness, provider: OidcProvider, subject: str) -> tuple[str, str]:
    start = await auth.stub.StartExternalLogin(
        pb.StartExternalLoginRequest(provider="testidp", redirect_uri=REDIRECT), metadata=auth.md()
    )
    async with httpx.AsyncClient() as client:
        response = await client.get(start.authorization_uri + f"&login_hint={subject}")
    assert response.status_code == 302, response.text
    query = parse_qs(urlsplit(response.headers["location"]).query)
    assert query["state"] == [start.state]
    return query["code"][0], start.state


async def external_login(auth: AuthHarness, provider: OidcProvider, subject: str):  # type: ignore[no-untyped-def]
    code, state = await browser(auth, provider, subject)
    return await auth.stub.CompleteExternalLogin(
        pb.CompleteExternalLoginRequest(
            provider="testidp", code=code, state=state, redirect_uri=REDIRECT
        ),
        metadata=auth.md(),
    )


__all__ = [
    "ADMIN_EMAIL",
    "NIGHTLY",
    "AuthHarness",
    "asyncio",
    "expect_error",
    "ipb",
    "reason_of",
    "retry_after",
]


@pytest.fixture(autouse=True)
def _reset_clock(request: pytest.FixtureRequest) -> Any:
    yield
    if "auth" in request.fixturenames:
        request.getfixturevalue("auth").clock.offset = timedelta()
