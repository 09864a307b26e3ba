"""A throw-away signing key and access-token minting for tests of services other than auth
(auth's own tests use its real key store)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.algorithms import OKPAlgorithm

from symphony_common.tokens import ACCESS_TOKEN_TYPE, audience_of

SERVICES = ("auth", "registry", "sync", "analytics")


class TestSigner:
    __test__ = False  # not a pytest test class

    def __init__(self, kid: str = "test-key", issuer: str = "https://symphony.dev") -> None:
        self.kid = kid
        self.issuer = issuer
        self.private_key = Ed25519PrivateKey.generate()

    def jwk(self) -> dict[str, Any]:
        import json

        public = json.loads(OKPAlgorithm.to_jwk(self.private_key.public_key()))
        return {**public, "kid": self.kid, "use": "sig", "alg": "EdDSA"}

    async def jwks(self) -> Sequence[Mapping[str, Any]]:
        return [self.jwk()]

    def mint(
        self,
        user_id: str,
        *,
        session_id: str = "",
        scopes: Iterable[str] = (),
        audiences: Iterable[str] = SERVICES,
        ttl: int = 900,
        **extra: Any,
    ) -> str:
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "sub": user_id,
            "aud": [audience_of(s) for s in audiences],
            "iat": now,
            "exp": now + ttl,
            "jti": uuid.uuid4().hex,
            "sid": session_id or uuid.uuid4().hex,
            "scope": " ".join(scopes),
            **extra,
        }
        return jwt.encode(
            claims,
            self.private_key,
            algorithm="EdDSA",
            headers={"kid": self.kid, "typ": ACCESS_TOKEN_TYPE},
        )
