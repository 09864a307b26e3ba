"""AU-15: a Hypothesis model of one user's token families. After every step the server and
the model agree on which access and refresh tokens are valid. Hypothesis runs in a worker
thread and drives the service on the test's event loop."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta

import grpc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from symphony.auth.v1 import auth_internal_service_pb2 as ipb
from symphony.auth.v1 import auth_service_pb2 as pb
from tests.integration.auth.support import NIGHTLY, Account, harness, make_settings

PASSWORDS = ("first model passphrase", "second model passphrase")


@dataclass
class Family:
    access: str
    refresh: str
    old_refresh: list[str] = field(default_factory=list)
    active: bool = True


OPS = st.lists(
    st.tuples(
        st.sampled_from(["login", "refresh", "replay", "logout", "change_password", "disable"]),
        st.integers(min_value=0, max_value=5),
    ),
    min_size=1,
    max_size=8,
)


async def test_au15_model_and_server_agree(isolated_database_url: str, redis_url: str) -> None:
    loop = asyncio.get_running_loop()
    cheap = make_settings(
        isolated_database_url,
        redis_url,
        argon2_memory_kib=1024,
        argon2_time_cost=1,
        login_account_limit=10_000,
        login_address_limit=10_000,
        request_rate_limit=100_000,
    )
    async with harness(cheap) as h:
        admin = await h.admin()

        async def run(ops: list[tuple[str, int]]) -> None:
            user = await h.register(password=PASSWORDS[0])
            password = PASSWORDS[0]
            families: list[Family] = []

            async def login() -> None:
                account = await h.login(Account(user.email, password))
                families.append(Family(account.access, account.refresh))

            await login()
            for op, index in ops:
                live = [f for f in families if f.active]
                family = families[index % len(families)]
                if op == "login":
                    await login()
                elif op == "refresh":
                    try:
                        pair = await h.stub.Refresh(
                            pb.RefreshRequest(refresh_token=family.refresh), metadata=h.md()
                        )
                    except grpc.aio.AioRpcError:
                        assert not family.active
                    else:
                        assert family.active
                        family.old_refresh.append(family.refresh)
                        family.access, family.refresh = pair.access_token, pair.refresh_token
                elif op == "replay" and family.old_refresh:
                    h.clock.offset += timedelta(seconds=h.settings.refresh_grace_seconds + 1)
                    try:
                        await h.stub.Refresh(
                            pb.RefreshRequest(refresh_token=family.old_refresh[0]), metadata=h.md()
                        )
                        raise AssertionError("a replayed refresh token was accepted")
                    except grpc.aio.AioRpcError:
                        family.active = False
                elif op == "logout":
                    await h.stub.Logout(
                        pb.LogoutRequest(refresh_token=family.refresh), metadata=h.md()
                    )
                    family.active = False
                elif op == "change_password" and live:
                    keep = live[index % len(live)]
                    new = PASSWORDS[1] if password == PASSWORDS[0] else PASSWORDS[0]
                    await h.stub.ChangePassword(
                        pb.ChangePasswordRequest(
                            current_password=password, new_password=new, end_other_sessions=True
                        ),
                        metadata=(("authorization", f"Bearer {keep.access}"),),
                    )
                    password = new
                    for other in families:
                        other.active = other.active and other is keep
                elif op == "disable":
                    name = f"users/{user.user_id}"
                    await h.stub.DisableUser(
                        pb.DisableUserRequest(name=name), metadata=admin.bearer()
                    )
                    await h.stub.EnableUser(
                        pb.EnableUserRequest(name=name), metadata=admin.bearer()
                    )
                    for other in families:
                        other.active = False
                for f in families:
                    answer = await h.internal.IntrospectToken(
                        ipb.IntrospectTokenRequest(token=f.access), metadata=h.service_md()
                    )
                    assert answer.active == f.active, (op, answer)
            h.clock.offset = timedelta()

        @settings(
            max_examples=2000 if NIGHTLY else 100,
            deadline=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        @given(OPS)
        def check(ops: list[tuple[str, int]]) -> None:
            asyncio.run_coroutine_threadsafe(run(ops), loop).result(timeout=60)

        await asyncio.to_thread(check)
