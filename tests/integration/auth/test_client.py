"""symphony_client.auth / credentials / the CLI's login against the real service."""

from __future__ import annotations

import stat
import time
from dataclasses import replace
from pathlib import Path

import pytest

from symphony.auth.v1 import auth_service_pb2 as pb
from symphony_client import credentials
from symphony_client.auth import AuthClient, AuthError, Tokens
from symphony_client.cli import auth as cli_auth
from symphony_client.config import ClientConfig
from tests.integration.auth.support import AuthHarness


async def test_device_login_refresh_and_store(
    auth: AuthHarness,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    user = await auth.signed_up()
    config = ClientConfig(auth_address=f"127.0.0.1:{auth.running.port}", home=tmp_path / "home")
    client = AuthClient(auth.channel)
    approved = []

    async def approve_then_wait(seconds: float) -> None:
        if not approved:  # the user approves in the browser while the CLI waits
            out = capsys.readouterr().out
            code = out.split("enter the code ")[1].split()[0]
            await auth.stub.ApproveDeviceAuthorization(
                pb.ApproveDeviceAuthorizationRequest(user_code=code), metadata=user.bearer()
            )
            approved.append(code)
        auth.clock.offset += __import__("datetime").timedelta(seconds=seconds)

    original = AuthClient.wait_for_device_login

    async def fast_wait(self, start, sleep=None):  # type: ignore[no-untyped-def]
        return await original(self, start, sleep=approve_then_wait)

    monkeypatch.setattr(AuthClient, "wait_for_device_login", fast_wait)
    assert await cli_auth.login_command(None, config) == 0  # type: ignore[arg-type]
    assert f"Signed in as {user.email}" in capsys.readouterr().out
    path = config.home / "credentials.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    stored = credentials.CredentialStore(config.home).load()
    assert stored is not None
    # An expiring access token is refreshed transparently through the refresh token.
    credentials.CredentialStore(config.home).save(replace(stored, expires_at=time.time() + 5))
    token = await credentials.access_token(config)
    assert token and token != stored.access_token
    assert (await client.me(token)).uid == user.user_id
    assert (await credentials.metadata(config))[0][1] == f"Bearer {token}"
    assert await cli_auth.whoami_command(None, config) == 0  # type: ignore[arg-type]
    assert await cli_auth.logout_command(None, config) == 0  # type: ignore[arg-type]
    assert not path.exists() and await credentials.access_token(config) == ""
    with pytest.raises(AuthError) as info:
        await client.refresh(stored.refresh_token)
    assert info.value.reason == "INVALID_GRANT"


async def test_client_login_and_token_create(auth: AuthHarness) -> None:
    account = await auth.register()
    client = AuthClient(auth.channel)
    tokens = await client.login(account.email, account.password, "tests")
    assert isinstance(tokens, Tokens) and tokens.expires_at > time.time() + 800
    pat = await client.create_token(
        tokens.access_token, "ci", ["registry.publish"], ttl_seconds=86400
    )
    assert pat.token.startswith("symp_")
    with pytest.raises(AuthError) as info:
        await client.login(account.email, "definitely wrong")
    assert info.value.reason == "INVALID_CREDENTIALS"
