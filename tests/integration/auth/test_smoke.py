from __future__ import annotations

import grpc

from symphony.auth.v1 import auth_service_pb2 as pb
from tests.integration.auth.support import AuthHarness, expect_error


async def test_register_login_me_refresh_logout(auth: AuthHarness) -> None:
    account = await auth.signed_up()
    me = await auth.stub.GetCurrentUser(pb.GetCurrentUserRequest(), metadata=account.bearer())
    assert me.email == account.email and me.email_verified and me.has_password
    pair = await auth.stub.Refresh(
        pb.RefreshRequest(refresh_token=account.refresh), metadata=auth.md()
    )
    assert pair.token_type == "Bearer" and pair.expires_in == 900
    await auth.stub.Logout(
        pb.LogoutRequest(), metadata=(("authorization", f"Bearer {pair.access_token}"),)
    )
    await expect_error(
        auth.stub.GetCurrentUser(
            pb.GetCurrentUserRequest(), metadata=(("authorization", f"Bearer {pair.access_token}"),)
        ),
        grpc.StatusCode.UNAUTHENTICATED,
        "SESSION_REVOKED",
    )
