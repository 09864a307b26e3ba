"""AU-8: the device authorization grant (RFC 8628)."""

from __future__ import annotations

import base64
from datetime import timedelta

import grpc

from symphony.auth.v1 import auth_service_pb2 as pb
from symphony_auth.domain.secrets import USER_CODE_ALPHABET
from tests.integration.auth.support import AuthHarness, expect_error, retry_after


async def start(auth: AuthHarness) -> pb.StartDeviceAuthorizationResponse:
    return await auth.stub.StartDeviceAuthorization(
        pb.StartDeviceAuthorizationRequest(device_name="editor", platform="linux-x64"),
        metadata=auth.md(),
    )


async def poll(auth: AuthHarness, device_code: str):  # type: ignore[no-untyped-def]
    return await auth.stub.ExchangeDeviceCode(
        pb.ExchangeDeviceCodeRequest(device_code=device_code), metadata=auth.md()
    )


async def test_au8_codes_polling_approval_and_single_redemption(auth: AuthHarness) -> None:
    user = await auth.signed_up()
    started = await start(auth)
    letters = started.user_code.replace("-", "")
    assert (
        len(letters) == 8
        and set(letters) <= set(USER_CODE_ALPHABET)
        and len(USER_CODE_ALPHABET) == 20
    )
    assert len(base64.urlsafe_b64decode(started.device_code + "==")) * 8 >= 128
    assert started.interval == 5 and started.expires_in == 600
    assert started.verification_uri_complete.startswith(started.verification_uri)

    await expect_error(
        poll(auth, started.device_code),
        grpc.StatusCode.FAILED_PRECONDITION,
        "AUTHORIZATION_PENDING",
    )
    # Polling again at once is faster than `interval`: slow_down, and the interval grows by 5 s.
    error = await expect_error(
        poll(auth, started.device_code), grpc.StatusCode.RESOURCE_EXHAUSTED, "SLOW_DOWN"
    )
    assert retry_after(error) == 10
    looked = await auth.stub.LookupDeviceAuthorization(
        pb.LookupDeviceAuthorizationRequest(user_code=letters.lower()), metadata=user.bearer()
    )
    assert looked.device_name == "editor" and looked.client_address == auth.address
    await auth.stub.ApproveDeviceAuthorization(
        pb.ApproveDeviceAuthorizationRequest(user_code=started.user_code), metadata=user.bearer()
    )
    auth.clock.offset += timedelta(seconds=11)
    pair = await poll(auth, started.device_code)
    me = await auth.stub.GetCurrentUser(
        pb.GetCurrentUserRequest(), metadata=user.bearer(pair.access_token)
    )
    assert me.uid == user.user_id
    auth.clock.offset += timedelta(seconds=11)
    await expect_error(
        poll(auth, started.device_code), grpc.StatusCode.UNAUTHENTICATED, "INVALID_GRANT"
    )
    sessions = await auth.stub.ListSessions(pb.ListSessionsRequest(), metadata=user.bearer())
    assert any(
        s.authentication_method == 2 and s.device_name == "editor" for s in sessions.sessions
    )


async def test_au8_denied_and_expired(auth: AuthHarness) -> None:
    user = await auth.signed_up()
    denied = await start(auth)
    await auth.stub.DenyDeviceAuthorization(
        pb.DenyDeviceAuthorizationRequest(user_code=denied.user_code), metadata=user.bearer()
    )
    await expect_error(
        poll(auth, denied.device_code), grpc.StatusCode.PERMISSION_DENIED, "ACCESS_DENIED"
    )
    await expect_error(
        auth.stub.ApproveDeviceAuthorization(
            pb.ApproveDeviceAuthorizationRequest(user_code=denied.user_code), metadata=user.bearer()
        ),
        grpc.StatusCode.FAILED_PRECONDITION,
        "DEVICE_AUTHORIZATION_ALREADY_DECIDED",
    )
    expired = await start(auth)
    auth.clock.offset += timedelta(seconds=601)
    await expect_error(
        poll(auth, expired.device_code), grpc.StatusCode.FAILED_PRECONDITION, "EXPIRED_TOKEN"
    )
    await expect_error(
        poll(auth, "unknown-device-code"), grpc.StatusCode.UNAUTHENTICATED, "INVALID_GRANT"
    )


async def test_au8_five_wrong_user_codes_per_user_then_refused(auth: AuthHarness) -> None:
    user = await auth.signed_up()
    started = await start(auth)
    for _ in range(5):
        await expect_error(
            auth.stub.ApproveDeviceAuthorization(
                pb.ApproveDeviceAuthorizationRequest(user_code="BBBB-BBBB"), metadata=user.bearer()
            ),
            grpc.StatusCode.NOT_FOUND,
            "USER_CODE_INVALID",
        )
    # The sixth entry is refused, even with the right code.
    await expect_error(
        auth.stub.ApproveDeviceAuthorization(
            pb.ApproveDeviceAuthorizationRequest(user_code=started.user_code),
            metadata=user.bearer(),
        ),
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        "TOO_MANY_USER_CODE_ATTEMPTS",
    )
    # Another user is not affected.
    other = await auth.signed_up()
    await auth.stub.ApproveDeviceAuthorization(
        pb.ApproveDeviceAuthorizationRequest(user_code=started.user_code), metadata=other.bearer()
    )
