"""AU-5 and AU-6 against auth's real tokens and key store; key persistence and encryption."""

from __future__ import annotations

import base64
import json
import time
import uuid
from datetime import timedelta

import grpc
import jwt
import pytest

from symphony.auth.v1 import auth_service_pb2 as pb
from symphony_common.tokens import AccessTokenVerifier, Unauthenticated
from tests.integration.auth.support import AuthHarness, expect_error, harness, make_settings


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


async def test_access_token_shape(auth: AuthHarness) -> None:
    account = await auth.signed_up()
    header = jwt.get_unverified_header(account.access)
    claims = jwt.decode(account.access, options={"verify_signature": False})
    assert header["alg"] == "EdDSA" and header["typ"] == "at+jwt" and header["kid"]
    assert sorted(claims["aud"]) == sorted(
        f"{s}.symphony.dev" for s in ("auth", "registry", "sync", "analytics")
    )
    assert claims["scope"] == "registry.publish sync.read sync.write analytics.read"
    assert 800 <= claims["exp"] - claims["iat"] <= 1000 and claims["sub"] == account.user_id
    assert {"iss", "jti", "sid"} <= claims.keys()
    jwks = await auth.stub.GetJwks(pb.GetJwksRequest())
    assert header["kid"] in [k.kid for k in jwks.keys]
    assert all(k.kty == "OKP" and k.crv == "Ed25519" and k.alg == "EdDSA" for k in jwks.keys)


async def test_au5_negative_matrix_against_auth(auth: AuthHarness) -> None:
    account = await auth.signed_up()
    good = account.access
    head, payload, signature = good.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    header = json.loads(base64.urlsafe_b64decode(head + "=="))
    jwks = await auth.stub.GetJwks(pb.GetJwksRequest())
    public = base64.urlsafe_b64decode(jwks.keys[0].x + "==")

    def forge(h: dict, c: dict, sig: bytes = b"x" * 64) -> str:
        return ".".join([b64(json.dumps(h).encode()), b64(json.dumps(c).encode()), b64(sig)])

    now = int(time.time())
    tampered = {**claims, "sub": str(uuid.uuid4())}
    cases = {
        "alg_none": forge({**header, "alg": "none"}, claims, b""),
        "alg_missing": forge({k: v for k, v in header.items() if k != "alg"}, claims),
        "hs256_public_key": jwt.api_jws.PyJWS(algorithms=["HS256"]).encode(
            json.dumps(claims).encode(),
            public,
            algorithm="HS256",
            headers={"kid": header["kid"], "typ": "at+jwt"},
        ),
        "unknown_kid": forge({**header, "kid": "nope"}, claims),
        "tampered_payload": f"{head}.{b64(json.dumps(tampered).encode())}.{signature}",
        "truncated_signature": f"{head}.{payload}.{signature[:-6]}",
        "empty_signature": f"{head}.{payload}.",
        "expired": forge(header, {**claims, "exp": now - 120}),
        "wrong_typ": forge({**header, "typ": "JWT"}, claims),
        "jku": forge({**header, "jku": "https://evil.example/jwks"}, claims),
        "oversized": good + "A" * 9000,
        "refresh_token_as_access": account.refresh,
    }
    for name, token in cases.items():
        error = await expect_error(
            auth.stub.GetCurrentUser(pb.GetCurrentUserRequest(), metadata=account.bearer(token)),
            grpc.StatusCode.UNAUTHENTICATED,
        )
        assert error is not None, name
    # The shared verifier, pointed at auth's JWKS, with another audience: refused too.
    verifier = AccessTokenVerifier(
        auth.running.wiring.parts["keys"].jwks_source,
        issuer=auth.settings.token_issuer,
        audience="other.symphony.dev",
    )
    with pytest.raises(Unauthenticated):
        await verifier.verify(good)
    ok = AccessTokenVerifier(
        auth.running.wiring.parts["keys"].jwks_source,
        issuer=auth.settings.token_issuer,
        audience="registry.symphony.dev",
    )
    assert (await ok.verify(good)).user_id == account.user_id


async def test_au6_rotation_overlap_and_retirement(
    isolated_database_url: str, redis_url: str
) -> None:
    async with harness(
        make_settings(isolated_database_url, redis_url, key_publish_lead_seconds=30)
    ) as h:
        keys = h.running.wiring.parts["keys"]
        before = await h.signed_up()
        old_kid = jwt.get_unverified_header(before.access)["kid"]
        next_kid = await keys.rotate()
        published = [k.kid for k in (await h.stub.GetJwks(pb.GetJwksRequest())).keys]
        assert next_kid in published and old_kid in published  # published before it signs
        still_old = await h.login(type(before)(before.email, before.password))
        assert jwt.get_unverified_header(still_old.access)["kid"] != next_kid
        h.clock.offset = timedelta(seconds=31)  # the next key signs now
        await keys.maintain()
        after = await h.login(type(before)(before.email, before.password))
        assert jwt.get_unverified_header(after.access)["kid"] == next_kid
        # During the overlap both verify.
        await h.stub.GetCurrentUser(pb.GetCurrentUserRequest(), metadata=before.bearer())
        await h.stub.GetCurrentUser(pb.GetCurrentUserRequest(), metadata=after.bearer())
        # After the old key's last token expired, the old key is gone and its tokens refused.
        h.clock.offset = timedelta(seconds=31 + 900 + 61)
        await keys.maintain()
        published = [k.kid for k in (await h.stub.GetJwks(pb.GetJwksRequest())).keys]
        assert old_kid not in published and next_kid in published
        verifier = AccessTokenVerifier(
            keys.jwks_source,
            issuer=h.settings.token_issuer,
            audience="sync.symphony.dev",
            clock=lambda: time.time(),
        )
        with pytest.raises(Unauthenticated):
            await verifier.verify(before.access)
        h.clock.offset = timedelta()


async def test_keys_persist_and_can_be_encrypted(
    isolated_database_url: str, redis_url: str
) -> None:
    settings = make_settings(isolated_database_url, redis_url, key_encryption_key="kek-for-tests")
    async with harness(settings) as first:
        kid = await first.running.wiring.parts["keys"].rotate(immediately=True)
        stored = await first.sql("SELECT private_key FROM auth.signing_keys WHERE kid = :k", k=kid)
        assert stored[0][0].startswith("aesgcm:v1:")
        account = await first.signed_up()
    async with harness(settings) as second:  # a restart (or another replica) uses the same keys
        await second.stub.GetCurrentUser(pb.GetCurrentUserRequest(), metadata=account.bearer())
        assert jwt.get_unverified_header(account.access)["kid"] == kid
