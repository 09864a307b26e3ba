"""Token signing keys: Ed25519, persisted in PostgreSQL and shared by every replica.

Lifecycle of a key: created with `activate_time` in the future (published in the JWKS at
once, signing nothing), then the newest key whose `activate_time` has passed signs; a key
superseded by a newer active key gets `retire_time` and stays in the JWKS until its last token
can no longer be valid (`retire_time` + access-token TTL + verifier leeway), then it is
deleted. The very first key (fresh database) activates immediately.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

import jwt
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from symphony_auth.domain.models import SigningKey
from symphony_auth.domain.ports import AuthUnitOfWork
from symphony_auth.domain.secrets import b64
from symphony_common.tokens import ACCESS_TOKEN_TYPE, LEEWAY_SECONDS

ENCRYPTED_PREFIX = "aesgcm:v1:"


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class KeyCipher:
    """Encrypts private keys at rest with AES-256-GCM when a key encryption key is configured
    (`SYMPHONY_AUTH_KEY_ENCRYPTION_KEY`: any string; its SHA-256 is the AES key). Without it
    keys are stored as plain base64 and the database's own protection is all there is."""

    def __init__(self, secret: str) -> None:
        self._aead = AESGCM(hashlib.sha256(secret.encode()).digest()) if secret else None

    @property
    def enabled(self) -> bool:
        return self._aead is not None

    def seal(self, plain: bytes, context: str) -> str:
        if self._aead is None:
            return b64(plain)
        nonce = secrets.token_bytes(12)
        return ENCRYPTED_PREFIX + b64(nonce + self._aead.encrypt(nonce, plain, context.encode()))

    def open(self, stored: str, context: str) -> bytes:
        if not stored.startswith(ENCRYPTED_PREFIX):
            return _unb64(stored)
        if self._aead is None:
            raise RuntimeError("signing keys are encrypted; set SYMPHONY_AUTH_KEY_ENCRYPTION_KEY")
        raw = _unb64(stored.removeprefix(ENCRYPTED_PREFIX))
        try:
            return self._aead.decrypt(raw[:12], raw[12:], context.encode())
        except InvalidTag as error:
            raise RuntimeError(
                "SYMPHONY_AUTH_KEY_ENCRYPTION_KEY does not open the signing keys"
            ) from error


class KeyRepository(Protocol):
    async def list_signing_keys(
        self,
    ) -> list[tuple[str, str, str, datetime, datetime, datetime | None, datetime | None]]: ...
    async def insert_signing_key(
        self, kid: str, private: str, public: str, create: datetime, activate: datetime
    ) -> None: ...
    async def retire_signing_key(self, kid: str, when: datetime) -> None: ...
    async def delete_signing_key(self, kid: str) -> None: ...
    async def lock_keys(self) -> None: ...


def new_key_material() -> tuple[bytes, bytes]:
    private = Ed25519PrivateKey.generate()
    raw_private = private.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    raw_public = private.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    return raw_private, raw_public


class KeyStore:
    def __init__(
        self,
        uow: Callable[[], AuthUnitOfWork],
        cipher: KeyCipher,
        *,
        issuer: str,
        access_ttl: int,
        rotation_days: int,
        publish_lead_seconds: int,
        clock: Callable[[], datetime],
    ) -> None:
        self._uow = uow
        self._cipher = cipher
        self.issuer = issuer
        self.access_ttl = access_ttl
        self.rotation = timedelta(days=rotation_days)
        self.publish_lead = timedelta(seconds=publish_lead_seconds)
        self._clock = clock
        self._keys: list[SigningKey] = []
        self._private: dict[str, Ed25519PrivateKey] = {}
        self._public: dict[str, Ed25519PublicKey] = {}
        self._loaded_at = float("-inf")

    # -- loading ---------------------------------------------------------------------------

    async def load(self) -> None:
        async with self._uow() as uow:
            rows = await uow.repo.list_signing_keys()
        keys = []
        for kid, private, public, create, activate, retire, delete in rows:
            if delete is not None:
                continue
            raw_private = self._cipher.open(private, kid)
            keys.append(SigningKey(kid, b64(raw_private), public, create, activate, retire, delete))
            if kid not in self._private:
                self._private[kid] = Ed25519PrivateKey.from_private_bytes(raw_private)
                self._public[kid] = Ed25519PublicKey.from_public_bytes(_unb64(public))
        keys.sort(key=lambda k: (k.activate_time, k.kid))
        self._keys = keys
        self._loaded_at = time.monotonic()

    async def ensure_loaded(self, max_age: float = 30.0) -> None:
        if time.monotonic() - self._loaded_at > max_age:
            await self.load()

    async def _create(self, uow: Any, activate: datetime) -> str:
        now = self._clock()
        raw_private, raw_public = new_key_material()
        kid = f"{now:%Y%m%d}-{uuid.uuid4().hex[:12]}"
        await uow.repo.insert_signing_key(
            kid, self._cipher.seal(raw_private, kid), b64(raw_public), now, activate
        )
        return kid

    async def maintain(self) -> None:
        """Create the first key, publish the next key when the current one is old, retire
        superseded keys and delete retired keys whose tokens have all expired. Serialised
        across replicas by a lock in the database."""
        now = self._clock()
        async with self._uow() as uow:
            await uow.repo.lock_keys()
            rows = await uow.repo.list_signing_keys()
            live = sorted(
                ((r[4], r[0], r[3], r[5]) for r in rows if r[6] is None), key=lambda r: (r[0], r[1])
            )  # (activate, kid, create, retire)
            active = [r for r in live if r[0] <= now]
            pending = [r for r in live if r[0] > now]
            if not active and not pending:
                await self._create(uow, now)
            elif active and not pending and now - active[-1][0] >= self.rotation:
                await self._create(uow, now + self.publish_lead)
            if active:
                current = active[-1]
                for _activate, kid, _create, retire in active[:-1]:
                    if retire is None:
                        await uow.repo.retire_signing_key(kid, current[0])
                    elif retire + timedelta(seconds=self.access_ttl + LEEWAY_SECONDS) <= now:
                        await uow.repo.delete_signing_key(kid)
            await uow.commit()
        await self.load()

    async def rotate(self, *, immediately: bool = False) -> str:
        """Publish a next key now (operators, tests). With `immediately`, it signs at once."""
        now = self._clock()
        async with self._uow() as uow:
            await uow.repo.lock_keys()
            kid = await self._create(uow, now if immediately else now + self.publish_lead)
            await uow.commit()
        await self.maintain()
        return kid

    # -- use -------------------------------------------------------------------------------

    def signing_key(self) -> SigningKey:
        now = self._clock()
        active = [k for k in self._keys if k.activate_time <= now]
        if not active:
            raise RuntimeError("no active signing key")
        return active[-1]

    def jwks(self) -> list[dict[str, str]]:
        return [
            {
                "kty": "OKP",
                "crv": "Ed25519",
                "x": k.public_key,
                "kid": k.kid,
                "use": "sig",
                "alg": "EdDSA",
            }
            for k in self._keys
        ]

    async def jwks_source(self) -> Sequence[Mapping[str, Any]]:
        await self.ensure_loaded(0.0)
        return self.jwks()

    def public_key(self, kid: str) -> Ed25519PublicKey | None:
        if not any(k.kid == kid for k in self._keys):
            return None
        return self._public.get(kid)

    def sign(self, claims: Mapping[str, Any]) -> str:
        key = self.signing_key()
        return jwt.encode(
            dict(claims),
            self._private[key.kid],
            algorithm="EdDSA",
            headers={"kid": key.kid, "typ": ACCESS_TOKEN_TYPE},
        )

    def decode(self, token: str, *, verify_exp: bool = True) -> dict[str, Any] | None:
        """Claims of an access token auth signed with a key it still publishes, else None."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            return None
        if header.get("alg") != "EdDSA" or header.get("typ") != ACCESS_TOKEN_TYPE:
            return None
        key = self.public_key(str(header.get("kid", "")))
        if key is None:
            return None
        try:
            return jwt.decode(
                token,
                key,
                algorithms=["EdDSA"],
                issuer=self.issuer,
                leeway=LEEWAY_SECONDS,
                options={
                    "verify_aud": False,
                    "verify_exp": verify_exp,
                    "require": ["exp", "iat", "sub", "iss", "jti"],
                },
            )
        except jwt.ExpiredSignatureError:
            raise
        except (jwt.PyJWTError, json.JSONDecodeError, ValueError):
            return None
