"""GetCurrentUser answers from each replica's session cache; a write on one replica reaches the
other replica's cache through the change bus (Redis pub/sub). The caches here live ten minutes,
so only the bus (or, on the writer itself, the commit) can make these tests pass: AU-14 at
auth holds across replicas."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import jwt
import pytest
from google.protobuf import field_mask_pb2

from symphony.auth.v1 import auth_service_pb2 as pb
from symphony.auth.v1 import resources_pb2 as rpb
from tests.integration.auth.support import (
    Account,
    AuthHarness,
    expect_error,
    harness,
    make_settings,
    reason_of,
)

CACHE_SECONDS = 600.0
WITHIN = 10.0  # a bound for the bus's delivery, far below the cache's lifetime


def cache(h: AuthHarness) -> Any:
    return h.running.wiring.parts["sessions"]


def session_of(account: Account) -> str:
    return str(jwt.decode(account.access, options={"verify_signature": False})["sid"])


async def eventually(check: Callable[[], Awaitable[None]]) -> None:
    """`check` passes within WITHIN seconds (it raises AssertionError until then)."""
    deadline = time.monotonic() + WITHIN
    while True:
        try:
            await check()
            return
        except AssertionError:
            if time.monotonic() > deadline:
                raise
        await asyncio.sleep(0.05)


async def live(h: AuthHarness) -> None:
    assert cache(h).live, "the change bus is not subscribed"


@pytest.fixture(scope="module")
async def replicas(
    auth_database_url: str, redis_url: str
) -> AsyncIterator[tuple[AuthHarness, AuthHarness]]:
    settings = make_settings(auth_database_url, redis_url, session_cache_seconds=CACHE_SECONDS)
    async with harness(settings) as a, harness(settings) as b:
        await eventually(lambda: live(a))
        await eventually(lambda: live(b))
        yield a, b


async def cached_on(h: AuthHarness, account: Account) -> rpb.User:
    """GetCurrentUser on `h`, which from then on answers from its cache."""
    me = await h.stub.GetCurrentUser(pb.GetCurrentUserRequest(), metadata=account.bearer())
    assert session_of(account) in cache(h)
    return me


async def test_a_replica_forgets_its_own_writes_at_once(auth_database_url: str) -> None:
    """No Redis configured (one replica): its commits alone keep its cache current."""
    settings = make_settings(auth_database_url, "", session_cache_seconds=CACHE_SECONDS)
    async with harness(settings) as h:
        assert cache(h).live
        account = await h.signed_up()
        before = await cached_on(h, account)
        renamed = await h.stub.UpdateCurrentUser(
            pb.UpdateCurrentUserRequest(user=rpb.User(display_name="Renamed Here")),
            metadata=account.bearer(),
        )
        me = await cached_on(h, account)
        assert (me.display_name, me.etag) == ("Renamed Here", renamed.etag)
        assert renamed.etag != before.etag
        await h.lock(account.user_id, datetime.now(UTC) + timedelta(hours=1))
        await expect_error(
            h.stub.GetCurrentUser(pb.GetCurrentUserRequest(), metadata=account.bearer()),
            grpc.StatusCode.PERMISSION_DENIED,
            "USER_LOCKED",
        )
        other = await h.signed_up()
        await cached_on(h, other)
        await h.stub.Logout(pb.LogoutRequest(), metadata=other.bearer())
        await expect_error(
            h.stub.GetCurrentUser(pb.GetCurrentUserRequest(), metadata=other.bearer()),
            grpc.StatusCode.UNAUTHENTICATED,
            "SESSION_REVOKED",
        )


async def test_logout_on_one_replica_ends_the_session_on_the_other(
    replicas: tuple[AuthHarness, AuthHarness],
) -> None:
    a, b = replicas
    account = await a.signed_up()
    other = await a.login(await a.register())  # another user's session stays served
    await cached_on(b, account)
    await cached_on(b, other)
    await a.stub.Logout(pb.LogoutRequest(refresh_token=account.refresh), metadata=a.md())

    async def refused() -> None:
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await b.stub.GetCurrentUser(pb.GetCurrentUserRequest(), metadata=account.bearer())
        assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
        assert reason_of(info.value) == "SESSION_REVOKED"

    await eventually(refused)
    assert session_of(other) in cache(b)


async def test_profile_update_on_one_replica_shows_on_the_other(
    replicas: tuple[AuthHarness, AuthHarness],
) -> None:
    a, b = replicas
    account = await a.signed_up()
    before = await cached_on(b, account)
    updated = await a.stub.UpdateCurrentUser(
        pb.UpdateCurrentUserRequest(
            user=rpb.User(display_name="Renamed Elsewhere", etag=before.etag),
            update_mask=field_mask_pb2.FieldMask(paths=["display_name"]),
        ),
        metadata=account.bearer(),
    )

    async def renamed() -> None:
        me = await b.stub.GetCurrentUser(pb.GetCurrentUserRequest(), metadata=account.bearer())
        assert (me.display_name, me.etag) == ("Renamed Elsewhere", updated.etag)

    await eventually(renamed)


async def test_a_user_disabled_on_one_replica_is_refused_on_the_other(
    replicas: tuple[AuthHarness, AuthHarness],
) -> None:
    a, b = replicas
    admin = await a.admin()
    account = await a.signed_up()
    await cached_on(b, account)
    await a.stub.DisableUser(
        pb.DisableUserRequest(name=f"users/{account.user_id}"), metadata=admin.bearer()
    )

    async def refused() -> None:
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await b.stub.GetCurrentUser(pb.GetCurrentUserRequest(), metadata=account.bearer())
        # Disabling also ends the user's sessions, and the session is checked first.
        assert (info.value.code(), reason_of(info.value)) in (
            (grpc.StatusCode.UNAUTHENTICATED, "SESSION_REVOKED"),
            (grpc.StatusCode.PERMISSION_DENIED, "USER_DISABLED"),
        )

    await eventually(refused)


async def test_without_redis_nothing_is_cached(auth_database_url: str) -> None:
    """With the bus unreachable another replica's write could not be heard: every
    GetCurrentUser reads the database (and still answers)."""
    settings = make_settings(
        auth_database_url,
        "redis://127.0.0.1:9/0",  # the discard port: nothing listens
        session_cache_seconds=CACHE_SECONDS,
    )
    async with harness(settings) as h:
        account = await h.signed_up()
        me = await h.stub.GetCurrentUser(pb.GetCurrentUserRequest(), metadata=account.bearer())
        assert me.uid == account.user_id
        assert not cache(h).live and len(cache(h)) == 0


async def test_a_user_locked_on_one_replica_is_refused_on_the_other(
    replicas: tuple[AuthHarness, AuthHarness],
) -> None:
    """A lock ends no session: only the user's own change message can reach the other cache."""
    a, b = replicas
    account = await a.signed_up()
    await cached_on(b, account)
    await a.lock(account.user_id, datetime.now(UTC) + timedelta(hours=1))

    async def refused() -> None:
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await b.stub.GetCurrentUser(pb.GetCurrentUserRequest(), metadata=account.bearer())
        assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
        assert reason_of(info.value) == "USER_LOCKED"

    await eventually(refused)
