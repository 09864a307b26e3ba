"""AU-9: every issuing or accepting path × every inactive user state → no token issued or
accepted. The paths come from `ISSUING_PATHS`, so a new path without a case here fails."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import grpc
import pytest

from symphony.auth.v1 import auth_internal_service_pb2 as ipb
from symphony.auth.v1 import auth_service_pb2 as pb
from symphony.auth.v1 import resources_pb2 as rpb
from symphony_auth.domain.service import ISSUING_PATHS
from tests.integration.auth.support import Account, AuthHarness, expect_error

STATES = ("disabled", "locked", "deleted", "password_changed")


async def make_state(auth: AuthHarness, account: Account, state: str) -> None:
    if state == "disabled":
        admin = await auth.admin()
        await auth.stub.DisableUser(
            pb.DisableUserRequest(name=f"users/{account.user_id}"), metadata=admin.bearer()
        )
    elif state == "locked":
        await auth.lock(account.user_id, datetime.now(UTC) + timedelta(hours=1))
    elif state == "deleted":
        await auth.stub.DeleteCurrentUser(pb.DeleteCurrentUserRequest(), metadata=account.bearer())
    elif state == "password_changed":
        fresh = await auth.login(Account(account.email, account.password), device="the changer")
        await auth.stub.ChangePassword(
            pb.ChangePasswordRequest(
                current_password=account.password,
                new_password="changed passphrase 42",
                end_other_sessions=True,
            ),
            metadata=fresh.bearer(),
        )


Path = Callable[[AuthHarness, Account, dict], Awaitable[None]]


async def path_login(auth: AuthHarness, account: Account, prep: dict) -> None:
    await auth.stub.Login(
        pb.LoginRequest(email=account.email, password=account.password), metadata=auth.md()
    )


async def path_refresh(auth: AuthHarness, account: Account, prep: dict) -> None:
    await auth.stub.Refresh(pb.RefreshRequest(refresh_token=account.refresh), metadata=auth.md())


async def path_exchange_device_code(auth: AuthHarness, account: Account, prep: dict) -> None:
    await auth.stub.ExchangeDeviceCode(
        pb.ExchangeDeviceCodeRequest(device_code=prep["device_code"]), metadata=auth.md()
    )


async def path_create_pat(auth: AuthHarness, account: Account, prep: dict) -> None:
    await auth.stub.CreatePersonalAccessToken(
        pb.CreatePersonalAccessTokenRequest(
            personal_access_token=rpb.PersonalAccessToken(display_name="x", scopes=["sync.read"])
        ),
        metadata=account.bearer(),
    )


async def path_introspect_pat(auth: AuthHarness, account: Account, prep: dict) -> None:
    answer = await auth.internal.IntrospectToken(
        ipb.IntrospectTokenRequest(token=prep["pat"]), metadata=auth.service_md()
    )
    if not answer.active:
        raise AssertionError("refused")


async def path_introspect_access(auth: AuthHarness, account: Account, prep: dict) -> None:
    answer = await auth.internal.IntrospectToken(
        ipb.IntrospectTokenRequest(token=account.access), metadata=auth.service_md()
    )
    if not answer.active:
        raise AssertionError("refused")


async def path_signed_in_call(auth: AuthHarness, account: Account, prep: dict) -> None:
    await auth.stub.GetCurrentUser(pb.GetCurrentUserRequest(), metadata=account.bearer())


async def path_external_login(auth: AuthHarness, account: Account, prep: dict) -> None:
    await prep["oidc_login"]()


PATHS: dict[str, Path] = {
    "login": path_login,
    "refresh": path_refresh,
    "exchange_device_code": path_exchange_device_code,
    "complete_external_login": path_external_login,
    "create_personal_access_token": path_create_pat,
    "introspect_personal_access_token": path_introspect_pat,
    "introspect_access_token": path_introspect_access,
    "signed_in_call": path_signed_in_call,
}


def test_every_issuing_path_has_a_case() -> None:
    assert set(PATHS) == set(ISSUING_PATHS)


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("path", ISSUING_PATHS)
async def test_au9_no_token_for_an_inactive_user(oidc_harness, path: str, state: str) -> None:  # type: ignore[no-untyped-def]
    auth, provider = oidc_harness
    account = await auth.signed_up()
    prep: dict = {}
    if path == "exchange_device_code":
        started = await auth.stub.StartDeviceAuthorization(
            pb.StartDeviceAuthorizationRequest(), metadata=auth.md()
        )
        await auth.stub.ApproveDeviceAuthorization(
            pb.ApproveDeviceAuthorizationRequest(user_code=started.user_code),
            metadata=account.bearer(),
        )
        prep["device_code"] = started.device_code
    if path == "introspect_personal_access_token":
        pat = await auth.stub.CreatePersonalAccessToken(
            pb.CreatePersonalAccessTokenRequest(
                personal_access_token=rpb.PersonalAccessToken(
                    display_name="x", scopes=["sync.read"]
                )
            ),
            metadata=account.bearer(),
        )
        prep["pat"] = pat.token
    if path == "complete_external_login":
        subject = f"sub-{account.user_id}"
        provider.users[subject] = {"email": account.email, "email_verified": True}
        from tests.integration.auth.support import external_login

        await external_login(auth, provider, subject)  # links the identity while active
        prep["oidc_login"] = lambda: external_login(auth, provider, subject)
    # Sanity: the path works for the active user (so the matrix can fail).
    if path not in ("login", "exchange_device_code", "refresh"):
        await PATHS[path](auth, account, prep)
    await make_state(auth, account, state)
    if state == "password_changed" and path in (
        "login",
        "exchange_device_code",
        "complete_external_login",
        "create_personal_access_token",
        "introspect_personal_access_token",
    ):
        # Not a refused state for these: the user is active and these need no old session
        # (the PAT path uses the old session's token, which must be refused).
        if path == "create_personal_access_token":
            await expect_error(PATHS[path](auth, account, prep), grpc.StatusCode.UNAUTHENTICATED)
        return
    if path == "complete_external_login" and state == "deleted":
        # The identity was erased with the account: the provider's user gets a new account,
        # never the deleted one.
        pair = await prep["oidc_login"]()
        me = await auth.stub.GetCurrentUser(
            pb.GetCurrentUserRequest(), metadata=account.bearer(pair.access_token)
        )
        assert me.uid != account.user_id
        return
    with pytest.raises((grpc.aio.AioRpcError, AssertionError)) as info:
        await PATHS[path](auth, account, prep)
    if isinstance(info.value, grpc.aio.AioRpcError):
        assert info.value.code() in (
            grpc.StatusCode.UNAUTHENTICATED,
            grpc.StatusCode.PERMISSION_DENIED,
        ), info.value
