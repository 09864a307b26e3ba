"""External login with OpenID Connect against a provider on loopback; AU-4 (the parts that
concern a relying party: PKCE S256 always, state single use and expiry, exact redirect URI)."""

from __future__ import annotations

from datetime import timedelta

import grpc
import pytest

from symphony.auth.v1 import auth_service_pb2 as pb
from tests.integration.auth.support import (
    REDIRECT,
    browser,
    expect_error,
    external_login,
    new_email,
)


async def test_first_login_creates_the_account_and_links_later(oidc_harness) -> None:  # type: ignore[no-untyped-def]
    auth, provider = oidc_harness
    listed = await auth.stub.ListIdentityProviders(pb.ListIdentityProvidersRequest())
    assert [p.id for p in listed.identity_providers] == ["testidp"]
    email = new_email()
    provider.users["alice"] = {"email": email, "email_verified": True, "name": "Alice"}
    pair = await external_login(auth, provider, "alice")
    me = await auth.stub.GetCurrentUser(
        pb.GetCurrentUserRequest(), metadata=(("authorization", f"Bearer {pair.access_token}"),)
    )
    assert (
        me.email == email
        and me.email_verified
        and not me.has_password
        and list(me.identity_providers) == ["testidp"]
    )
    again = await external_login(auth, provider, "alice")
    me2 = await auth.stub.GetCurrentUser(
        pb.GetCurrentUserRequest(), metadata=(("authorization", f"Bearer {again.access_token}"),)
    )
    assert me2.uid == me.uid
    request = provider.authorize_requests[-1]
    assert (
        request["code_challenge_method"] == "S256"
        and len(request["state"]) >= 22
        and request["nonce"]
    )
    assert provider.token_requests[-1]["code_verifier"]


async def test_existing_account_links_only_with_verified_email(oidc_harness) -> None:  # type: ignore[no-untyped-def]
    auth, provider = oidc_harness
    account = await auth.register()
    provider.users["bob-unverified"] = {"email": account.email, "email_verified": False}
    await expect_error(
        external_login(auth, provider, "bob-unverified"),
        grpc.StatusCode.FAILED_PRECONDITION,
        "PROVIDER_EMAIL_NOT_VERIFIED",
    )
    provider.users["bob"] = {"email": account.email, "email_verified": True}
    pair = await external_login(auth, provider, "bob")
    me = await auth.stub.GetCurrentUser(
        pb.GetCurrentUserRequest(), metadata=(("authorization", f"Bearer {pair.access_token}"),)
    )
    assert me.uid == account.user_id


async def test_au4_replayed_callback_is_refused_and_revokes_the_first_session(oidc_harness) -> None:  # type: ignore[no-untyped-def]
    auth, provider = oidc_harness
    provider.users["carol"] = {"email": new_email(), "email_verified": True}
    code, state = await browser(auth, provider, "carol")
    request = pb.CompleteExternalLoginRequest(
        provider="testidp", code=code, state=state, redirect_uri=REDIRECT
    )
    first = await auth.stub.CompleteExternalLogin(request, metadata=auth.md())
    await expect_error(
        auth.stub.CompleteExternalLogin(request, metadata=auth.md()),
        grpc.StatusCode.UNAUTHENTICATED,
        "INVALID_GRANT",
    )
    await expect_error(
        auth.stub.GetCurrentUser(
            pb.GetCurrentUserRequest(),
            metadata=(("authorization", f"Bearer {first.access_token}"),),
        ),
        grpc.StatusCode.UNAUTHENTICATED,
        "SESSION_REVOKED",
    )


async def test_au4_state_older_than_ten_minutes_is_refused(oidc_harness) -> None:  # type: ignore[no-untyped-def]
    auth, provider = oidc_harness
    provider.users["dave"] = {"email": new_email(), "email_verified": True}
    code, state = await browser(auth, provider, "dave")
    auth.clock.offset = timedelta(minutes=10, seconds=1)
    try:
        await expect_error(
            auth.stub.CompleteExternalLogin(
                pb.CompleteExternalLoginRequest(
                    provider="testidp", code=code, state=state, redirect_uri=REDIRECT
                ),
                metadata=auth.md(),
            ),
            grpc.StatusCode.UNAUTHENTICATED,
            "INVALID_GRANT",
        )
    finally:
        auth.clock.offset = timedelta()


@pytest.mark.parametrize(
    "uri", [REDIRECT + "/", REDIRECT.upper(), REDIRECT + "?x=1", "https://evil.example/cb"]
)
async def test_au4_redirect_uri_must_match_exactly(oidc_harness, uri: str) -> None:  # type: ignore[no-untyped-def]
    auth, _ = oidc_harness
    await expect_error(
        auth.stub.StartExternalLogin(
            pb.StartExternalLoginRequest(provider="testidp", redirect_uri=uri), metadata=auth.md()
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
        "REDIRECT_URI_NOT_ALLOWED",
    )


async def test_callback_checks_redirect_nonce_and_code(oidc_harness) -> None:  # type: ignore[no-untyped-def]
    auth, provider = oidc_harness
    provider.users["erin"] = {"email": new_email(), "email_verified": True}
    code, state = await browser(auth, provider, "erin")
    await expect_error(
        auth.stub.CompleteExternalLogin(
            pb.CompleteExternalLoginRequest(
                provider="testidp", code=code, state=state, redirect_uri=REDIRECT + "/"
            ),
            metadata=auth.md(),
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
        "REDIRECT_URI_MISMATCH",
    )
    code, state = await browser(auth, provider, "erin")
    await expect_error(
        auth.stub.CompleteExternalLogin(
            pb.CompleteExternalLoginRequest(
                provider="testidp", code="forged-code", state=state, redirect_uri=REDIRECT
            ),
            metadata=auth.md(),
        ),
        grpc.StatusCode.UNAUTHENTICATED,
        "INVALID_GRANT",
    )
    provider.bad_nonce = True
    try:
        code, state = await browser(auth, provider, "erin")
        await expect_error(
            auth.stub.CompleteExternalLogin(
                pb.CompleteExternalLoginRequest(
                    provider="testidp", code=code, state=state, redirect_uri=REDIRECT
                ),
                metadata=auth.md(),
            ),
            grpc.StatusCode.UNAUTHENTICATED,
            "ID_TOKEN_INVALID",
        )
    finally:
        provider.bad_nonce = False
    await expect_error(
        auth.stub.StartExternalLogin(
            pb.StartExternalLoginRequest(provider="nope", redirect_uri=REDIRECT)
        ),
        grpc.StatusCode.NOT_FOUND,
        "IDENTITY_PROVIDER_NOT_FOUND",
    )
