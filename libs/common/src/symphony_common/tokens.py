"""Token verification for every service.

Access tokens (JWT, EdDSA/Ed25519) are verified locally against auth's JWKS: only EdDSA with a
known `kid`; `iss`, `aud`, `exp`/`nbf` (60 s leeway) and `typ` checked; no header that points at
other keys (`jku`, `x5u`, `jwk`, `x5c`). An unknown `kid` triggers at most one JWKS fetch per
cooldown. A token verified before is answered from a bounded cache until it expires.
Personal access tokens (`symp_…`) are introspected by auth's internal RPC and cached ≤ 5 s.
Service credentials (`<service>.<MAC>`) are derived from the one shared secret, so a service
learns which peer is calling while operators still manage a single secret.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import math
import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import jwt
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from jwt.algorithms import OKPAlgorithm

from symphony_common.context import ANONYMOUS, Principal
from symphony_common.errors import Unauthenticated

ACCESS_TOKEN_TYPE = "at+jwt"  # noqa: S105 - the JWT `typ` of access tokens (RFC 9068)
PAT_PREFIX = "symp_"
# The metadata headers of internal RPCs: a service's own credential (`service_credential`),
# and the bare shared secret, which services of earlier releases send and check. A caller
# sends both, so a rolling upgrade works in either order; a later release drops the second.
SERVICE_CREDENTIAL_HEADER = "x-symphony-service-credential"
SERVICE_TOKEN_HEADER = "x-symphony-service-token"  # noqa: S105 - a header name
# Prefix of what a service credential's MAC signs, so the MAC means nothing anywhere else.
SERVICE_CREDENTIAL_CONTEXT = "symphony-service-credential:"
SERVICE_NAME = re.compile(r"[a-z][a-z0-9-]{0,31}")
MAX_TOKEN_BYTES = 8192
LEEWAY_SECONDS = 60
FORBIDDEN_HEADERS = frozenset({"jku", "x5u", "jwk", "x5c", "x5t", "x5t#S256", "crit"})

JwksSource = Callable[[], Awaitable[Sequence[Mapping[str, Any]]]]
PatIntrospect = Callable[[str], Awaitable[Principal]]


def invalid_token(why: str = "the access token is invalid or expired") -> Unauthenticated:
    return Unauthenticated("INVALID_TOKEN", why)


def service_credential(secret: str, service: str) -> str:
    """What `service` presents on its peers' internal RPCs: its name and an HMAC-SHA256 of the
    name under the shared secret, `<service>.<base64url, no padding>`. Empty without a secret
    (nothing to present)."""
    if not secret:
        return ""
    mac = hmac.new(
        secret.encode(), (SERVICE_CREDENTIAL_CONTEXT + service).encode(), hashlib.sha256
    ).digest()
    return f"{service}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"


def audience_of(service: str) -> str:
    """Access tokens name the services they are for; a sync token is refused by the registry."""
    return f"{service}.symphony.dev"


def public_key_from_jwk(jwk: Mapping[str, Any]) -> Ed25519PublicKey | None:
    if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
        return None
    try:
        key = OKPAlgorithm.from_jwk(json.dumps(dict(jwk)))
    except (jwt.InvalidKeyError, ValueError, TypeError):
        return None
    return key if isinstance(key, Ed25519PublicKey) else None


class _BoundedCache:
    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._items: OrderedDict[str, tuple[float, Principal]] = OrderedDict()

    def get(self, key: str, now: float) -> Principal | None:
        hit = self._items.get(key)
        if hit is None:
            return None
        expires, principal = hit
        if expires <= now:
            del self._items[key]
            return None
        self._items.move_to_end(key)
        return principal

    def put(self, key: str, expires: float, principal: Principal) -> None:
        self._items[key] = (expires, principal)
        self._items.move_to_end(key)
        while len(self._items) > self.capacity:
            self._items.popitem(last=False)

    def clear(self) -> None:
        self._items.clear()


class AccessTokenVerifier:
    def __init__(
        self,
        jwks_source: JwksSource,
        *,
        issuer: str,
        audience: str,
        cooldown_seconds: float = 60.0,
        cache_size: int = 10_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._source = jwks_source
        self.issuer = issuer
        self.audience = audience
        self.cooldown = cooldown_seconds
        self._clock = clock
        self._keys: dict[str, Ed25519PublicKey] = {}
        self._last_fetch = float("-inf")
        self._fetch_lock = asyncio.Lock()
        self._cache = _BoundedCache(cache_size)
        self.fetches = 0

    async def refresh_keys(self, *, force: bool = False) -> None:
        async with self._fetch_lock:
            now = time.monotonic()
            if not force and now - self._last_fetch < self.cooldown:
                return
            self._last_fetch = now
            self.fetches += 1
            jwks = await self._source()
            keys = {}
            for jwk in jwks:
                key = public_key_from_jwk(jwk)
                if key is not None and jwk.get("kid"):
                    keys[str(jwk["kid"])] = key
            self._keys = keys
            # A key removed from the JWKS must stop verifying tokens cached under it.
            self._cache.clear()

    async def _key_for(self, kid: str) -> Ed25519PublicKey:
        key = self._keys.get(kid)
        if key is None:
            try:
                await self.refresh_keys()
            except Exception as error:  # auth unreachable: we cannot vouch for the token
                raise Unauthenticated(
                    "TOKEN_KEYS_UNAVAILABLE",
                    "token signing keys are unavailable; retry shortly",
                    retry_after_seconds=1.0,
                ) from error
            key = self._keys.get(kid)
        if key is None:
            raise invalid_token()
        return key

    async def verify(self, token: str) -> Principal:
        now = self._clock()
        cached = self._cache.get(token, now)
        if cached is not None:
            return cached
        # Parsed once, by hand: a generic JWT library decodes the header twice and runs checks
        # we do not need; the bench measures this path against a bare Ed25519 verify.
        if not token or len(token) > MAX_TOKEN_BYTES or not _JWS.match(token):
            raise invalid_token()
        encoded_header, encoded_claims, encoded_signature = token.split(".")
        try:
            header = json.loads(_b64decode(encoded_header))
            claims = json.loads(_b64decode(encoded_claims))
            signature = _b64decode(encoded_signature)
        except (ValueError, RecursionError):  # RecursionError: "[[[[…" nested past the limit
            raise invalid_token() from None
        if (
            not isinstance(header, dict)
            or not isinstance(claims, dict)
            or header.get("alg") != "EdDSA"
            or header.get("typ") != ACCESS_TOKEN_TYPE
            or FORBIDDEN_HEADERS & header.keys()
            or not isinstance(header.get("kid"), str)
        ):
            raise invalid_token()
        key = await self._key_for(header["kid"])
        try:
            key.verify(signature, f"{encoded_header}.{encoded_claims}".encode())
        except InvalidSignature:
            raise invalid_token() from None
        if not self._claims_valid(claims, now):
            raise invalid_token()
        scope = claims.get("scope", "")
        principal = Principal(
            kind="user",
            user_id=claims["sub"],
            session_id=str(claims.get("sid", "")),
            scopes=frozenset(scope.split()) if isinstance(scope, str) else frozenset(),
            token_id=str(claims["jti"]),
        )
        self._cache.put(token, float(claims["exp"]), principal)
        return principal

    def _claims_valid(self, claims: dict[str, Any], now: float) -> bool:
        audience = claims.get("aud")
        audiences = [audience] if isinstance(audience, str) else audience
        exp, iat, nbf = claims.get("exp"), claims.get("iat"), claims.get("nbf", 0)
        if not all(_is_number(v) for v in (exp, iat, nbf)):
            return False
        assert isinstance(exp, int | float) and isinstance(iat, int | float)  # for mypy
        assert isinstance(nbf, int | float)
        return (
            claims.get("iss") == self.issuer
            and isinstance(audiences, list)
            and self.audience in audiences
            and isinstance(claims.get("sub"), str)
            and bool(claims["sub"])
            and "jti" in claims
            and now <= exp + LEEWAY_SECONDS
            and iat <= now + LEEWAY_SECONDS
            and nbf <= now + LEEWAY_SECONDS
        )


_JWS = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$")


def _b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _is_number(value: object) -> bool:
    """A finite JSON number that fits a float (an integer like 10**400 does not)."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


class PatCache:
    """Introspection answers for personal access tokens, kept at most `ttl` seconds so a
    revoked token stops working within that bound."""

    def __init__(self, introspect: PatIntrospect, ttl: float = 5.0, capacity: int = 10_000) -> None:
        self._introspect = introspect
        self.ttl = ttl
        self._cache = _BoundedCache(capacity)

    async def verify(self, token: str) -> Principal:
        now = time.monotonic()
        cached = self._cache.get(token, now)
        if cached is not None:
            return cached
        principal = await self._introspect(token)
        self._cache.put(token, now + self.ttl, principal)
        return principal


class Authenticator:
    """Turns call metadata into a `Principal`. `*InternalService` methods require a service
    credential (see `service_credential`) and the principal names the calling service; other
    methods accept anonymous calls and leave authorization to the domain."""

    def __init__(
        self,
        *,
        service_token: str,
        access_tokens: AccessTokenVerifier | None = None,
        personal_tokens: PatCache | None = None,
    ) -> None:
        self._service_token = service_token
        # The credential of each service that has called: made once, not per call. Only
        # verified names go in, so it holds at most the deployment's services.
        self._credentials: dict[str, str] = {}
        self.access_tokens = access_tokens
        self.personal_tokens = personal_tokens

    async def __call__(self, metadata: dict[str, str], method: str) -> Principal:
        service = method.rsplit("/", 2)[-2] if method.count("/") >= 2 else ""
        if service.endswith("InternalService"):
            return self._calling_service(
                metadata.get(SERVICE_CREDENTIAL_HEADER, ""), metadata.get(SERVICE_TOKEN_HEADER, "")
            )
        authorization = metadata.get("authorization", "")
        if not authorization:
            return ANONYMOUS
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise invalid_token("the authorization header must be 'Bearer <token>'")
        if token.startswith(PAT_PREFIX):
            if self.personal_tokens is None:
                raise invalid_token("personal access tokens are not accepted here")
            return await self.personal_tokens.verify(token)
        if self.access_tokens is None:
            raise invalid_token("access tokens are not accepted here yet")
        return await self.access_tokens.verify(token)

    def _calling_service(self, named: str, bare: str) -> Principal:
        """`named`: a `service_credential`; when sent it must be valid. `bare`: the shared
        secret alone, from a peer of an earlier release: a service, but an unnamed one."""
        if self._service_token:
            if named:
                name = named.partition(".")[0]
                expected = self._credentials.get(name) or service_credential(
                    self._service_token, name
                )
                if SERVICE_NAME.fullmatch(name) and hmac.compare_digest(
                    named.encode(), expected.encode()
                ):
                    self._credentials[name] = expected
                    return Principal(kind="service", service=name)
            elif hmac.compare_digest(bare.encode(), self._service_token.encode()):
                return Principal(kind="service")
        raise Unauthenticated(
            "SERVICE_CREDENTIAL_REQUIRED", "internal methods require a service credential"
        )
