"""AU-5 (JWT negative matrix) and AU-6 (JWKS rotation) against the shared verifier."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from symphony_common.context import Principal
from symphony_common.errors import Unauthenticated
from symphony_common.testing.tokens import TestSigner
from symphony_common.tokens import (
    AccessTokenVerifier,
    Authenticator,
    PatCache,
    service_credential,
)

ISSUER = "https://symphony.dev"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def raw_token(header: dict, claims: dict, signature: bytes = b"") -> str:
    return ".".join(
        [b64(json.dumps(header).encode()), b64(json.dumps(claims).encode()), b64(signature)]
    )


def good_claims(**override) -> dict:
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "sub": "user-1",
        "aud": ["registry.symphony.dev"],
        "iat": now,
        "exp": now + 600,
        "jti": uuid.uuid4().hex,
        "sid": "s1",
        "scope": "",
    }
    claims.update(override)
    return claims


@pytest.fixture
def signer() -> TestSigner:
    return TestSigner(kid="k1", issuer=ISSUER)


@pytest.fixture
def verifier(signer: TestSigner) -> AccessTokenVerifier:
    return AccessTokenVerifier(signer.jwks, issuer=ISSUER, audience="registry.symphony.dev")


def sign(signer: TestSigner, claims: dict, **headers) -> str:
    return jwt.encode(
        claims,
        signer.private_key,
        algorithm="EdDSA",
        headers={"kid": signer.kid, "typ": "at+jwt", **headers},
    )


async def test_valid_token_is_accepted(signer: TestSigner, verifier: AccessTokenVerifier) -> None:
    principal = await verifier.verify(sign(signer, good_claims(scope="registry.publish")))
    assert principal.user_id == "user-1"
    assert principal.session_id == "s1"
    assert principal.has_scope("registry.publish")


def _public_bytes(signer: TestSigner) -> bytes:
    return signer.private_key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )


def _matrix(signer: TestSigner) -> dict[str, str]:
    other = TestSigner(kid="k1", issuer=ISSUER)  # same kid, different key
    good = sign(signer, good_claims())
    head, payload, signature = good.split(".")
    now = int(time.time())
    hs256 = jwt.api_jws.PyJWS(algorithms=["HS256"])
    return {
        "alg_none": raw_token({"alg": "none", "typ": "at+jwt", "kid": "k1"}, good_claims()),
        "alg_missing": raw_token({"typ": "at+jwt", "kid": "k1"}, good_claims(), b"x" * 64),
        "alg_null": raw_token(
            {"alg": None, "typ": "at+jwt", "kid": "k1"}, good_claims(), b"x" * 64
        ),
        "hs256_with_public_key": hs256.encode(
            json.dumps(good_claims()).encode(),
            _public_bytes(signer),
            algorithm="HS256",
            headers={"kid": "k1", "typ": "at+jwt"},
        ),
        "unknown_kid": sign(signer, good_claims(), kid="nope"),
        "right_kid_wrong_key": sign(other, good_claims()),
        "truncated_signature": f"{head}.{payload}.{signature[:-8]}",
        "empty_signature": f"{head}.{payload}.",
        "expired_past_leeway": sign(signer, good_claims(iat=now - 4000, exp=now - 61)),
        "nbf_in_future": sign(signer, good_claims(nbf=now + 120)),
        "wrong_issuer": sign(signer, good_claims(iss="https://evil.example")),
        "wrong_audience": sign(signer, good_claims(aud=["sync.symphony.dev"])),
        "refresh_typ": sign(signer, good_claims(), typ="refresh+jwt"),
        "id_token_typ": sign(signer, good_claims(), typ="JWT"),
        "jku_header": sign(signer, good_claims(), jku="https://evil.example/jwks"),
        "x5u_header": sign(signer, good_claims(), x5u="https://evil.example/cert"),
        "jwk_header": sign(signer, good_claims(), jwk=signer.jwk()),
        "non_utf8": good[:10] + "\udcff" + good[11:],
        "oversized": sign(signer, good_claims(pad="a" * 9000)),
        "missing_sub": sign(signer, {k: v for k, v in good_claims().items() if k != "sub"}),
        "garbage": "not-a-jwt",
        "empty": "",
        # Found by IN-4: each raised past the verifier (INTERNAL) instead of INVALID_TOKEN.
        "header_nested_past_recursion_limit": f"{b64(b'[' * 3000)}.e30.AAAA",
        "exp_beyond_float": sign(signer, good_claims(exp=10**400)),
    }


async def test_jwt_negative_matrix_is_all_rejected(
    signer: TestSigner, verifier: AccessTokenVerifier
) -> None:
    accepted = []
    for name, token in _matrix(signer).items():
        try:
            await verifier.verify(token)
        except Unauthenticated as error:
            assert error.reason in ("INVALID_TOKEN",), name
        else:
            accepted.append(name)
    assert accepted == []


async def test_within_leeway_is_accepted(signer: TestSigner, verifier: AccessTokenVerifier) -> None:
    now = int(time.time())
    await verifier.verify(sign(signer, good_claims(iat=now - 1000, exp=now - 30)))


async def test_rotation_overlap_then_removal() -> None:
    old, new = TestSigner(kid="old", issuer=ISSUER), TestSigner(kid="new", issuer=ISSUER)
    published = [old.jwk(), new.jwk()]

    async def source():
        return list(published)

    verifier = AccessTokenVerifier(
        source, issuer=ISSUER, audience="registry.symphony.dev", cooldown_seconds=0
    )
    old_token, new_token = sign(old, good_claims()), sign(new, good_claims())
    assert (await verifier.verify(old_token)).user_id == "user-1"
    assert (await verifier.verify(new_token)).user_id == "user-1"
    published[:] = [new.jwk()]
    await verifier.refresh_keys(force=True)
    with pytest.raises(Unauthenticated):
        await verifier.verify(old_token)
    assert (await verifier.verify(new_token)).user_id == "user-1"


async def test_unknown_kids_fetch_at_most_once_per_cooldown(signer: TestSigner) -> None:
    fetches = 0

    async def source():
        nonlocal fetches
        fetches += 1
        return [signer.jwk()]

    verifier = AccessTokenVerifier(
        source, issuer=ISSUER, audience="registry.symphony.dev", cooldown_seconds=10
    )
    for _ in range(1000):
        with pytest.raises(Unauthenticated):
            await verifier.verify(sign(signer, good_claims(), kid=uuid.uuid4().hex))
    assert fetches == 1


async def test_cache_answers_until_the_token_expires() -> None:
    clock = [time.time()]
    signer = TestSigner(kid="k1", issuer=ISSUER)
    verifier = AccessTokenVerifier(
        signer.jwks, issuer=ISSUER, audience="registry.symphony.dev", clock=lambda: clock[0]
    )
    token = sign(signer, good_claims(exp=int(clock[0]) + 100))
    first = await verifier.verify(token)
    assert verifier._cache.get(token, clock[0] + 99) is first
    # Past `exp` the cache no longer vouches for the token.
    assert verifier._cache.get(token, clock[0] + 101) is None


async def test_pat_cache_bounds_staleness() -> None:
    calls = 0

    async def introspect(token: str) -> Principal:
        nonlocal calls
        calls += 1
        return Principal(kind="pat", user_id="u")

    cache = PatCache(introspect, ttl=0.05)
    await cache.verify("symp_x")
    await cache.verify("symp_x")
    assert calls == 1
    await asyncio.sleep(0.06)
    await cache.verify("symp_x")
    assert calls == 2


async def test_internal_methods_require_service_credential() -> None:
    auth = Authenticator(service_token="secret")
    method = "/symphony.sync.v1.SyncInternalService/DeleteUserData"
    with pytest.raises(Unauthenticated) as info:
        await auth({}, method)
    assert info.value.reason == "SERVICE_CREDENTIAL_REQUIRED"
    with pytest.raises(Unauthenticated):
        await auth({"x-symphony-service-token": "wrong"}, method)
    assert (await auth({"x-symphony-service-token": "secret"}, method)).kind == "service"
    # An empty configured credential never matches an empty presented one.
    with pytest.raises(Unauthenticated):
        await Authenticator(service_token="")({"x-symphony-service-token": ""}, method)


INTERNAL_METHOD = "/symphony.analytics.v1.AnalyticsInternalService/RecordDownloads"
REGISTRY = service_credential("secret", "registry")
MAC = REGISTRY.partition(".")[2]


def registry_mac_under(secret: bytes) -> str:
    return b64(hmac.new(secret, b"symphony-service-credential:registry", hashlib.sha256).digest())


async def present(auth: Authenticator, credential: str, secret: str = "") -> Principal:
    """`credential` in its header, and `secret` (the bare one) in its own when given."""
    metadata = {"x-symphony-service-credential": credential}
    if secret:
        metadata["x-symphony-service-token"] = secret
    return await auth(metadata, INTERNAL_METHOD)


async def test_service_credential_names_the_caller() -> None:
    auth = Authenticator(service_token="secret")
    # The documented format, so a service in another language can make one.
    assert service_credential("secret", "registry") == "registry." + registry_mac_under(b"secret")
    assert await present(auth, REGISTRY) == Principal(kind="service", service="registry")
    assert (await present(auth, service_credential("secret", "auth"))).service == "auth"


@pytest.mark.parametrize(
    "presented",
    [
        # The MAC covers the name: the registry's MAC under another name is refused.
        pytest.param(f"auth.{MAC}", id="other-name"),
        pytest.param(f"gateway.{MAC}", id="unknown-name"),
        pytest.param(f"Registry.{MAC}", id="name-case"),
        pytest.param(f"registry.{MAC[:10]}{'B' if MAC[10] == 'A' else 'A'}{MAC[11:]}", id="mac"),
        pytest.param(f"registry.{MAC[:-1]}", id="mac-cut"),
        pytest.param(f"{REGISTRY}=", id="mac-padded"),
        pytest.param(f"{REGISTRY}.registry", id="suffix"),
        pytest.param("registry." + registry_mac_under(b"not-the-secret"), id="other-secret"),
        pytest.param("registry.", id="no-mac"),
        pytest.param("registry", id="name-only"),
        pytest.param("", id="nothing"),
    ],
)
async def test_forged_service_credentials_are_refused(presented: str) -> None:
    with pytest.raises(Unauthenticated) as info:
        await present(Authenticator(service_token="secret"), presented)
    assert info.value.reason == "SERVICE_CREDENTIAL_REQUIRED"
    if presented:  # a forged name is refused even with the secret beside it
        with pytest.raises(Unauthenticated):
            await present(Authenticator(service_token="secret"), presented, secret="secret")


async def test_bare_secret_is_an_unnamed_service_during_rollout() -> None:
    auth = Authenticator(service_token="secret")
    bare = {"x-symphony-service-token": "secret"}
    assert await auth(bare, INTERNAL_METHOD) == Principal(kind="service", service="")
    # What this release sends: both; the credential names the caller.
    assert (await present(auth, REGISTRY, secret="secret")).service == "registry"


async def test_empty_secret_refuses_every_service_credential() -> None:
    auth = Authenticator(service_token="")
    assert service_credential("", "registry") == ""
    for presented in ("", "registry." + registry_mac_under(b""), "registry."):
        with pytest.raises(Unauthenticated):
            await present(auth, presented)


async def test_authorization_header_shapes() -> None:
    auth = Authenticator(service_token="s")
    assert (await auth({}, "/symphony.sync.v1.SyncService/GetConfig")).kind == "anonymous"
    with pytest.raises(Unauthenticated):
        await auth({"authorization": "Basic abc"}, "/symphony.sync.v1.SyncService/GetConfig")
